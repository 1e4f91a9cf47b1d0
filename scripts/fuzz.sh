#!/usr/bin/env bash
# fuzz.sh [DURATION]: run every native Go fuzz target in the module for
# DURATION each (default 10m). The seed corpora under testdata/fuzz/ run in
# every plain `go test`; this is the long run, kept out of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${1:-10m}
status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "== $pkg $target ($time)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "$pkg" || status=1
	done
done
exit $status
