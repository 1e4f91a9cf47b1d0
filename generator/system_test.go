package generator_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/postfix-systemd/postfix-instances/generator/internal/treetest"
)

var (
	binaryOnce sync.Once
	binaryDir  string
	binaryPath string
	binaryErr  error
)

// buildBinary builds cmd/postfix-instance-generator once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pig-test-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryDir = dir
		binaryPath = filepath.Join(dir, "postfix-instance-generator")
		out, err := exec.Command("go", "build", "-o", binaryPath, "../cmd/postfix-instance-generator").CombinedOutput()
		if err != nil {
			binaryErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if binaryErr != nil {
		t.Fatalf("build the generator: %v", binaryErr)
	}
	return binaryPath
}

// runAsSystemd runs the built binary the way systemd runs a generator:
// three fresh output directories, an empty environment (plus extra), no
// terminal. The test case's root/etc is laid over the host's /etc in a
// private mount namespace (copy-on-write, the host's /etc is not touched),
// so that the compiled-in /etc/postfix and the absolute instance paths in
// it are the test's. Needs root.
func runAsSystemd(t *testing.T, root string, extra ...string) (normal, early, late string, code int, stderr string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root and a private mount namespace; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("running the generator as systemd does needs root (a private mount namespace over /etc); run as root or with -short")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is needed: %v", err)
	}
	tmp := t.TempDir()
	for _, d := range []string{"normal", "early", "late", "upper", "work"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	normal, early, late = filepath.Join(tmp, "normal"), filepath.Join(tmp, "early"), filepath.Join(tmp, "late")
	absRoot, _ := filepath.Abs(root)
	script := `set -e
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
rm -rf /etc/postfix
cp -a "$2/etc/." /etc/
shift 2
exec "$@"`
	args := []string{"-m", "--propagation", "private", "sh", "-c", script, "sh", tmp, absRoot, "env", "-i"}
	args = append(args, extra...)
	args = append(args, buildBinary(t), normal, early, late)
	cmd := exec.Command("unshare", args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return normal, early, late, code, errb.String()
}

// TestAsSystemdRunsIt runs the binary exactly as systemd does on the golden
// cases that live under /etc and compares with their expected trees.
func TestAsSystemdRunsIt(t *testing.T) {
	for _, name := range []string{"walkthrough", "disabled", "commas", "expansion", "zero"} {
		t.Run(name, func(t *testing.T) {
			normal, early, late, code, stderr := runAsSystemd(t, filepath.Join("testdata", name, "root"))
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			treetest.Compare(t, treetest.Snapshot(t, filepath.Join("testdata", name, "expected")), treetest.Snapshot(t, normal))
			for _, d := range []string{early, late} {
				if m := treetest.Snapshot(t, d); len(m) > 0 {
					t.Errorf("wrote into %s: %v", d, treetest.Paths(m))
				}
			}
		})
	}
}

// TestBrokenExitsOne checks that a bad instance is logged, the rest is
// written, and the exit status is 1.
func TestBrokenExitsOne(t *testing.T) {
	normal, _, _, code, stderr := runAsSystemd(t, filepath.Join("testdata", "broken", "root"), "SYSTEMD_LOG_TARGET=console")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	treetest.Compare(t, treetest.Snapshot(t, filepath.Join("testdata", "broken", "expected")), treetest.Snapshot(t, normal))
	for _, dir := range []string{"/etc/postfix-missing", "/etc/postfix-badbool", "/etc/postfix-dupname", "/etc/postfix-dupqueue"} {
		if !strings.Contains(stderr, "Postfix instance "+dir+": ") {
			t.Errorf("no message about %s in:\n%s", dir, stderr)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasSuffix(l, ", ignoring.") {
			t.Errorf("message %q does not end in \", ignoring.\"", l)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}
