package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
	"github.com/postfix-systemd/postfix-instances/internal/systemd/systemdtest"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// insideEnv makes this test binary, run inside the container, carry out
// the checks against real systemd and real Postfix: "run" for the life
// cycle, "guard" for SystemdFor inside a postfix@ unit.
const insideEnv = "PFI_LIFECYCLE_INSIDE"

func TestMain(m *testing.M) {
	switch os.Getenv(insideEnv) {
	case "run":
		os.Exit(inside(os.Stdout))
	case "guard":
		os.Exit(insideGuard(os.Stdout))
	}
	code := m.Run()
	harness.CleanupBuilds()
	os.Exit(code)
}

// setupScript turns the container's Postfix into three instances with
// real postmulti (default and postfix-out enabled, postfix-dis disabled)
// and runs them with the project's units/postfix@.service and drop-ins
// carrying what the generator writes (MAIL_CONFIG, PIDFile=).
const setupScript = `
systemctl stop postfix.service postfix@-.service
postmulti -e init
postmulti -I postfix-out -G mta -e create
postmulti -i postfix-out -e enable
postmulti -I postfix-dis -G mta -e create
install -D -m 0644 /opt/pfi/postfix@.service /run/systemd/system/postfix@.service
for i in -:/etc/postfix:/var/spool/postfix postfix-out:/etc/postfix-out:/var/spool/postfix-out postfix-dis:/etc/postfix-dis:/var/spool/postfix-dis; do
	IFS=: read -r name conf queue <<<"$i"
	mkdir -p "/run/systemd/system/postfix@$name.service.d"
	printf '[Service]\nEnvironment=MAIL_CONFIG=%s\nPIDFile=%s/pid/master.pid\n' "$conf" "$queue" \
		>"/run/systemd/system/postfix@$name.service.d/50-instance.conf"
done
systemctl daemon-reload
postmulti -l -a
`

// TestRealSystemd boots Debian 12 with systemd as PID 1 and real Postfix,
// and drives three instances through Run: start, status, reload, stop,
// masters started behind systemd's back, a failing start, upstream's
// fallback without systemd, and SystemdFor's guard inside a postfix@ unit.
func TestRealSystemd(t *testing.T) {
	harness.Require(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := systemdtest.BuildTestBinary(t)
	c := harness.Boot(t, harness.Options{BindRO: []string{
		bin + ":/opt/pfi/lifecycle.test",
		filepath.Join(root, "units/postfix@.service") + ":/opt/pfi/postfix@.service",
	}})
	t.Logf("instances:\n%s", c.Bash(setupScript))

	start := time.Now()
	res, err := c.Exec("/usr/bin/env", insideEnv+"=run", "/opt/pfi/lifecycle.test")
	t.Logf("inside the container (%s):\n%s", time.Since(start).Round(time.Millisecond), res.Stdout)
	if err != nil {
		t.Fatalf("checks against real systemd failed: %v", err)
	}

	// Run the guard check as postfix@pfi-guard.service itself: a drop-in
	// replaces the template's commands with this test binary (and drops
	// its "postfix check", which needs an instance's MAIL_CONFIG).
	c.WriteFile("/run/systemd/system/postfix@pfi-guard.service.d/90-guard.conf", []byte(`[Service]
Type=oneshot
Environment=`+insideEnv+`=guard
ExecStartPre=
ExecStart=
ExecStart=/opt/pfi/lifecycle.test
ExecStop=
ExecReload=
`), 0o644)
	c.DaemonReload()
	_, err = c.Exec("systemctl", "start", "postfix@pfi-guard.service")
	t.Logf("inside postfix@pfi-guard.service:\n%s", c.Run("journalctl", "-q", "-o", "cat", "-u", "postfix@pfi-guard.service", "SYSLOG_IDENTIFIER=postfix@pfi-guard"))
	if err != nil {
		t.Fatalf("guard check failed: %v", err)
	}
}

// insideGuard runs as postfix@pfi-guard.service: SystemdFor must refuse.
func insideGuard(w io.Writer) int {
	c := &systemdtest.Checker{W: w}
	unit, ok := ownInstanceUnit()
	c.Check(ok && unit == "postfix@pfi-guard.service", "own unit from /proc/self/cgroup: %q, %v", unit, ok)
	m, err := SystemdFor(context.Background())
	c.Check(m == nil && err == nil, "SystemdFor inside a postfix@ unit falls back to upstream: %v, %v", m, err)
	return c.Status()
}

// loadInstances reads the instances as the real postmulti lists them.
func loadInstances() ([]instance.Instance, error) {
	out, err := exec.Command("/usr/sbin/postmulti", "-l", "-a").Output()
	if err != nil {
		return nil, fmt.Errorf("postmulti -l -a: %w", err)
	}
	var insts []instance.Instance
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("postmulti -l line %q", line)
		}
		q, err := exec.Command("/usr/sbin/postconf", "-c", f[3], "-h", "queue_directory", "data_directory").Output()
		dirs := strings.Fields(string(q))
		if err != nil || len(dirs) != 2 {
			return nil, fmt.Errorf("postconf -c %s: %q, %v", f[3], q, err)
		}
		inst := instance.Instance{Enabled: f[2] == "y", Default: i == 0, ConfigDir: f[3],
			QueueDir: dirs[0], DataDir: dirs[1], CommandDir: "/usr/sbin", Position: i}
		if f[0] != "-" {
			inst.Name = f[0]
		}
		if f[1] != "-" {
			inst.Group = f[1]
		}
		insts = append(insts, inst)
	}
	instance.Resolve(insts, nil, unit.Classic)
	return insts, nil
}

