#!/bin/sh
# demo.sh: the walk-through of Postfix's MULTI_INSTANCE_README (a null-client
# default instance, postfix-out and postfix-in in group "mta", a content
# filter between them) run under real systemd.
#
# As root, with systemd-nspawn: boots a throw-away Debian 12 container
# (root tree cached under /var/cache/pfi-test/, built with debootstrap on
# first use), installs this tree's generator and postfix@.service, lays the
# instances out with postmulti, starts postfix-mta.target, sends a message
# through it and shows the units, their start order and the message's
# Received: chain, then tears the container down (test/e2e/demo).
#
# Otherwise: explains why, and shows what the generator would write for the
# same example (postfix-instance-generator --dry-run on the golden test input
# generator/testdata/walkthrough/root).
set -eu
cd "$(dirname "$0")/.."

why=""
if [ "$(id -u)" != 0 ]; then
	why="not running as root"
elif ! command -v systemd-nspawn >/dev/null 2>&1; then
	why="systemd-nspawn is not installed (package systemd-container)"
elif ! command -v nsenter >/dev/null 2>&1; then
	why="nsenter is not installed (package util-linux)"
fi

if [ -z "$why" ]; then
	exec go run ./test/e2e/demo
fi

echo "demo: $why, so no container is booted."
echo "demo: showing instead what postfix-instance-generator writes for the walk-through,"
echo "demo: from generator/testdata/walkthrough/root (--dry-run, nothing is written):"
echo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -buildvcs=false -o "$tmp/postfix-instance-generator" ./cmd/postfix-instance-generator
# The generator exits 1 when it skipped an instance; show that too.
status=0
SYSTEMD_LOG_TARGET=console "$tmp/postfix-instance-generator" --dry-run --root generator/testdata/walkthrough/root || status=$?
echo
echo "demo: generator exit status $status. Run as root with systemd-nspawn for the real thing."
