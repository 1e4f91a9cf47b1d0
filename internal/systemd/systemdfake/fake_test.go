package systemdfake

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/systemd"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	var m systemd.Manager = f
	const u = "postfix@postfix-out.service"

	if s, err := m.UnitStatus(ctx, u); err != nil || s.LoadState != "loaded" || s.ActiveState != "inactive" {
		t.Errorf("unknown unit: %+v, %v", s, err)
	}
	var je *systemd.JobError
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
