package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Prerequisites says what this machine lacks to boot containers, or nil.
// debootstrap is required only while the cached tree is missing.
func Prerequisites() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (running as uid "+fmt.Sprint(os.Geteuid())+")")
	}
	for _, tool := range []struct{ bin, pkg string }{
		{"systemd-nspawn", "systemd-container"},
		{"nsenter", "util-linux"},
		{"mount", "mount"},
	} {
		if _, err := exec.LookPath(tool.bin); err != nil {
			missing = append(missing, tool.bin+" (package "+tool.pkg+")")
		}
	}
	r, err := DefaultRelease()
	if err != nil {
		missing = append(missing, err.Error())
	} else if _, err := os.Stat(filepath.Join(TreeDir(r), stampPath)); err != nil {
		if _, err := exec.LookPath("debootstrap"); err != nil {
			missing = append(missing, "debootstrap (package debootstrap; the root tree is not cached yet)")
		}
	}
	if fsys, err := os.ReadFile("/proc/filesystems"); err == nil && !strings.Contains(string(fsys), "\toverlay\n") {
		missing = append(missing, "overlayfs support in the kernel (modprobe overlay)")
	}
	if len(missing) > 0 {
		return errors.New("missing " + strings.Join(missing, ", "))
	}
	return nil
}

// Require fails t loudly unless the machine can boot containers; under
// -short it skips instead, for quick local loops.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("harness: -short: not booting containers")
	}
	if err := Prerequisites(); err != nil {
		t.Fatalf("harness: this test boots systemd in a container and needs what is missing: %v (as root, scripts/install-deps.sh installs it; -short skips these tests)", err)
	}
}
