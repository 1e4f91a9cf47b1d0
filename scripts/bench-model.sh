#!/bin/sh
# bench-model.sh: time building the instance model (internal/instance.Load)
# against the real "postmulti -l -a" on the same trees, for a default
# instance plus N = 1, 10, 100 and 1000 secondaries, and print the ratios.
#
# Usage (as root, from anywhere in the repository):
#   scripts/bench-model.sh [RUNS]
# RUNS (default 5) is how many times postmulti runs per size (once for
# N = 1000); the median is reported. BENCHTIME (default 1s) is passed to
# go test -benchtime.
#
# The trees are written by BenchmarkLoad itself (PFI_BENCH_DIR) under a
# temporary directory, which is removed at the end. The real postmulti only
# accepts /etc/postfix as its default config directory, so each tree's
# default directory is bind-mounted over /etc/postfix in a private mount
# namespace (unshare -m): the host's /etc/postfix is never touched.
set -eu

runs=${1:-5}
benchtime=${BENCHTIME:-1s}
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench-model.sh: must run as root (it mounts in a private namespace)" >&2
	exit 1
fi
for tool in go postmulti unshare mount; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench-model.sh: $tool not found" >&2
		exit 1
	}
done

tmp=$(mktemp -d /var/tmp/bench-model.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "== go test -run '^\$' -bench '^BenchmarkLoad\$' -benchtime $benchtime ./internal/instance"
PFI_BENCH_DIR="$tmp" go test -run '^$' -bench '^BenchmarkLoad$' -benchtime "$benchtime" ./internal/instance | tee "$tmp/go.txt"

# postmulti_ns DIR RUNS: median wall time in ns of postmulti -l -a on DIR.
postmulti_ns() {
	unshare -m --propagation private sh -c '
		mount --bind "$0/etc/postfix" /etc/postfix || exit 1
		i=0
		while [ "$i" -lt "$1" ]; do
			s=$(date +%s%N)
			postmulti -l -a >"$0/out" || exit 1
			e=$(date +%s%N)
			echo $((e - s))
			i=$((i + 1))
		done' "$1" "$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo
printf '%-6s %14s %16s %10s\n' N "model (ms)" "postmulti (ms)" ratio
for n in 1 10 100 1000; do
	dir="$tmp/n$n"
	ours=$(awk -v n="N=$n-" 'index($1, n) { for (i = 1; i < NF; i++) if ($(i + 1) == "ns/op") print $i }' "$tmp/go.txt")
	r=$runs
	[ "$n" -ge 1000 ] && r=1
	theirs=$(postmulti_ns "$dir" "$r")
	lines=$(wc -l <"$dir/out")
	if [ "$lines" -ne $((n + 1)) ]; then
		echo "bench-model.sh: postmulti listed $lines instances for N=$n, want $((n + 1))" >&2
		exit 1
	fi
	awk -v n="$n" -v o="$ours" -v t="$theirs" 'BEGIN {
		printf "%-6s %14.3f %16.1f %9.0fx\n", n, o / 1e6, t / 1e6, t / o }'
done
