package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// InReleaseEnv is set, to the release's name, in the environment of a
// test binary that RunTestsIn runs inside a container; tests use it (via
// InRelease) not to start containers from inside one.
const InReleaseEnv = "PFI_TEST_IN_RELEASE"

// InRelease returns the release a test binary was started in by
// RunTestsIn, or "" on the host.
func InRelease() Release { return Release(os.Getenv(InReleaseEnv)) }

// RunTestsIn runs the tests of the calling package that match run inside
// a booted container of release r, against that release's own programs
// (postconf, postmulti, ...): it builds the package's test binary
// (statically), brings it and the package directory (for testdata/) into
// the container read-only, and runs it there as root, in the package
// directory, with $PFI_TEST_IN_RELEASE set. It fails t when the tests
// fail inside and returns their verbose output.
func RunTestsIn(t *testing.T, r Release, run string, timeout time.Duration) string {
	t.Helper()
	return RunTestsWith(t, InReleaseOptions{Release: r, Run: run, Timeout: timeout})
}

// InReleaseOptions say how RunTestsWith runs a package's tests in a
// release container.
type InReleaseOptions struct {
	Release Release
	Run     string        // -test.run
	Timeout time.Duration // for the whole run inside
	Args    []string      // more arguments for the test binary
	// NoSystemd runs the tests as on a host without systemd as PID 1: the
	// container's Postfix units are stopped first, and the tests run in a
	// private mount namespace with an empty /run/systemd, so that
	// postfix, postmulti (Debian 13's "postfix start" redirect) and ours
	// all take their paths for a system not booted with systemd.
	NoSystemd bool
}

// noSystemdScript hides systemd from what it runs; the command comes as
// its positional parameters.
const noSystemdScript = `mount -t tmpfs -o mode=0755 pfi-no-systemd /run/systemd || exit 97
exec "$@"`

// RunTestsWith is RunTestsIn with options.
func RunTestsWith(t *testing.T, o InReleaseOptions) string {
	t.Helper()
	r, run, timeout := o.Release, o.Run, o.Timeout
	Require(t)
	if InRelease() != "" {
		t.Fatalf("harness: RunTestsIn called inside a container (%s)", InRelease())
	}
	pkgDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "pkg.test")
	t0 := time.Now()
	cmd := exec.Command("go", "test", "-c", "-trimpath", "-buildvcs=false", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("harness: go test -c in %s: %v\n%s", pkgDir, err, out)
	}
	t.Logf("test binary built in %s", time.Since(t0).Round(time.Millisecond))
	c := Boot(t, Options{Release: r, BindRO: []string{pkgDir + ":/pfi/pkg", bin + ":/pfi/pkg.test"}})
	args := []string{"env", "-C", "/pfi/pkg", InReleaseEnv + "=" + string(r),
		"/pfi/pkg.test", "-test.run", run, "-test.count=1", "-test.v", "-test.timeout", timeout.String()}
	args = append(args, o.Args...)
	if o.NoSystemd {
		// Debian 12's postfix.service is the umbrella of postfix@-, 13's
		// the default instance itself: stopping it stops every master.
		c.Run("systemctl", "stop", "postfix.service")
		if res, err := c.Exec("postfix", "status"); err == nil {
			t.Fatalf("harness: Postfix still runs after systemctl stop postfix: %s", res.Stderr)
		}
		args = append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", noSystemdScript, "sh"}, args...)
	}
	t0 = time.Now()
	res, err := c.run(timeout, nil, args...)
	out := res.Stdout + res.Stderr
	t.Logf("%s: tests %q ran in %s", r, run, time.Since(t0).Round(time.Millisecond))
	if err != nil {
		t.Errorf("%s: the tests failed inside the container: %v\n%s", r, err, tail(out, 20000))
	}
	return out
}

// tail keeps the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Summary counts the results in go test -v output ("passed 5, failed 1,
// skipped 2") and adds the lines the tests logged about how many cases
// they ran ("695 cases, 0 differ, in 50s").
func Summary(out string) string {
	var pass, fail, skip int
	var cases []string
	for _, l := range strings.Split(out, "\n") {
		if _, msg, ok := strings.Cut(l, "_test.go:"); ok && strings.Contains(msg, " cases") {
			if _, text, ok := strings.Cut(msg, ": "); ok {
				cases = append(cases, text)
			}
		}
		switch {
		case strings.HasPrefix(l, "--- PASS"):
			pass++
		case strings.HasPrefix(l, "--- FAIL"):
			fail++
		case strings.HasPrefix(l, "--- SKIP"):
			skip++
		}
	}
	sum := fmt.Sprintf("passed %d, failed %d, skipped %d", pass, fail, skip)
	if len(cases) > 0 {
		sum += "; " + strings.Join(cases, "; ")
	}
	return sum
}
