package systemd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/internal/systemd/systemdtest"
)

// insideEnv makes this test binary, run inside the container, carry out
// the checks against the real systemd instead of running the tests.
const insideEnv = "PFI_SYSTEMD_INSIDE"

func TestMain(m *testing.M) {
	if os.Getenv(insideEnv) == "1" {
		os.Exit(inside(os.Stdout))
	}
	code := m.Run()
	harness.CleanupBuilds()
	os.Exit(code)
}

// TestRealSystemd boots Debian 12 with systemd as PID 1 and runs inside()
// there: every Manager method against the real manager, over the system
// bus and over the private socket.
func TestRealSystemd(t *testing.T) {
	harness.Require(t)
	bin := systemdtest.BuildTestBinary(t)
	c := harness.Boot(t, harness.Options{BindRO: []string{bin + ":/opt/pfi/systemd.test"}})
	start := time.Now()
	res, err := c.Exec("/usr/bin/env", insideEnv+"=1", "/opt/pfi/systemd.test")
	t.Logf("inside the container (%s):\n%s", time.Since(start).Round(time.Millisecond), res.Stdout)
	if err != nil {
		t.Fatalf("checks against the real systemd failed: %v", err)
	}
}

// Units the inside checks install in /run/systemd/system of the container.
var testUnits = map[string]string{
	"pfi-ok.service": `[Service]
ExecStart=/bin/sleep infinity
ExecReload=/bin/true
`,
	"pfi-fail.service": `[Service]
Type=oneshot
ExecStart=/bin/false
`,
}

// inside runs in the container as root; it returns the exit status.
func inside(w io.Writer) int {
	c := &systemdtest.Checker{W: w}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c.Check(Booted(), "Booted() inside a container whose PID 1 is systemd")

	for name, text := range testUnits {
		if err := os.WriteFile(filepath.Join("/run/systemd/system", name), []byte(text), 0o644); err != nil {
			c.Check(false, "write %s: %v", name, err)
			return 1
		}
	}
	for _, how := range []struct {
		name string
		dial func(context.Context) (Manager, error)
	}{{"system bus", Connect}, {"private socket", connectPrivate}} {
		t0 := time.Now()
		m, err := how.dial(ctx)
		c.Check(err == nil, "connect over the %s (%s): %v", how.name, time.Since(t0).Round(time.Microsecond), err)
		if err != nil {
			continue
		}
		checkManager(ctx, c, m, how.name)
		c.Check(m.Close() == nil, "close")
	}
	return c.Status()
}

