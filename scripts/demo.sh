#!/bin/sh
# demo.sh (make demo): the border-MTA walk-through of Postfix's
# MULTI_INSTANCE_README (a null-client default instance, postfix-out and
# postfix-in in group "mta", a content filter between them) run under real
# systemd, as a user would run it.
#
# As root (test/e2e/demo): installs what the machine lacks
# (scripts/install-deps.sh demo: systemd-container, debootstrap, ...),
# builds this tree's .deb, boots a throw-away Debian container with
# systemd-nspawn (root tree cached under /var/cache/pfi-test/, built with
# debootstrap on first use), installs the package there with apt-get, types
# the walk-through and narrates it; the container is always torn down.
#
#   RELEASE=bookworm   the Debian release to boot (make demo RELEASE=trixie)
#
# Without root: says why, and shows what the generator would write for the
# same example (postfix-instance-generator --dry-run on the golden test input
# generator/testdata/walkthrough/root).
set -eu
cd "$(dirname "$0")/.."
release=${RELEASE:-bookworm}

tmp=$(mktemp -d)
# On ^C the demo tears its container down first; the trap runs after it.
trap 'rm -rf "$tmp"' EXIT HUP INT PIPE TERM

if [ "$(id -u)" = 0 ]; then
	go build -buildvcs=false -o "$tmp/demo" ./test/e2e/demo
	status=0
	"$tmp/demo" -release "$release" || status=$?
	exit "$status"
fi

why="not running as root (the demo installs packages and boots a container)"
echo "demo: $why, so no container is booted."
echo "demo: showing instead what postfix-instance-generator writes for the walk-through,"
echo "demo: from generator/testdata/walkthrough/root (--dry-run, nothing is written):"
echo
CGO_ENABLED=0 go build -buildvcs=false -o "$tmp/postfix-instance-generator" ./cmd/postfix-instance-generator
# The generator exits 1 when it skipped an instance; show that too.
status=0
SYSTEMD_LOG_TARGET=console "$tmp/postfix-instance-generator" --dry-run --root generator/testdata/walkthrough/root || status=$?
echo
echo "demo: generator exit status $status. Run make demo as root for the real thing."
