# Makefile for postfix-instances. `make help` lists the targets.
GO      ?= go
BIN     := bin
GOFLAGS ?= -trimpath
CMDS    := $(notdir $(wildcard cmd/*))

# postfix-instances' manual pages and completions are generated from its
# cobra commands (internal/pfinstances/docs) and checked in; a test fails
# when they are stale.
.PHONY: all build docs test test-sid test-upgrade test-short deps bench fuzz packages packaging-check demo clean help

all: build

help:
	@echo "make build       build $(CMDS) into $(BIN)/"
	@echo "make docs        regenerate postfix-instances' man pages and completions"
	@echo "make test        install test dependencies (root) and run every test"
	@echo "make test-sid    (root) the harness and differential suites, the walk-through and the demo in Debian sid containers"
	@echo "make test-upgrade (root) Debian 12 with the deb12 build, dist-upgraded to 13 with the deb13 build (downloads ~200 MB)"
	@echo "make test-short  quick loop: unit tests only, no postfix/nspawn"
	@echo "make bench       Go benchmarks and the scripts pitting us against Debian/upstream"
	@echo "make fuzz        long fuzzing runs (FUZZTIME=10m by default)"
	@echo "make packages    .deb and .rpm packages into dist/"
	@echo "make packaging-check  build packages, run lintian and rpmlint"
	@echo "make demo        the border-MTA walk-through, narrated (root: installs what it needs,"
	@echo "                 boots a container, installs the .deb there; RELEASE=bookworm)"

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build $(GOFLAGS) -o $(BIN)/ ./cmd/...

docs:
	$(GO) generate ./internal/pfinstances/...

deps:
	./scripts/install-deps.sh

# The full suite: oracle tests against the real postconf/postmulti, golden
# trees, and end-to-end tests under real systemd in a booted container.
test: deps build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 45m ./...
	./scripts/packaging-check.sh

# sid (Postfix 3.11, newest systemd): the harness boot test and the
# differential suites of main.cf and postmulti (instances), run inside a sid container
# against sid's own postconf and postmulti, and the walk-through on Debian 13's
# layout with the deb13 build, typed and as make demo RELEASE=sid shows it,
# and the confinement test against sid's own postfix@.service (make test
# covers Debian 12 and 13).
test-sid: deps
	PFI_TEST_RELEASE=sid $(GO) test -count=1 -timeout 30m -run 'TestBootReleases|TestReleases|TestReleaseDefaults|TestDebian13Walkthrough|TestConfinedInstances|TestDemo$$' \
		./internal/harness ./internal/maincf ./internal/postmulti ./test/e2e

# The upgrade path: a Debian 12 container with postfix, our deb12 build and
# the walk-through running, switched to trixie and dist-upgraded with our
# deb13 build in a local repository (test/e2e/upgrade_test.go, build tag
# "upgrade"). It downloads a release's worth of packages from the tree's own
# apt mirror, so it is not part of make test.
test-upgrade: deps
	$(GO) vet -tags upgrade ./test/e2e
	$(GO) test -tags upgrade -count=1 -timeout 60m -run 'TestUpgradeBookwormToTrixie' -v ./test/e2e

test-short:
	$(GO) test -short ./...

FUZZTIME ?= 10m
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	./scripts/bench-model.sh
	./scripts/bench-generator.sh
	./scripts/bench-postmulti.sh
	./scripts/bench-status.sh

packages:
	./scripts/build-packages.sh

packaging-check:
	./scripts/packaging-check.sh

# The walk-through under real systemd in a throw-away container (as root; a
# --dry-run preview otherwise). RELEASE picks the Debian release to boot.
RELEASE ?= bookworm
demo:
	RELEASE=$(RELEASE) ./scripts/demo.sh

clean:
	rm -rf $(BIN) dist
