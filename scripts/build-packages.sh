#!/usr/bin/env bash
# Build the postfix-instances .deb and .rpm packages with nfpm.
#
#   scripts/build-packages.sh          # .deb (twice) and .rpm for amd64 and arm64 into dist/
#
# Environment:
#   PKG_ARCHES       Go architectures to build (default "amd64 arm64")
#   PKG_FORMATS      nfpm packagers to run (default "deb rpm")
#   PKG_DEB_FLAVOURS Debian generations to build the .deb for (default
#                    "deb12 deb13"): deb12 for Debian 12 (bookworm), deb13
#                    for Debian 13 (trixie) and sid; the package version
#                    gets "+deb12" or "+deb13" (packaging/README.md, "Two
#                    builds")
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
PKG_DEB_FLAVOURS=${PKG_DEB_FLAVOURS:-deb12 deb13}
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

# units/: every file has exactly one place, and a file this script does
# not know stops the build (it would be left out of the packages silently):
#   postfix.service       installed by none (both distributions' postfix
#                         packages ship it; Fedora's becomes the umbrella
#                         through packaging/rpm's drop-in)
#   postfix@.service      the .rpm's template; the deb12 .deb's drop-in
#                         postfix@.service.d/20-postfix-instances.conf on
#                         Debian 12's template
#   postfix-dir@.service  deb13 only: the template for instances outside
#                         /etc/postfix-* (Debian 13's postfix@ runs those)
#   debian/postfix@.service.d/*.conf
#                         deb12 only: more drop-ins on Debian 12's template
#   debian13/postfix.service.d/*.conf, debian13/postfix@.service.d/*.conf
#                         deb13 only: drop-ins on Debian 13's own units
for f in units/*; do
	case $f in
	units/debian | units/debian13) [ -d "$f" ] || die "units/: $f is not a directory" ;;
	units/postfix.service | units/postfix@.service | units/postfix-dir@.service)
		[ -f "$f" ] || die "units/: $f is not a regular file" ;;
	*) die "units/: $f is a unit scripts/build-packages.sh does not know where to install (see the table above it)" ;;
	esac
done
need units/postfix-dir@.service "units/ (Debian 13 template)"
while IFS= read -r f; do
	case $f in
	units/debian/postfix@.service.d/*.conf) ;;
	units/debian13/postfix.service.d/*.conf | units/debian13/postfix@.service.d/*.conf) ;;
	*) die "$f is not a drop-in scripts/build-packages.sh knows where to install (see the table above it)" ;;
	esac
done < <(find units/debian units/debian13 -mindepth 1 ! -type d)
ls units/debian/postfix@.service.d/*.conf >/dev/null 2>&1 ||
	die "units/debian/postfix@.service.d/ holds no drop-in: Debian 12's configure-instance.sh would no longer run before each start"
for u in postfix.service postfix@.service; do
	need "units/debian13/$u.d/20-postfix-instances.conf" "units/ (drop-in on Debian 13's $u)"
done

# The .deb flavours: one source, one .deb per Debian generation
# (packaging/README.md, "Two builds"). Depends: keep apt from combining a
# build with a postfix it cannot drive; Debian's postfix 3.9.1-7 is where
# the units were redesigned ("~": its backports and rebuilds count too).
deb_depends() {
	case $1 in
	deb12) echo "postfix (>= 3.7)|postfix (<< 3.9.1-7~)" ;;
	deb13) echo "postfix (>= 3.9.1-7~)|" ;;
	*) die "PKG_DEB_FLAVOURS: unknown flavour $1 (deb12, deb13)" ;;
	esac
}
for flavour in $PKG_DEB_FLAVOURS; do
	deb_depends "$flavour" >/dev/null
done

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

# The .rpm's units (installed as they are).
cp units/postfix@.service "$STAGE/common/units/"
# The units of each .deb flavour, laid out as under /usr/lib/systemd/system.
for flavour in $PKG_DEB_FLAVOURS; do
	sys=$STAGE/$flavour/systemd-system
	mkdir -p "$sys"
	case $flavour in
	deb12)
		mkdir -p "$sys/postfix@.service.d"
		cp units/postfix@.service "$sys/postfix@.service.d/20-postfix-instances.conf"
		cp units/debian/postfix@.service.d/*.conf "$sys/postfix@.service.d/"
		;;
	deb13)
		cp units/postfix-dir@.service "$sys/"
		cp -r units/debian13/postfix.service.d units/debian13/postfix@.service.d "$sys/"
		;;
	esac
done
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
# Each .deb flavour's changelog starts with its own version (the entry of
# VERSION, whether a release or a snapshot, is the entry of VERSION+debNN).
for flavour in $PKG_DEB_FLAVOURS; do
	sed "1s/^$PKG ($PKG_VERSION)/$PKG ($PKG_VERSION+$flavour)/" "$changelog" >"$STAGE/$flavour/changelog"
	[ "$(head -1 "$STAGE/$flavour/changelog")" != "$(head -1 "$changelog")" ] ||
		die "cannot put $PKG_VERSION+$flavour at the top of the changelog"
	touch -d "@$SOURCE_DATE_EPOCH" "$STAGE/$flavour/changelog"
	gzip -9nc "$STAGE/$flavour/changelog" >"$STAGE/$flavour/changelog.gz"
done

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

# nfpm ARCH FORMAT CONFIG VERSION DESCRIPTION [FLAVOUR DEPENDS]
nfpm() {
	local deps=${7:-|}
	PKG_STAGE=$STAGE PKG_DESCRIPTION=$5 PKG_ARCH=$1 PKG_GOARCH=$1 PKG_VERSION=$4 PKG_MAINTAINER=$PKG_MAINTAINER \
		PKG_FLAVOUR=${6:-} PKG_DEB_DEPENDS_MIN=${deps%%|*} PKG_DEB_DEPENDS_MAX=${deps#*|} \
		"$STAGE/nfpm" package --config "$3" --packager "$2" --target "$DIST/"
}
for arch in $PKG_ARCHES; do
	for fmt in $PKG_FORMATS; do
		if [ "$fmt" = rpm ]; then
			nfpm "$arch" rpm "$STAGE/nfpm-rpm.yaml" "$PKG_VERSION" "$(tail -n +2 packaging/description)"
			continue
		fi
		for flavour in $PKG_DEB_FLAVOURS; do
			nfpm "$arch" deb packaging/nfpm.yaml "$PKG_VERSION+$flavour" "$(cat packaging/description)" \
				"$flavour" "$(deb_depends "$flavour")"
		done
	done
done
shopt -s nullglob
for f in "$DIST"/*.deb "$DIST"/*.rpm; do
	echo "build-packages: built ${f#"$ROOT"/}"
done