func inside(w io.Writer) int {
	c := &systemdtest.Checker{W: w}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	insts, err := loadInstances()
	if !c.Check(err == nil && len(insts) == 3 && insts[0].Enabled && insts[1].Enabled && !insts[2].Enabled,
		"instances from postmulti -l: %+v, %v", insts, err) {
		return 1
	}
	sd, err := SystemdFor(ctx)
	if !c.Check(err == nil && sd != nil, "SystemdFor with systemd as PID 1: %v", err) {
		return 1
	}
	defer sd.Close()
	units := make([]string, len(insts))
	for i, inst := range insts {
		units[i] = inst.Spec.Unit
	}

	run := func(action string, sdm systemd.Manager) (int, string, error) {
		var stderr bytes.Buffer
		t0 := time.Now()
		code, err := Run(ctx, action, nil, insts, Options{Systemd: sdm, Stdout: &stderr, Stderr: &stderr})
		via := "systemd"
		if sdm == nil {
			via = "postfix (no systemd)"
		}
		c.Logf("%s via %s: exit %d, %s", action, via, code, time.Since(t0).Round(time.Millisecond))
		return code, stderr.String(), err
	}
	unitState := func(i int) systemd.UnitStatus {
		s, err := sd.UnitStatus(ctx, units[i])
		if err != nil {
			c.Check(false, "status of %s: %v", units[i], err)
		}
		return s
	}
	// tracked checks that systemd runs the instance's master as main PID.
	tracked := func(i int, what string) {
		s := unitState(i)
		pid, running := masterRunning(insts[i].QueueDir)
		c.Check(s.ActiveState == "active" && running && pid > 0 && int(s.MainPID) == pid,
			"%s: %s active with the master (PID %d, running %v) as main PID %d", what, units[i], pid, running, s.MainPID)
	}
	down := func(i int, what string) {
		s := unitState(i)
		_, running := masterRunning(insts[i].QueueDir)
		c.Check(!s.Active() && !running, "%s: %s %s, master running %v", what, units[i], s.ActiveState, running)
	}

	code, msgs, err := run("start", sd)
	c.Check(code == 0 && err == nil && msgs == "", "start: exit %d, %v, messages %q", code, err, msgs)
	tracked(0, "after start")
	tracked(1, "after start")
	down(2, "disabled after start")

	// status: upstream's exit code (the disabled instance is not running),
	// and no disagreement to report.
	code, msgs, err = run("status", sd)
	c.Check(code == 1 && err == nil && msgs == "", "status: exit %d (want 1: postfix-dis is not running), %v, messages %q", code, err, msgs)

	before := unitState(1).MainPID
	code, msgs, err = run("reload", sd)
	c.Check(code == 0 && err == nil && msgs == "", "reload: exit %d, %v, messages %q", code, err, msgs)
	c.Check(unitState(1).MainPID == before, "reload kept the master (PID %d)", before)

	// A master started behind systemd's back is reported by status.
	out, err := exec.Command("/usr/sbin/postfix", "-c", insts[2].ConfigDir, "start").CombinedOutput()
	c.Check(err == nil, "postfix -c %s start by hand: %v %s", insts[2].ConfigDir, err, out)
	code, msgs, err = run("status", sd)
	c.Check(code == 0 && err == nil && strings.Contains(msgs, "postmulti: warning: postfix@postfix-dis.service is inactive (dead), but the Postfix master of /etc/postfix-dis (PID ") &&
		strings.Contains(msgs, "runs outside systemd's control"), "status reports the master outside systemd: exit %d, %v, %q", code, err, msgs)
	out, err = exec.Command("/usr/sbin/postfix", "-c", insts[2].ConfigDir, "stop").CombinedOutput()
	c.Check(err == nil, "postfix -c %s stop by hand: %v %s", insts[2].ConfigDir, err, out)

	code, msgs, err = run("stop", sd)
	c.Check(code == 0 && err == nil && msgs == "", "stop: exit %d, %v, messages %q", code, err, msgs)
	for i := range insts {
		down(i, "after stop")
	}

	// stop on an enabled instance whose master runs outside systemd.
	out, err = exec.Command("/usr/sbin/postfix", "-c", insts[1].ConfigDir, "start").CombinedOutput()
	c.Check(err == nil, "postfix -c %s start by hand: %v %s", insts[1].ConfigDir, err, out)
	code, msgs, err = run("reload", sd)
	c.Check(code == 1 && err == nil && strings.Contains(msgs, "reload postfix@-.service: job invalid") &&
		strings.Contains(msgs, "postfix@postfix-out.service is not active, but a Postfix master") &&
		strings.Contains(msgs, "reloading it with"),
		"reload: the default instance is down (error), postfix-out's hand-started master is reloaded (warning): exit %d, %v, %q", code, err, msgs)
	code, msgs, err = run("start", sd)
	c.Check(code == 1 && err == nil && strings.HasPrefix(msgs, "postmulti: error: not starting postfix@postfix-out.service: a Postfix master (PID ") &&
		strings.Contains(msgs, "already runs for /etc/postfix-out outside systemd's control"),
		"start with postfix-out's master already running by hand: exit %d, %v, %q", code, err, msgs)
	_, running := masterRunning(insts[1].QueueDir)
	c.Check(running, "the hand-started master and its PID file survive the refused start")
	tracked(0, "default started despite postfix-out's failure")
	code, msgs, err = run("stop", sd)
	c.Check(code == 0 && err == nil && strings.Contains(msgs, "postfix@postfix-out.service is not active, but a Postfix master") &&
		strings.Contains(msgs, "stopping it with"),
		"stop also stops the master outside systemd: exit %d, %v, %q", code, err, msgs)
	for i := range insts {
		down(i, "after stop")
	}
	// Without systemd: upstream's loop of postfix commands, for real.
	code, msgs, err = run("start", nil)
	c.Check(code == 0 && err == nil, "start without systemd: exit %d, %v, %q", code, err, msgs)
	for i := 0; i < 2; i++ {
		pid, running := masterRunning(insts[i].QueueDir)
		s := unitState(i)
		c.Check(running && !s.Active(), "without systemd %s runs its master (PID %d) outside the unit (%s)", insts[i].ConfigDir, pid, s.ActiveState)
	}
	code, msgs, err = run("stop", nil)
	c.Check(code == 0 && err == nil, "stop without systemd: exit %d, %v, %q", code, err, msgs)
	code, msgs, err = run("stop", nil)
	c.Check(code == 1 && err == nil, "stop again without systemd: upstream's exit 1 (not running): %d, %v, %q", code, err, msgs)
	for i := range insts {
		down(i, "after stop without systemd")
	}

	// A start that fails inside the unit: the job result, the hint, and
	// the loop going on.
	dropIn := "/run/systemd/system/postfix@postfix-out.service.d/60-fail.conf"
	if err := os.WriteFile(dropIn, []byte("[Service]\nExecStartPre=/bin/false\n"), 0o644); err == nil {
		err = ReloadSystemd(ctx)
		c.Check(err == nil, "ReloadSystemd: %v", err)
		code, msgs, err = run("start", sd)
		c.Check(code == 1 && err == nil && msgs == "postmulti: error: start postfix@postfix-out.service: job failed (the control process exited with an error); see \"journalctl -u postfix@postfix-out.service\" for details\n",
			"start with a failing ExecStartPre: exit %d, %v, %q", code, err, msgs)
		tracked(0, "default instance after postfix-out failed")
		os.Remove(dropIn)
		_ = ReloadSystemd(ctx)
		code, _, err = run("stop", sd)
		c.Check(code == 0 && err == nil, "stop: exit %d, %v", code, err)
	}
	return c.Status()
}
