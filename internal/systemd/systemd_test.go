package systemd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
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

func TestFake(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	var m Manager = f
	const u = "postfix@postfix-out.service"

	if s, err := m.UnitStatus(ctx, u); err != nil || s.LoadState != "loaded" || s.ActiveState != "inactive" {
		t.Errorf("unknown unit: %+v, %v", s, err)
	}
	var je *JobError
	if err := m.ReloadUnit(ctx, u); !errors.As(err, &je) || je.Result != "invalid" || je.Op != OpReload {
		t.Errorf("reload of an inactive unit: %v", err)
	}
	if err := m.StartUnit(ctx, u); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.UnitStatus(ctx, u); !s.Active() || s.SubState != "running" {
		t.Errorf("after start: %+v", s)
	}
	if err := m.ReloadUnit(ctx, u); err != nil {
		t.Errorf("reload of an active unit: %v", err)
	}
	f.Script(OpStop, u, "timeout")
	if err := m.StopUnit(ctx, u); !errors.As(err, &je) || je.Result != "timeout" {
		t.Errorf("scripted stop: %v", err)
	}
	if s, _ := m.UnitStatus(ctx, u); !s.Active() {
		t.Errorf("a failed stop changed the state: %+v", s)
	}
	f.Fail(OpDaemonReload, "", ErrFakeBus())
	if err := m.Reload(ctx); err == nil {
		t.Error("scripted daemon-reload failure: nil")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.StartUnit(cctx, u); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
	m.Close()
	want := []Call{{OpStatus, u}, {OpReload, u}, {OpStart, u}, {OpStatus, u}, {OpReload, u}, {OpStop, u}, {OpStatus, u}, {Op: OpDaemonReload}, {OpStart, u}, {Op: OpClose}}
	if got := f.Recorded(); !slices.Equal(got, want) {
		t.Errorf("calls\n got %v\nwant %v", got, want)
	}
}
