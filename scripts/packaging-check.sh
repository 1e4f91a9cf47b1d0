#!/usr/bin/env bash
# Build the packages and lint them: lintian for the .deb files (no error and
# no warning may remain: fix it or override it in packaging/deb/
# lintian-overrides with the reason), rpmlint for the .rpm files (no error;
# filters with reasons in packaging/rpm/rpmlint.toml). Exits non-zero on any
# finding that fails. Installs lintian and rpmlint when missing (root, apt).
#
#   scripts/packaging-check.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

die() {
	echo "packaging-check: $*" >&2
	exit 1
}

missing=()
command -v lintian >/dev/null || missing+=(lintian)
command -v rpmlint >/dev/null || missing+=(rpmlint)
command -v rpm >/dev/null || missing+=(rpm)
command -v rpm2cpio >/dev/null || missing+=(rpm2cpio)
command -v unshare >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
	echo "packaging-check: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$(id -u)" = 0 ] || die "must run as root: rpmlint runs in a private mount namespace (see below)"

scripts/build-packages.sh

shopt -s nullglob
debs=(dist/*.deb)
rpms=(dist/*.rpm)
[ ${#debs[@]} -gt 0 ] || die "no .deb in dist/"
[ ${#rpms[@]} -gt 0 ] || die "no .rpm in dist/"

status=0

echo "packaging-check: lintian ${debs[*]}"
# Fails on errors and warnings; overridden tags (packaging/deb/
# lintian-overrides, each with its reason) are not shown and do not fail
# (with --show-overrides lintian would count them as failures), but
# "mismatched-override" is a warning, so a stale override fails.
lintian --allow-root --fail-on error,warning --display-level '>=warning' "${debs[@]}" || status=1

echo "packaging-check: rpmlint ${rpms[*]}"
# nfpm 2.45 writes the RPM payload with absolute member names (/usr/...;
# rpmbuild writes ./usr/...): rpm installs it correctly from the header, but
# rpmlint unpacks it with "rpm2cpio | cpio -id", which would write into this
# machine's own /usr. So rpmlint runs in a private mount namespace where
# /usr and /etc are read-only, with a cpio that strips leading slashes first
# in PATH (so the files land in rpmlint's extraction directory, where its
# checks look for them).
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
printf '#!/bin/sh\nexec /usr/bin/cpio --no-absolute-filenames "$@"\n' >"$shim/cpio"
chmod 755 "$shim/cpio"
# shellcheck disable=SC2016 # the script is expanded by the inner bash
unshare --mount --propagation private bash -c '
	set -e
	for d in /usr /etc; do mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; done
	PATH=$0:$PATH exec rpmlint --config packaging/rpm/rpmlint.toml "$@"
' "$shim" "${rpms[@]}" || status=1

if [ $status -ne 0 ]; then
	die "lint findings above must be fixed (or overridden with a reason)"
fi
echo "packaging-check: lintian and rpmlint clean"
