#!/bin/bash
# bench-generator.sh: time postfix-instance-generator against Debian's
# /lib/systemd/system-generators/postfix-instance-generator and a floor
# program (scripts/bench-floor: read N+1 main.cf files, write 2N entries)
# on the same trees of N = 10, 100, 1000 instances, in one run.
#
# Usage: scripts/bench-generator.sh [N ...]        (default: 10 100 1000)
#   RUNS=5   timed runs per program and N (the median is reported; one
#            untimed warm-up run comes first); Debian's generator at
#            N >= 1000 gets DEBIAN_RUNS (default 3) because it is slow.
#
# Needs root: Debian's generator reads /etc/postfix through postconf, so it
# runs in a private mount namespace (unshare -m) with the tree's default
# config directory bind-mounted over /etc/postfix; the host's /etc/postfix
# is not touched. The other two run in the same kind of namespace, so all
# three pay the same. Also needs go, /usr/bin/time (package "time") and
# Debian's postfix package. scripts/bench-run times the runs: median wall
# time, and median CPU time (user + system of the program and the children
# it waited for, from wait4), which is what to trust on a busy machine; the
# load average is printed first. Peak RSS is "Maximum resident set size" of
# /usr/bin/time -v (the largest single process of the run: for Debian's
# generator, usually one postconf).
#
# Nothing is asserted: the script reports times, ratios and peak RSS.
set -euo pipefail

cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench-generator.sh: needs root (unshare -m, mount --bind)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-generator.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
DEBIAN_GEN=/lib/systemd/system-generators/postfix-instance-generator
[ -x "$DEBIAN_GEN" ] || { echo "bench-generator.sh: $DEBIAN_GEN is missing (Debian's postfix package)" >&2; exit 1; }
command -v postconf >/dev/null || { echo "bench-generator.sh: postconf is missing" >&2; exit 1; }

RUNS=${RUNS:-5}
DEBIAN_RUNS=${DEBIAN_RUNS:-3}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10 100 1000)

W=$(mktemp -d /tmp/bench-generator.XXXXXX)
trap 'rm -rf "$W"' EXIT

# Ours is built as scripts/build-packages.sh builds the shipped binary:
# static (a generator may run before /usr is fully there; no dynamic loader
# work), -trimpath, stripped (-s -w). The floor is built the same way, so
# that both pay the same for what the build leaves in them.
export CGO_ENABLED=0
SHIPPED=(-trimpath -buildvcs=false -ldflags "-s -w -buildid=")
go build "${SHIPPED[@]}" -o "$W/ours" ./cmd/postfix-instance-generator
go build "${SHIPPED[@]}" -o "$W/floor" ./scripts/bench-floor
go build -o "$W/run" ./scripts/bench-run

# make_tree N: $W/tree-N/etc/postfix plus N secondaries, each main.cf being
# Debian's stock main.cf plus what postmulti -e create adds, each master.cf
# Debian's stock one; instances in groups of ten, every fifth one disabled.
make_tree() {
	local n=$1 root=$W/tree-$1 dirs="" i name master
	master=$(cat /usr/share/postfix/master.cf.dist)
	mkdir -p "$root/etc/postfix"
	printf '%s\n' "$master" > "$root/etc/postfix/master.cf"
	for i in $(seq -w 1 "$n"); do
		name=postfix-i$i
		mkdir -p "$root/etc/$name"
		dirs="$dirs $root/etc/$name"
		printf '%s\n' "$master" > "$root/etc/$name/master.cf"
		{
			cat /usr/share/postfix/main.cf.debian
			echo "multi_instance_name = $name"
			echo "queue_directory = /var/spool/$name"
			echo "data_directory = /var/lib/$name"
			echo "multi_instance_group = g$(( 10#$i / 10 ))"
			if (( 10#$i % 5 == 0 )); then echo "multi_instance_enable = no"; else echo "multi_instance_enable = yes"; fi
			echo "master_service_disable = inet"
			echo "authorized_submit_users ="
		} > "$root/etc/$name/main.cf"
	done
	{
		cat /usr/share/postfix/main.cf.debian
		echo 'multi_instance_wrapper = ${command_directory}/postmulti -p --'
		echo 'multi_instance_enable = yes'
		echo "multi_instance_directories =$dirs"
	} > "$root/etc/postfix/main.cf"
}

# in_ns ROOT CMD...: run CMD with ROOT/etc/postfix over /etc/postfix and a
# fresh tmpfs on $W/tmpfs, where the output goes: generators write to
# /run/systemd/generator*, a tmpfs, and so do all three programs here.
mkdir -p "$W/tmpfs"
in_ns() {
	local root=$1; shift
	unshare -m --propagation private bash -c 'mount --bind "$0/etc/postfix" /etc/postfix &&
		mount -t tmpfs -o mode=0755 tmpfs "$1" && shift && exec "$@"' "$root" "$W/tmpfs" "$@"
}

# rss ROOT OUT CMD...: peak RSS in KiB of one run, as /usr/bin/time -v
# reports it.
rss() {
	local root=$1 out=$2; shift 2
	in_ns "$root" bash -c 'mkdir -p "$0" && exec /usr/bin/time -v "$@"' "$out" "$@" 2>&1 >/dev/null |
		awk -F': ' '/Maximum resident set size/ { print $2 }'
}

# measure ROOT RUNS CMD: prints "wall cpu rss": median wall and CPU seconds
# over RUNS runs (bench-run), and the peak RSS in KiB (/usr/bin/time -v).
measure() {
	local root=$1 runs=$2 cmd=$3 out=$W/tmpfs/out
	local t
	t=$(in_ns "$root" "$W/run" "$runs" "$out" "$cmd" "$out" "$out" "$out")
	echo "${t% *} $(rss "$root" "$out" "$cmd" "$out" "$out" "$out")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs; runs: $RUNS (Debian at N>=1000: $DEBIAN_RUNS)"
printf '%-5s %-7s %10s %10s %9s %10s %10s %10s %10s\n' N program "wall (s)" "CPU (s)" "RSS MiB" "wall/floor" "CPU/floor" "Deb/x wall" "Deb/x CPU"
for n in "${SIZES[@]}"; do
	make_tree "$n"
	root=$W/tree-$n
	druns=$RUNS; [ "$n" -ge 1000 ] && druns=$DEBIAN_RUNS
	read -r fw fc fr < <(measure "$root" "$RUNS" "$W/floor")
	read -r ow oc or < <(measure "$root" "$RUNS" "$W/ours")
	read -r dw dc dr < <(measure "$root" "$druns" "$DEBIAN_GEN")
	# Ours must have written one drop-in per instance, or the figures lie.
	rm -rf "$W/check"; mkdir "$W/check"
	in_ns "$root" "$W/ours" "$W/check" "$W/check" "$W/check"
	got=$(find "$W/check" -name 50-instance.conf | wc -l)
	[ "$got" = $((n + 1)) ] || { echo "ours wrote $got drop-ins for $n + 1 instances" >&2; exit 1; }
	for row in "floor $fw $fc $fr" "ours $ow $oc $or" "debian $dw $dc $dr"; do
		set -- $row
		printf '%-5s %-7s %10.4f %10.4f %9.1f %10s %10s %10s %10s\n' "$n" "$1" "$2" "$3" "$(awk -v k="$4" 'BEGIN { print k / 1024 }')" \
			"$(ratio "$2" "$fw")" "$(ratio "$3" "$fc")" "$(ratio "$dw" "$2")" "$(ratio "$dc" "$3")"
	done
done
