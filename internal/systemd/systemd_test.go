package systemd

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestJobErrorMessage(t *testing.T) {
	var err error = &JobError{Op: OpStart, Unit: "postfix@postfix-out.service", Result: "failed"}
	want := `start postfix@postfix-out.service: job failed (the control process exited with an error); see "journalctl -u postfix@postfix-out.service" for details`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	var je *JobError
	if !errors.As(err, &je) || je.Result != "failed" {
		t.Errorf("errors.As: %v", je)
	}
	for _, r := range []string{"canceled", "timeout", "failed", "dependency", "skipped", "invalid", "assert", "unsupported", "collected", "once", "frozen"} {
		if describeResult(r) == "unexpected result" {
			t.Errorf("result %q has no description", r)
		}
	}
}

func TestBooted(t *testing.T) {
	defer func(p string) { bootedPath = p }(bootedPath)
	dir := t.TempDir()
	bootedPath = filepath.Join(dir, "system")
	if Booted() {
		t.Error("missing directory: booted")
	}
	if err := os.WriteFile(bootedPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if Booted() {
		t.Error("a file, not a directory: booted")
	}
	os.Remove(bootedPath)
	if err := os.Mkdir(bootedPath, 0o755); err != nil {
		t.Fatal(err)
	}
	if !Booted() {
		t.Error("directory present: not booted")
	}
	// sd_booted uses lstat: a symlink to a directory does not count.
	os.Remove(bootedPath)
	if err := os.Symlink(dir, bootedPath); err != nil {
		t.Fatal(err)
	}
	if Booted() {
		t.Error("symlink: booted")
	}
}

func TestUnitStatusActive(t *testing.T) {
	for state, want := range map[string]bool{"active": true, "reloading": true, "inactive": false, "failed": false, "activating": false, "deactivating": false} {
		if got := (UnitStatus{ActiveState: state}).Active(); got != want {
			t.Errorf("%s: Active() = %v", state, got)
		}
	}
}
