// Package systemdtest helps tests check code against a real systemd as
// PID 1: the test binary builds a static copy of itself, runs it inside a
// container booted by internal/harness, and there a Checker records each
// check as an "ok"/"FAIL" line for the host side to show and judge.
package systemdtest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildTestBinary builds the test binary of the package in the working
// directory (where "go test" runs a package's tests) with CGO_ENABLED=0, so
// that it runs in the container whatever the host's libc, and returns its
// path. It inherits GOFLAGS and the rest of the environment.
func BuildTestBinary(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(wd)+".test")
	cmd := exec.Command("go", "test", "-c", "-trimpath", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -c in %s: %v\n%s", wd, err, msg)
	}
	return out
}

// Checker records checks made inside the container.
type Checker struct {
	W     io.Writer
	fails int
}

// Check writes "ok   WHAT" or "FAIL WHAT" and returns ok.
func (c *Checker) Check(ok bool, format string, a ...any) bool {
	status := "ok  "
	if !ok {
		status = "FAIL"
		c.fails++
	}
	fmt.Fprintf(c.W, "%s %s\n", status, fmt.Sprintf(format, a...))
	return ok
}

// Logf writes an indented note, such as a timing.
func (c *Checker) Logf(format string, a ...any) {
	fmt.Fprintf(c.W, "     %s\n", fmt.Sprintf(format, a...))
}

// Status is the exit status for the process: 1 if any check failed.
func (c *Checker) Status() int {
	if c.fails > 0 {
		return 1
	}
	return 0
}