func checkManager(ctx context.Context, c *systemdtest.Checker, m Manager, via string) {
	timed := func(what string, f func() error) error {
		t0 := time.Now()
		err := f()
		c.Logf("%s via %s took %s", what, via, time.Since(t0).Round(time.Microsecond))
		return err
	}
	// daemon-reload makes the units just written known.
	err := timed("daemon-reload", func() error { return m.Reload(ctx) })
	c.Check(err == nil, "daemon-reload: %v", err)
	s, err := m.UnitStatus(ctx, "pfi-ok.service")
	c.Check(err == nil && s.LoadState == "loaded" && s.ActiveState == "inactive", "pfi-ok.service after daemon-reload: %+v, %v", s, err)

	err = timed("start", func() error { return m.StartUnit(ctx, "pfi-ok.service") })
	c.Check(err == nil, "start pfi-ok.service: %v", err)
	s, err = m.UnitStatus(ctx, "pfi-ok.service")
	c.Check(err == nil && s.ActiveState == "active" && s.SubState == "running" && s.MainPID > 0 && s.ExecMainPID == s.MainPID,
		"pfi-ok.service active with a main PID: %+v, %v", s, err)
	if s.MainPID > 0 {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", s.MainPID))
		c.Check(strings.TrimSpace(string(comm)) == "sleep", "MainPID %d is the sleep process (%q)", s.MainPID, comm)
	}
	err = timed("start of an active unit", func() error { return m.StartUnit(ctx, "pfi-ok.service") })
	c.Check(err == nil, "start of an active unit is done at once: %v", err)
	err = timed("reload", func() error { return m.ReloadUnit(ctx, "pfi-ok.service") })
	c.Check(err == nil, "reload pfi-ok.service: %v", err)
	err = timed("stop", func() error { return m.StopUnit(ctx, "pfi-ok.service") })
	c.Check(err == nil, "stop pfi-ok.service: %v", err)
	s, err = m.UnitStatus(ctx, "pfi-ok.service")
	c.Check(err == nil && s.ActiveState == "inactive" && s.MainPID == 0, "pfi-ok.service inactive after stop: %+v, %v", s, err)
	err = m.StopUnit(ctx, "pfi-ok.service")
	c.Check(err == nil, "stop of an inactive unit is done: %v", err)

	var je *JobError
	err = m.ReloadUnit(ctx, "pfi-ok.service")
	c.Check(errors.As(err, &je) && je.Result == "invalid" && je.Op == OpReload && je.Unit == "pfi-ok.service",
		"reload of an inactive unit is a JobError with result invalid: %v", err)

	err = m.StartUnit(ctx, "pfi-fail.service")
	c.Check(errors.As(err, &je) && je.Result == "failed" && strings.Contains(err.Error(), `journalctl -u pfi-fail.service`),
		"failing start is a JobError with result failed and a journalctl hint: %v", err)
	s, _ = m.UnitStatus(ctx, "pfi-fail.service")
	c.Check(s.ActiveState == "failed" && s.Result == "exit-code", "pfi-fail.service failed with exit-code: %+v", s)

	s, err = m.UnitStatus(ctx, "pfi-nosuch.service")
	c.Check(err == nil && s.LoadState == "not-found", "an unknown unit is LoadState not-found, not an error: %+v, %v", s, err)
	err = m.StartUnit(ctx, "pfi-nosuch.service")
	c.Check(err != nil && !errors.As(err, &je) && strings.Contains(err.Error(), "pfi-nosuch.service"),
		"start of an unknown unit is a bus error naming it: %v", err)

	// A unit file changed on disk shows NeedDaemonReload until the reload
	// (on a unit that stays loaded: an inactive one is garbage-collected
	// and read afresh).
	_ = m.StartUnit(ctx, "pfi-ok.service")

	// UnitStatuses says what UnitStatus says, for many units at once,
	// with NRestarts and the time the unit became active.
	names := []string{"pfi-ok.service", "pfi-nosuch.service", "pfi-fail.service"}
	var all []UnitStatus
	err = timed("UnitStatuses of 3 units", func() (err error) { all, err = m.UnitStatuses(ctx, names); return err })
	c.Check(err == nil && len(all) == len(names), "UnitStatuses: %d statuses, %v", len(all), err)
	if len(all) == len(names) {
		one, _ := m.UnitStatus(ctx, "pfi-ok.service")
		ok := all[0]
		c.Check(ok.Name == "pfi-ok.service" && ok.Active() && ok.MainPID == one.MainPID && ok.MainPID > 0 && ok.NRestarts == 0 &&
			time.Since(ok.ActiveEnterTimestamp) < time.Minute && ok.FragmentPath == one.FragmentPath,
			"UnitStatuses of the running pfi-ok.service: %+v (UnitStatus: %+v)", ok, one)
		c.Check(all[1].Name == "pfi-nosuch.service" && all[1].LoadState == "not-found", "UnitStatuses of an unknown unit: %+v", all[1])
		c.Check(all[2].ActiveState == "failed" && all[2].Result == "exit-code" && all[2].ActiveEnterTimestamp.IsZero(),
			"UnitStatuses of the failed pfi-fail.service: %+v", all[2])
	}

	if err := os.WriteFile("/run/systemd/system/pfi-ok.service", []byte(testUnits["pfi-ok.service"]+"# changed\n"), 0o644); err == nil {
		s, _ = m.UnitStatus(ctx, "pfi-ok.service")
		c.Check(s.NeedDaemonReload, "NeedDaemonReload after the file changed: %+v", s)
		err = m.Reload(ctx)
		s, _ = m.UnitStatus(ctx, "pfi-ok.service")
		c.Check(err == nil && !s.NeedDaemonReload, "NeedDaemonReload cleared by Reload: %+v, %v", s, err)
	}
	_ = m.StopUnit(ctx, "pfi-ok.service")

	// A cancelled wait returns; the job itself goes on.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = m.StartUnit(cctx, "pfi-ok.service")
	c.Check(errors.Is(err, context.Canceled), "start with a cancelled context: %v", err)
	_ = m.StopUnit(ctx, "pfi-ok.service")
}
