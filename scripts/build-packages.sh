#!/usr/bin/env bash
# Build the postfix-instances .deb and .rpm packages with nfpm.
#
#   scripts/build-packages.sh          # .deb and .rpm for amd64 and arm64 into dist/
#
# Environment:
#   PKG_ARCHES       Go architectures to build (default "amd64 arm64")
#   PKG_FORMATS      nfpm packagers to run (default "deb rpm")
#   PKG_VERSION      package version (default: from git describe, see
#                    packaging/pkgversion)
#   PKG_MAINTAINER   Maintainer/Packager (default: the project's address)
#   PKG_DIST         output directory (default dist; the staging area is
#                    PKG_DIST/stage)
#
# Every input is required: a missing binary package, unit, manual page,
# completion, README or changelog stops the build with its name; nothing is
# packaged without it. nfpm comes from the Go module proxy at the version
# pinned in packaging/tools/go.mod (and go.sum), so nothing else is
# downloaded. Outputs are reproducible: file times and gzip headers come from
# SOURCE_DATE_EPOCH (default: the last commit's time).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

PKG_ARCHES=${PKG_ARCHES:-amd64 arm64}
PKG_FORMATS=${PKG_FORMATS:-deb rpm}
PKG_MAINTAINER=${PKG_MAINTAINER:-postfix-instances developers <postfix-systemd@users.noreply.github.com>}
PKG=postfix-instances
DIST=${PKG_DIST:-dist}
GO=${GO:-go}

die() {
	echo "build-packages: $*" >&2
	exit 1
}

# --- inputs -----------------------------------------------------------------

# need FILE OWNER: a required input file, and who provides it.
need() {
	[ -f "$1" ] || die "missing input $1 (provided by $2); refusing to build a package without it"
	[ -s "$1" ] || die "input $1 is empty (provided by $2)"
}
# needmain DIR: a Go main package.
needmain() {
	local name
	name=$($GO list -f '{{.Name}}' "./$1" 2>/dev/null) ||
		die "missing input ./$1: not a buildable Go package ($($GO list "./$1" 2>&1 | tail -1))"
	[ "$name" = main ] || die "./$1 is package $name, not a command"
}

needmain cmd/postfix-instance-generator
needmain cmd/postmulti
needmain cmd/postfix-instances
need units/postfix@.service "units/ (generator)"
need man/postfix-instance-generator.8 "man/ (generator)"
need man/postmulti.1 "man/ (postmulti shim)"
need completions/postmulti.bash "completions/ (postmulti shim)"
need completions/_postmulti "completions/ (postmulti shim)"
need completions/postmulti.fish "completions/ (postmulti shim)"
for f in man/postfix-instances.1 man/postfix-instances-list.1 man/postfix-instances-status.1 man/postfix-instances-check.1 \
	completions/postfix-instances.bash completions/_postfix-instances completions/postfix-instances.fish; do
	need "$f" "make docs (postfix-instances)"
done
need README.md "the repository"
need packaging/changelog packaging
need packaging/copyright packaging
need packaging/nfpm.yaml packaging
need packaging/description packaging
synopsis=$(head -1 packaging/description)
grep -qxF "  summary: $synopsis" packaging/nfpm.yaml ||
	die "packaging/nfpm.yaml: rpm.summary differs from the synopsis in packaging/description: $synopsis"

