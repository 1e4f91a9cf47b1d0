package pfinstances

// TestSystemd runs postfix-instances status against real systemd as PID 1
// and real Postfix in a booted Debian 12 container (internal/harness),
// after the border-MTA walk-through (test/e2e): the default instance,
// postfix-out and postfix-in, all enabled, started by postfix.service.
//
//   - the three instances are active, each with the main PID that systemd
//     shows and that the master's PID file holds; exit 0;
//   - a master killed with SIGKILL is restarted by systemd and counted
//     (n_restarts 1, a new main PID); exit 1, the instance "attention";
//   - a stopped enabled instance is "down"; exit 2;
//   - a main.cf newer than the last daemon-reload makes its unit stale;
//   - with --root / (systemd not asked), the PID files say the same.
//
// One container; the steps build on each other.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/test/e2e"
)

// statusBinary is where the tests install postfix-instances inside.
const statusBinary = "/usr/bin/postfix-instances"

// bootWalkthrough boots a container with the product and postfix-instances
// installed and lays out the walk-through.
func bootWalkthrough(t testing.TB) *harness.Container {
	t.Helper()
	harness.Require(t)
	t.Cleanup(harness.CleanupBuilds)
	p := e2e.BuildProduct(t)
	bin := harness.MustBuildGo(t, "./cmd/postfix-instances")
	files := append(p.Files(), harness.File{Path: statusBinary, Src: bin, Mode: 0o755})
	c := harness.Boot(t, harness.Options{Files: files})
	e2e.SetUp(t, c, e2e.Walkthrough)
	return c
}

// status runs postfix-instances status --json ARGS inside and returns the
// document and the exit status; it fails the test unless the exit status
// is one of status's own (0, 1, 2) and agrees with the document's.
func status(t *testing.T, c *harness.Container, args ...string) (statusJSON, int) {
	t.Helper()
	res, err := c.Exec(append([]string{statusBinary}, append(args, "status", "--json")...)...)
	if err != nil && (res.ExitCode < 0 || res.ExitCode > 2) {
		t.Fatalf("postfix-instances status --json: %v\n%s", err, res.Stdout)
	}
	var doc statusJSON
	if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil {
		t.Fatalf("status --json: %v\n%s", err, res.Stdout)
	}
	if doc.ExitStatus != res.ExitCode {
		t.Errorf("status --json says exit_status %d, exited %d", doc.ExitStatus, res.ExitCode)
	}
	return doc, res.ExitCode
}

// row returns the document's row for unit.
func rowOf(t *testing.T, doc statusJSON, unit string) rowJSON {
	t.Helper()
	for _, r := range doc.Instances {
		if r.Unit == unit {
			return r
		}
	}
	t.Fatalf("no row for %s in %+v", unit, doc)
	return rowJSON{}
}

// pidFile reads a master's PID file inside.
func pidFile(t *testing.T, c *harness.Container, queueDir string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(c.Run("cat", queueDir+"/pid/master.pid")))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

var walkUnits = []struct{ unit, queue string }{
	{"postfix@-.service", "/var/spool/postfix"},
	{"postfix@postfix-out.service", "/var/spool/postfix-out"},
	{"postfix@postfix-in.service", "/var/spool/postfix-in"},
}

