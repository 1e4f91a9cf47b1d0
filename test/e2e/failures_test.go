package e2e

import (
	"strings"
	"testing"
)

// failures returns what each failing test of go test's output logged:
// for every "--- FAIL: NAME" line, the lines from NAME's last "=== RUN",
// "=== CONT" or "=== NAME" header before it (at most 200 lines back) to
// 12 lines after it. go test -v streams a test's log lines under such a
// header before its "--- FAIL" line; without -v they follow that line.
// Both end up in the block, where the tail of the output alone can hide
// which test failed and why.
func failures(out string) string {
	var b strings.Builder
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		_, rest, ok := strings.Cut(l, "--- FAIL: ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " (")
		start := i
		for j := i - 1; j >= max(0, i-200); j-- {
			h := strings.TrimSpace(lines[j])
			if strings.HasPrefix(h, "=== ") && !strings.HasPrefix(h, "=== PAUSE") && strings.HasSuffix(h, " "+name) {
				start = j
				break
			}
		}
		b.WriteString(strings.Join(lines[start:min(i+13, len(lines))], "\n") + "\n")
	}
	return b.String()
}

// TestFailures feeds failures the output of a real go test run (go 1.26,
// -v and without): a parallel test that fails after another test ran.
func TestFailures(t *testing.T) {
	verbose := `=== RUN   TestA
=== PAUSE TestA
=== RUN   TestB
=== RUN   TestB/sub
    s_test.go:4: b ok
--- PASS: TestB (0.00s)
    --- PASS: TestB/sub (0.00s)
=== CONT  TestA
    s_test.go:3: a logs
    s_test.go:3: a failed: why
--- FAIL: TestA (0.00s)
FAIL
FAIL	sample	0.017s
FAIL
`
	quiet := `--- FAIL: TestA (0.00s)
    s_test.go:3: a logs
    s_test.go:3: a failed: why
FAIL
FAIL	sample	0.010s
FAIL
`
	for name, out := range map[string]string{"-v": verbose, "quiet": quiet} {
		got := failures(out)
		if !strings.Contains(got, "a failed: why") || !strings.Contains(got, "--- FAIL: TestA") {
			t.Errorf("%s: failures lost the failing test's message:\n%s", name, got)
		}
		if strings.Contains(got, "b ok") {
			t.Errorf("%s: failures kept a passing test's log:\n%s", name, got)
		}
	}
	if got := failures("ok  \tsample\t0.01s\n"); got != "" {
		t.Errorf("failures of a passing run = %q, want nothing", got)
	}
}
