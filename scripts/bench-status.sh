#!/bin/sh
# bench-status.sh: time "postfix-instances status" at N = 100 instances
# under real systemd in a booted Debian 12 container against the shell
# pipeline an admin would otherwise run (postmulti -l -a, then per instance
# "systemctl show" of its unit and one "find | wc -l" per queue), both run
# inside the container, and print the ratio
# (internal/pfinstances BenchmarkStatusVsShell).
#
# Usage (as root, with systemd-nspawn; the container tree is cached under
# /var/cache/pfi-test/): scripts/bench-status.sh
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-status.sh: must run as root (it boots a container)" >&2
	exit 1
fi
go test -count=1 -run '^$' -bench 'StatusVsShell' -benchtime 1x -v ./internal/pfinstances |
	grep -E 'N=[0-9]+:|^Benchmark|^(ok|FAIL)'
