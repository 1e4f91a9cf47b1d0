#!/bin/bash
# bench-postmulti.sh - time "postmulti -l -a" with N = 10, 100, 1000
# instances, the real postmulti against ours, in one run; print ratios.
#
# Usage: scripts/bench-postmulti.sh [N...]
#   POSTMULTI=/path/to/our/postmulti  use this binary (default: go build ./cmd/postmulti)
#   REAL=/usr/sbin/postmulti          the real one
#
# Needs root: the instances are written into a private mount namespace
# where /etc is a copy-on-write overlay, so the host's /etc is untouched
# and the real postmulti, which insists on /etc/postfix, can be used.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
	echo "bench-postmulti.sh: needs root (mount namespace with an overlay on /etc)" >&2
	exit 1
fi
REAL=${REAL:-/usr/sbin/postmulti}
[ -x "$REAL" ] || { echo "bench-postmulti.sh: $REAL not found (install Debian's postfix)" >&2; exit 1; }
[ -r /usr/share/postfix/main.cf.debian ] || { echo "bench-postmulti.sh: /usr/share/postfix/main.cf.debian not found" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ -z "${POSTMULTI:-}" ]; then
	cd "$(dirname "$0")/.."
	go build -o "$WORK/postmulti" ./cmd/postmulti
	POSTMULTI=$WORK/postmulti
fi
SIZES=${*:-10 100 1000}

# Everything below runs inside the namespace.
inner() {
	set -euo pipefail
	mkdir -p "$WORK/etc.u" "$WORK/etc.w"
	mount -t overlay overlay -o "lowerdir=/etc,upperdir=$WORK/etc.u,workdir=$WORK/etc.w" /etc
	cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
	postconf -e 'multi_instance_wrapper = ${command_directory}/postmulti -p --' 'multi_instance_enable = yes'

	# now_ms prints a monotonic-enough wall clock in milliseconds.
	now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
	# time_ms REPS CMD... prints the mean wall time of CMD in ms (3 decimals).
	time_ms() {
		local reps=$1; shift
		local t0 t1
		t0=$(date +%s%N)
		for _ in $(seq "$reps"); do "$@" >/dev/null; done
		t1=$(date +%s%N)
		awk -v d=$(( t1 - t0 )) -v r="$reps" 'BEGIN { printf "%.3f", d / r / 1e6 }'
	}

	printf '%6s %12s %12s %10s\n' N real_ms ours_ms speedup
	local made=0
	for n in $SIZES; do
		# Add instances up to n: a minimal main.cf each, as -l reads it.
		while [ "$made" -lt "$n" ]; do
			made=$((made + 1))
			d=/etc/postfix-b$made
			mkdir -p "$d"
			printf '%s\n' \
				"queue_directory = /var/spool/postfix-b$made" \
				"data_directory = /var/lib/postfix-b$made" \
				"multi_instance_name = postfix-b$made" \
				"multi_instance_group = g$((made % 7))" \
				"multi_instance_enable = $([ $((made % 2)) = 0 ] && echo yes || echo no)" > "$d/main.cf"
			: > "$d/master.cf"
		done
		postconf -e "multi_instance_directories = $(seq -f '/etc/postfix-b%.0f' 1 "$n" | tr '\n' ' ')"
		# Same output, or the comparison means nothing.
		if ! cmp -s <("$REAL" -l -a) <("$POSTMULTI" -l -a); then
			echo "bench-postmulti.sh: outputs differ at N=$n" >&2
			diff <("$REAL" -l -a) <("$POSTMULTI" -l -a) | head >&2
			exit 1
		fi
		reps_real=$(( n >= 1000 ? 1 : n >= 100 ? 3 : 10 ))
		reps_ours=$(( n >= 1000 ? 10 : 50 ))
		r=$(time_ms "$reps_real" "$REAL" -l -a)
		o=$(time_ms "$reps_ours" "$POSTMULTI" -l -a)
		printf '%6s %12s %12s %9.1fx\n' "$n" "$r" "$o" "$(awk -v r="$r" -v o="$o" 'BEGIN { print r / o }')"
	done
}
export WORK REAL POSTMULTI SIZES
export -f inner
unshare -m --propagation private bash -c inner