# units/: the .rpm installs every top-level file, except postfix.service,
# which both distributions' postfix packages ship (Debian's is already the
# umbrella; Fedora's becomes one through packaging/rpm's drop-in). The .deb
# installs postfix@.service as a drop-in on Debian's template
# (packaging/nfpm.yaml) and knows no other unit: a new one would be left out
# of it silently, so it stops the build. The only subdirectory understood is
# units/debian/ with drop-ins for postfix@.service; anything else would be
# silently left out too.
for f in units/*; do
	case $f in
	units/debian) ;;
	units/postfix.service | units/postfix@.service) [ -f "$f" ] || die "units/: $f is not a regular file" ;;
	*) die "units/: $f is a unit the .deb does not install (packaging/nfpm.yaml installs units/postfix@.service as a drop-in on Debian's template, nothing else); scripts/build-packages.sh does not know where it goes" ;;
	esac
done
if [ -d units/debian ]; then
	while IFS= read -r f; do
		case $f in
		units/debian/postfix@.service.d/*.conf) ;;
		*) die "units/debian/: $f is not a postfix@.service drop-in; scripts/build-packages.sh does not know where it goes" ;;
		esac
	done < <(find units/debian -mindepth 1 ! -type d)
	ls units/debian/postfix@.service.d/*.conf >/dev/null 2>&1 ||
		die "units/debian/postfix@.service.d/ holds no drop-in: Debian's configure-instance.sh would no longer run before each start"
fi

# --- version and timestamps -------------------------------------------------

if [ -z "${PKG_VERSION:-}" ]; then
	PKG_VERSION=$($GO run ./packaging/cmd/pkgversion) || die "cannot compute the package version"
fi
[[ $PKG_VERSION =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || die "PKG_VERSION=$PKG_VERSION is not valid for dpkg and rpm"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || true)
	if [ -z "$SOURCE_DATE_EPOCH" ]; then
		# No commit yet: the date of the newest changelog entry.
		SOURCE_DATE_EPOCH=$(date -u -d "$(sed -n 's/^ -- .*>  //p' packaging/changelog | head -1)" +%s)
	fi
fi
export SOURCE_DATE_EPOCH
echo "build-packages: $PKG $PKG_VERSION for ${PKG_ARCHES// /, } (${PKG_FORMATS// /, })"

mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)
STAGE=$DIST/stage
rm -rf "$STAGE"
mkdir -p "$STAGE/common/units" "$STAGE/common/man" "$STAGE/common/completions" "$STAGE/common/doc"
for fmt in $PKG_FORMATS; do
	case $fmt in
	deb) rm -f "$DIST/${PKG}_"*.deb ;;
	rpm) rm -f "$DIST/$PKG-"*.rpm ;;
	*) die "PKG_FORMATS: unknown format $fmt (deb, rpm)" ;;
	esac
done

# --- binaries ---------------------------------------------------------------

for arch in $PKG_ARCHES; do
	case $arch in
	amd64 | arm64) ;;
	*) die "PKG_ARCHES: unsupported architecture $arch (amd64, arm64)" ;;
	esac
	mkdir -p "$STAGE/$arch"
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch $GO build -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= -X main.version=$PKG_VERSION" \
		-o "$STAGE/$arch/" ./cmd/postfix-instance-generator ./cmd/postmulti ./cmd/postfix-instances
	# The copyright file must name every module linked into the binaries.
	for bin in "$STAGE/$arch"/*; do
		while read -r mod; do
			grep -qxF "Files: vendor/$mod/*" packaging/copyright ||
				die "packaging/copyright has no paragraph \"Files: vendor/$mod/*\" for the Go module $mod linked into $(basename "$bin")"
		done < <($GO version -m "$bin" | awk '$1 == "dep" { print $2 }')
	done
done

# --- everything else --------------------------------------------------------

for f in units/*; do
	[ -f "$f" ] && [ "$f" != units/postfix.service ] && cp "$f" "$STAGE/common/units/"
done
if [ -d units/debian ]; then
	cp -r units/debian "$STAGE/common/units-debian"
fi
gzip -9nc man/postfix-instance-generator.8 >"$STAGE/common/man/postfix-instance-generator.8.gz"
gzip -9nc man/postmulti.1 >"$STAGE/common/man/postmulti.1.gz"
mkdir -p "$STAGE/common/man-instances"
for page in man/postfix-instances*.1; do
	gzip -9nc "$page" >"$STAGE/common/man-instances/$(basename "$page").gz"
done
cp completions/postmulti.bash completions/_postmulti completions/postmulti.fish "$STAGE/common/completions/"
cp completions/postfix-instances.bash completions/_postfix-instances completions/postfix-instances.fish "$STAGE/common/completions/"
cp README.md "$STAGE/common/doc/README.md"

# The changelog. packaging/changelog is in Debian format; its newest entry is
# either a release (the version of a tag) or, while the next release is
# prepared, UNRELEASED. A build of any other version (a snapshot) renames an
# UNRELEASED newest entry to its own version, or adds a snapshot entry above
# a released one, so that the packaged changelog always starts with the
# package's version.
changelog=$STAGE/common/changelog
top=$(head -1 packaging/changelog)
[[ $top =~ ^$PKG\ \(([^\)]+)\)\ ([A-Za-z-]+)\;\ urgency=[a-z]+$ ]] ||
	die "packaging/changelog: line 1 is not a Debian changelog header for $PKG: $top"
top_version=${BASH_REMATCH[1]}
top_dist=${BASH_REMATCH[2]}
stamp=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
describe=$(git describe --tags --always --dirty 2>/dev/null || echo "no commit")
if [ "$top_version" = "$PKG_VERSION" ]; then
	cp packaging/changelog "$changelog"
elif [ "$top_dist" = UNRELEASED ]; then
	{
		echo "$PKG ($PKG_VERSION) UNRELEASED; urgency=medium"
		awk 'NR > 1 && !done && /^ -- / { print "  * Snapshot build from git (" d ")."; print ""; print " -- " m "  " s; done = 1; next } NR > 1 { print }' \
			d="$describe" m="$PKG_MAINTAINER" s="$stamp" packaging/changelog
	} >"$changelog"
else
	{
		echo "$PKG ($PKG_VERSION) UNRELEASED; urgency=medium"
		echo
		echo "  * Snapshot build from git ($describe)."
		echo
		echo " -- $PKG_MAINTAINER  $stamp"
		echo
		cat packaging/changelog
	} >"$changelog"
fi
touch -d "@$SOURCE_DATE_EPOCH" "$changelog"
gzip -9nc "$changelog" >"$STAGE/common/doc/changelog.gz"

# The same changelog for RPM, in nfpm's (chglog's) YAML format.
yaml_quote() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}
{
	note=
	flush_note() {
		if [ -n "$note" ]; then
			echo "    - note: $(yaml_quote "$note")"
			note=
		fi
	}
	while IFS= read -r line; do
		if [[ $line =~ ^$PKG\ \(([^\)]+)\) ]]; then
			# rpmlint: the title must be VERSION-RELEASE (Release is always 1).
			echo "- semver: $(yaml_quote "${BASH_REMATCH[1]}-1")"
			echo "  changes:"
		elif [[ $line =~ ^\ \ \*\ (.*)$ ]]; then
			flush_note
			note=${BASH_REMATCH[1]}
		elif [[ $line =~ ^\ \ \ \ +(.*)$ ]]; then
			note="$note ${BASH_REMATCH[1]}"
		elif [[ $line =~ ^\ --\ (.*)\ \ (.*)$ ]]; then
			flush_note
			echo "  packager: $(yaml_quote "${BASH_REMATCH[1]}")"
			echo "  date: $(date -u -d "${BASH_REMATCH[2]}" +%Y-%m-%dT%H:%M:%SZ)"
		fi
	done <"$changelog"
} >"$STAGE/common/changelog.yml"
{
	cat packaging/nfpm.yaml
	echo
	echo "changelog: $STAGE/common/changelog.yml"
} >"$STAGE/nfpm-rpm.yaml"

# --- packages ---------------------------------------------------------------

# nfpm, built from the pinned tools module (cached by the go command).
(cd packaging/tools && $GO build -o "$STAGE/nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm)

for arch in $PKG_ARCHES; do
	for fmt in $PKG_FORMATS; do
		config=packaging/nfpm.yaml
		description=$(cat packaging/description)
		if [ "$fmt" = rpm ]; then
			config=$STAGE/nfpm-rpm.yaml
			description=$(tail -n +2 packaging/description)
		fi
		PKG_STAGE=$STAGE PKG_DESCRIPTION=$description PKG_ARCH=$arch PKG_GOARCH=$arch PKG_VERSION=$PKG_VERSION PKG_MAINTAINER=$PKG_MAINTAINER \
			"$STAGE/nfpm" package --config "$config" --packager "$fmt" --target "$DIST/"
	done
done
shopt -s nullglob
for f in "$DIST"/*.deb "$DIST"/*.rpm; do
	echo "build-packages: built ${f#"$ROOT"/}"
done