func TestSystemd(t *testing.T) {
	c := bootWalkthrough(t)
	c.Run("systemctl", "start", "postfix.service")

	var outPID uint32
	step(t, "three instances active with their main PIDs; exit 0", func(t *testing.T) {
		doc, code := status(t, c)
		if code != 0 || !doc.Systemd {
			t.Errorf("exit %d, systemd %v; want 0, true\n%+v", code, doc.Systemd, doc)
		}
		if len(doc.Instances) != 3 {
			t.Fatalf("%d instances, want 3: %+v", len(doc.Instances), doc.Instances)
		}
		for i, w := range walkUnits {
			r := doc.Instances[i]
			show := c.Show(w.unit, "MainPID", "ActiveState", "SubState", "NRestarts")
			us := r.UnitState
			switch {
			case r.Unit != w.unit:
				t.Errorf("row %d is %s, want %s (start order)", i, r.Unit, w.unit)
			case us == nil || us.ActiveState != "active" || us.SubState != "running" || r.Status != rowOK:
				t.Errorf("%s: %+v, status %s; want active/running, ok", w.unit, us, r.Status)
			case strconv.Itoa(int(us.MainPID)) != show["MainPID"] || us.MainPID == 0:
				t.Errorf("%s: main_pid %d, systemctl show MainPID=%s", w.unit, us.MainPID, show["MainPID"])
			case int(us.MainPID) != pidFile(t, c, w.queue):
				t.Errorf("%s: main_pid %d, the master's PID file %d", w.unit, us.MainPID, pidFile(t, c, w.queue))
			case us.NRestarts != 0 || us.ActiveSince == "" || !us.DropInLoaded || us.NeedDaemonReload:
				t.Errorf("%s: %+v", w.unit, us)
			case r.Master == nil || !r.Master.Locked || r.Master.PID != int(us.MainPID) || !r.Master.Alive:
				t.Errorf("%s: master %+v, want the main PID, locked and alive", w.unit, r.Master)
			case r.Queue == nil:
				t.Errorf("%s: queue not counted: %s", w.unit, r.QueueError)
			}
		}
		outPID = doc.Instances[1].UnitState.MainPID
		t.Logf("postfix-instances status:\n%s", textStatus(t, c))
	})

	step(t, "a master killed with SIGKILL is restarted and counted; exit 1", func(t *testing.T) {
		c.Run("kill", "-9", strconv.Itoa(int(outPID)))
		unit := walkUnits[1].unit
		c.Eventually(unit+" restarted", 30*time.Second, func() (bool, error) {
			p := c.Show(unit, "ActiveState", "SubState", "NRestarts", "MainPID")
			return p["ActiveState"] == "active" && p["SubState"] == "running" && p["NRestarts"] == "1" &&
				p["MainPID"] != "0" && p["MainPID"] != strconv.Itoa(int(outPID)), nil
		})
		doc, code := status(t, c)
		r := rowOf(t, doc, unit)
		if code != 1 || r.Status != rowAttention || r.UnitState.NRestarts != 1 || r.UnitState.MainPID == outPID || len(r.Notes) == 0 {
			t.Errorf("exit %d; %s: status %s, %+v, notes %q; want exit 1, attention, n_restarts 1, a new main PID",
				code, unit, r.Status, r.UnitState, r.Notes)
		}
		for _, u := range []string{walkUnits[0].unit, walkUnits[2].unit} {
			if r := rowOf(t, doc, u); r.Status != rowOK {
				t.Errorf("%s: %s %q, want ok", u, r.Status, r.Notes)
			}
		}
		t.Logf("postfix-instances status:\n%s", textStatus(t, c))
	})

	step(t, "a stopped enabled instance is down; exit 2", func(t *testing.T) {
		unit := walkUnits[2].unit
		c.Run("systemctl", "stop", unit)
		doc, code := status(t, c)
		r := rowOf(t, doc, unit)
		if code != 2 || r.Status != rowDown || r.UnitState.ActiveState != "inactive" || r.UnitState.MainPID != 0 {
			t.Errorf("exit %d; %s: status %s, %+v; want exit 2, down, inactive", code, unit, r.Status, r.UnitState)
		}
		if r.Master == nil || r.Master.Locked {
			t.Errorf("%s: master %+v, want the PID file unlocked", unit, r.Master)
		}
		// Selection: the mta group holds the down instance; the default
		// instance alone is fine.
		if _, code := status(t, c, "-g", "mta"); code != 2 {
			t.Errorf("status -g mta: exit %d, want 2", code)
		}
		if _, code := status(t, c, "-i", "-"); code != 0 {
			t.Errorf("status -i -: exit %d, want 0", code)
		}
		t.Logf("postfix-instances status:\n%s", textStatus(t, c))
	})

	step(t, "a main.cf changed since the last daemon-reload makes the unit stale", func(t *testing.T) {
		unit := walkUnits[1].unit
		// The generated drop-in names main.cf as SourcePath=: systemd
		// compares its modification time with when it loaded the unit.
		c.Run("touch", "-d", "+1 minute", "/etc/postfix-out/main.cf")
		doc, _ := status(t, c, "-i", "out")
		r := rowOf(t, doc, unit)
		if !r.UnitState.NeedDaemonReload || r.Status != rowAttention || !strings.Contains(strings.Join(r.Notes, "\n"), "daemon-reload") {
			t.Errorf("%s: %+v, status %s, notes %q; want need_daemon_reload, attention, a daemon-reload hint", unit, r.UnitState, r.Status, r.Notes)
		}
		c.DaemonReload()
		doc, _ = status(t, c, "-i", "out")
		if r := rowOf(t, doc, unit); r.UnitState.NeedDaemonReload {
			t.Errorf("%s still needs a daemon-reload after one: %+v", unit, r.UnitState)
		}
	})

	step(t, "without systemd (--root /) the PID files tell the same", func(t *testing.T) {
		doc, code := status(t, c, "--root", "/")
		if doc.Systemd || code != 2 {
			t.Errorf("--root /: systemd %v, exit %d; want false, 2", doc.Systemd, code)
		}
		for i, w := range walkUnits {
			r := doc.Instances[i]
			running := i != 2
			if r.UnitState != nil || r.Master == nil || r.Master.Locked != running || (running && r.Master.PID != pidFile(t, c, w.queue)) {
				t.Errorf("%s: unit state %+v, master %+v; want no unit state, locked %v", w.unit, r.UnitState, r.Master, running)
			}
		}
	})
}

// textStatus is the text output, whatever its exit status.
func textStatus(t *testing.T, c *harness.Container) string {
	t.Helper()
	res, err := c.Exec(statusBinary, "status")
	if err != nil && res.ExitCode > 2 {
		t.Fatalf("postfix-instances status: %v", err)
	}
	return res.Stdout + fmt.Sprintf("(exit %d)\n", res.ExitCode)
}
