package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
	"github.com/postfix-systemd/postfix-instances/internal/systemd/systemdfake"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// log is the ordered record of what a run did: "run ACTION ARGS… @DIR" for
// a postfix command, "OP UNIT" for a systemd job.
type log struct{ events []string }

func (l *log) add(s string) { l.events = append(l.events, s) }

// fakeRunner records postfix commands and answers with scripted statuses.
type fakeRunner struct {
	log    *log
	cmds   []Command
	status map[string]int   // "ACTION DIR" → exit status
	errs   map[string]error // "ACTION DIR" → exec failure
}

func (f *fakeRunner) Run(ctx context.Context, c Command) (int, error) {
	f.cmds = append(f.cmds, c)
	dir := envValue(c.Env, "MAIL_CONFIG")
	f.log.add("run " + strings.Join(c.Args[1:], " ") + " @" + dir)
	key := c.Args[1] + " " + dir
	if err := f.errs[key]; err != nil {
		return 0, err
	}
	return f.status[key], nil
}

func envValue(env []string, name string) string {
	v := "<unset>"
	for _, kv := range env {
		if k, val, _ := strings.Cut(kv, "="); k == name {
			v = val
		}
	}
	return v
}

// testInstances is a default instance and three secondaries; "b" is
// disabled.
func testInstances() []instance.Instance {
	return resolved(
		instance.Instance{Default: true, Enabled: true, ConfigDir: "/etc/postfix", CommandDir: "/usr/sbin", Position: 0},
		instance.Instance{Name: "postfix-a", Group: "mta", Enabled: true, ConfigDir: "/etc/postfix-a", Position: 1},
		instance.Instance{Name: "postfix-b", Group: "mta", Enabled: false, ConfigDir: "/etc/postfix-b", Position: 2},
		instance.Instance{Name: "postfix-c", Enabled: true, ConfigDir: "/etc/postfix-c", Position: 3},
	)
}

// resolved returns insts, each with a queue and a data directory named
// after its config directory unless it has them, as instance.Resolve
// leaves them: Run needs to know which can run.
func resolved(insts ...instance.Instance) []instance.Instance {
	for i := range insts {
		base := filepath.Base(insts[i].ConfigDir)
		if insts[i].QueueDir == "" {
			insts[i].QueueDir = "/var/spool/" + base
		}
		if insts[i].DataDir == "" {
			insts[i].DataDir = "/var/lib/" + base
		}
	}
	instance.Resolve(insts, nil, unit.Classic)
	return insts
}

type fixture struct {
	log    *log
	runner *fakeRunner
	fake   *systemdfake.Fake
	stderr *bytes.Buffer
	stdout *bytes.Buffer
	opts   Options
}

// newFixture runs on a root of its own, where no master.pid is found
// unless the test puts one there: never the machine's own Postfix.
func newFixture(tb testing.TB, withSystemd bool) *fixture {
	return newFixtureAt(tb.TempDir(), withSystemd)
}

func newFixtureAt(root string, withSystemd bool) *fixture {
	l := &log{}
	fx := &fixture{
		log:    l,
		runner: &fakeRunner{log: l, status: map[string]int{}, errs: map[string]error{}},
		stderr: &bytes.Buffer{},
		stdout: &bytes.Buffer{},
	}
	fx.opts = Options{Runner: fx.runner, Stdout: fx.stdout, Stderr: fx.stderr, Env: []string{"PATH=/usr/bin:/bin", "MAIL_CONFIG=/elsewhere"},
		Root: root}
	if withSystemd {
		fx.fake = systemdfake.NewFake()
		fx.fake.OnJob = func(c systemdfake.Call) { l.add(c.Op + " " + c.Unit) }
		fx.opts.Systemd = fx.fake
	}
	return fx
}

// activate marks every test instance's unit active, as after a boot.
func (fx *fixture) activate(insts []instance.Instance) {
	for _, i := range insts {
		u := i.Spec.Unit
		fx.fake.Set(systemd.UnitStatus{Name: u, LoadState: "loaded", ActiveState: "active", SubState: "running"})
	}
}

func TestRunOrderAndSkipping(t *testing.T) {
	insts := testInstances()
	tests := []struct {
		action  string
		args    []string
		systemd bool
		active  bool // units start out active
		stopped bool // "postfix status" says not running (exit 1)
		want    []string
	}{
		// Upstream's behaviour (systemd not PID 1).
		{action: "start", want: []string{"run start @/etc/postfix", "run start @/etc/postfix-a", "run check @/etc/postfix-b", "run start @/etc/postfix-c"}},
		{action: "start", args: []string{"x"}, want: []string{"run start x @/etc/postfix", "run start x @/etc/postfix-a", "run check x @/etc/postfix-b", "run start x @/etc/postfix-c"}},
		{action: "stop", want: []string{"run stop @/etc/postfix-c", "run stop @/etc/postfix-a", "run stop @/etc/postfix"}},
		{action: "abort", want: []string{"run abort @/etc/postfix-c", "run abort @/etc/postfix-a", "run abort @/etc/postfix"}},
		{action: "drain", want: []string{"run drain @/etc/postfix-c", "run drain @/etc/postfix-a", "run drain @/etc/postfix"}},
		{action: "quick-stop", want: []string{"run quick-stop @/etc/postfix-c", "run quick-stop @/etc/postfix-a", "run quick-stop @/etc/postfix"}},
		{action: "reload", want: []string{"run reload @/etc/postfix", "run reload @/etc/postfix-a", "run reload @/etc/postfix-c"}},
		{action: "flush", want: []string{"run flush @/etc/postfix", "run flush @/etc/postfix-a", "run flush @/etc/postfix-c"}},
		{action: "status", want: []string{"run status @/etc/postfix", "run status @/etc/postfix-a", "run status @/etc/postfix-b", "run status @/etc/postfix-c"}},
		{action: "check", want: []string{"run check @/etc/postfix", "run check @/etc/postfix-a", "run check @/etc/postfix-b", "run check @/etc/postfix-c"}},
		{action: "set-permissions", args: []string{"mail_owner=postfix"}, want: []string{"run set-permissions mail_owner=postfix @/etc/postfix", "run set-permissions mail_owner=postfix @/etc/postfix-a", "run set-permissions mail_owner=postfix @/etc/postfix-b", "run set-permissions mail_owner=postfix @/etc/postfix-c"}},
		{action: "upgrade-configuration", want: []string{"run upgrade-configuration @/etc/postfix", "run upgrade-configuration @/etc/postfix-a", "run upgrade-configuration @/etc/postfix-b", "run upgrade-configuration @/etc/postfix-c"}},
		{action: "logrotate", want: []string{"run logrotate @/etc/postfix", "run logrotate @/etc/postfix-a", "run logrotate @/etc/postfix-b", "run logrotate @/etc/postfix-c"}},
		// Upstream has no "restart": postmulti passes it to every instance
		// and postfix-script rejects it; we keep that.
		{action: "restart", want: []string{"run restart @/etc/postfix", "run restart @/etc/postfix-a", "run restart @/etc/postfix-b", "run restart @/etc/postfix-c"}},

		// Through systemd.
		{action: "start", systemd: true, want: []string{"start postfix@-.service", "start postfix@postfix-a.service", "run check @/etc/postfix-b", "start postfix@postfix-c.service"}},
		{action: "stop", systemd: true, active: true, want: []string{"stop postfix@postfix-c.service", "stop postfix@postfix-a.service", "stop postfix@-.service"}},
		{action: "reload", systemd: true, active: true, want: []string{"reload postfix@-.service", "reload postfix@postfix-a.service", "reload postfix@postfix-c.service"}},
		{action: "status", systemd: true, active: false, stopped: true, want: []string{"run status @/etc/postfix", "run status @/etc/postfix-a", "run status @/etc/postfix-b", "run status @/etc/postfix-c"}},
		{action: "flush", systemd: true, want: []string{"run flush @/etc/postfix", "run flush @/etc/postfix-a", "run flush @/etc/postfix-c"}},
		{action: "abort", systemd: true, want: []string{"run abort @/etc/postfix-c", "run abort @/etc/postfix-a", "run abort @/etc/postfix"}},
		{action: "drain", systemd: true, want: []string{"run drain @/etc/postfix-c", "run drain @/etc/postfix-a", "run drain @/etc/postfix"}},
		{action: "check", systemd: true, want: []string{"run check @/etc/postfix", "run check @/etc/postfix-a", "run check @/etc/postfix-b", "run check @/etc/postfix-c"}},
		{action: "restart", systemd: true, want: []string{"run restart @/etc/postfix", "run restart @/etc/postfix-a", "run restart @/etc/postfix-b", "run restart @/etc/postfix-c"}},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s%v/systemd=%v", tt.action, tt.args, tt.systemd)
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, tt.systemd)
			if tt.active {
				fx.activate(insts)
			}
			wantCode := 0
			if tt.stopped {
				for _, i := range insts {
					fx.runner.status["status "+i.ConfigDir] = 1
				}
				wantCode = 1
			}
			code, err := Run(context.Background(), tt.action, tt.args, insts, fx.opts)
			if err != nil || code != wantCode {
				t.Fatalf("Run = %d, %v; want %d; stderr:\n%s", code, err, wantCode, fx.stderr)
			}
			if !slices.Equal(fx.log.events, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", fx.log.events, tt.want)
			}
			if fx.stderr.Len() != 0 {
				t.Errorf("unexpected messages:\n%s", fx.stderr)
			}
		})
	}
}

// TestRunMatrix visits every action with one instance at a time, enabled
// and disabled, with and without systemd, forwards and reversed, with and
// without a failure, and checks each outcome against upstream's rules as
// postmulti(1) and postfix-wrapper(5) state them.
func TestRunMatrix(t *testing.T) {
	actions := []string{"start", "stop", "reload", "status", "flush", "abort", "drain", "quick-stop",
		"check", "set-permissions", "upgrade-configuration", "logrotate", "restart"}
	stopLike := []string{"stop", "abort", "drain", "quick-stop"}
	needRunning := append([]string{"reload", "flush"}, stopLike...)
	viaSystemd := []string{"start", "stop", "reload"}
	for _, action := range actions {
		for _, enabled := range []bool{true, false} {
			for _, withSD := range []bool{false, true} {
				for _, fail := range []bool{false, true} {
					name := fmt.Sprintf("%s/enabled=%v/systemd=%v/fail=%v", action, enabled, withSD, fail)
					t.Run(name, func(t *testing.T) {
						inst := instance.Instance{Name: "postfix-x", Enabled: enabled, ConfigDir: "/etc/postfix-x"}
						unit := "postfix@postfix-x.service"
						fx := newFixture(t, withSD)
						if withSD {
							fx.activate(resolved(inst))
						}
						ranAction := action
						if action == "start" && !enabled {
							ranAction = "check"
						}
						jobOp := ""
						if withSD && slices.Contains(viaSystemd, ranAction) {
							jobOp = ranAction
						}
						if fail {
							if jobOp != "" {
								fx.fake.Script(jobOp, unit, "failed")
							} else {
								fx.runner.status[ranAction+" /etc/postfix-x"] = 1
							}
						}
						code, err := Run(context.Background(), action, nil, resolved(inst), fx.opts)

						if !enabled && slices.Contains(needRunning, action) {
							if !errors.Is(err, ErrNoMatchingInstances) || code != 1 || len(fx.log.events) != 0 {
								t.Fatalf("disabled instance: Run = %d, %v, events %q; want upstream's \"No matching instances\" and nothing run", code, err, fx.log.events)
							}
							return
						}
						if err != nil {
							t.Fatalf("Run: %v", err)
						}
						want := "run " + ranAction + " @/etc/postfix-x"
						if jobOp != "" {
							want = jobOp + " " + unit
						}
						if len(fx.log.events) != 1 || fx.log.events[0] != want {
							t.Errorf("events %q, want [%q]", fx.log.events, want)
						}
						if wantCode := map[bool]int{false: 0, true: 1}[fail]; code != wantCode {
							t.Errorf("exit code %d, want %d", code, wantCode)
						}
						if fail && jobOp != "" && !strings.Contains(fx.stderr.String(), "journalctl -u "+unit) {
							t.Errorf("job failure without a journalctl hint:\n%s", fx.stderr)
						}
					})
				}
			}
		}
	}
}

func TestReverse(t *testing.T) {
	insts := testInstances()
	for _, tt := range []struct {
		action string
		want   []string
	}{
		{"status", []string{"run status @/etc/postfix-c", "run status @/etc/postfix-b", "run status @/etc/postfix-a", "run status @/etc/postfix"}},
		{"stop", []string{"run stop @/etc/postfix", "run stop @/etc/postfix-a", "run stop @/etc/postfix-c"}},
	} {
		fx := newFixture(t, false)
		fx.opts.Reverse = true
		if code, err := Run(context.Background(), tt.action, nil, insts, fx.opts); code != 0 || err != nil {
			t.Fatalf("%s: Run = %d, %v", tt.action, code, err)
		}
		if !slices.Equal(fx.log.events, tt.want) {
			t.Errorf("%s reversed:\n got %q\nwant %q", tt.action, fx.log.events, tt.want)
		}
	}
}

func TestCommandAndEnvironment(t *testing.T) {
	insts := testInstances()
	fx := newFixture(t, false)
	fx.opts.Verbose = true
	fx.opts.LogTag = "postfix"
	if _, err := Run(context.Background(), "flush", nil, insts[:2], fx.opts); err != nil {
		t.Fatal(err)
	}
	if len(fx.runner.cmds) != 2 {
		t.Fatalf("ran %d commands, want 2", len(fx.runner.cmds))
	}
	c := fx.runner.cmds[1]
	if c.Path != "/usr/sbin/postfix" {
		t.Errorf("path %q, want the default instance's command_directory/postfix", c.Path)
	}
	if !slices.Equal(c.Args, []string{"--", "flush"}) {
		t.Errorf("args %q, want upstream's [-- flush]", c.Args)
	}
	// As strace shows the real postmulti -v -p doing: MAIL_LOGTAG (from
	// reading main.cf) and MAIL_VERBOSE (-v) in postmulti's own
	// environment, MAIL_CONFIG set in the child, each by setenv(3), which
	// replaces a variable where it stands.
	want := []string{"PATH=/usr/bin:/bin", "MAIL_CONFIG=/etc/postfix-a", "MAIL_LOGTAG=postfix", "MAIL_VERBOSE="}
	if !slices.Equal(c.Env, want) {
		t.Errorf("env %q, want %q", c.Env, want)
	}

	fx = newFixture(t, false)
	fx.opts.CommandDir = "/opt/postfix/sbin"
	if _, err := Run(context.Background(), "check", nil, insts[1:2], fx.opts); err != nil {
		t.Fatal(err)
	}
	if got := fx.runner.cmds[0].Path; got != "/opt/postfix/sbin/postfix" {
		t.Errorf("path %q with CommandDir set", got)
	}
}

func TestCustomCommandLists(t *testing.T) {
	insts := testInstances()
	fx := newFixture(t, false)
	// An admin who moved flush to the stop commands and left control empty.
	fx.opts.StopCommands = []string{"stop", "flush"}
	fx.opts.ControlCommands = []string{}
	if _, err := Run(context.Background(), "flush", nil, insts, fx.opts); err != nil {
		t.Fatal(err)
	}
	want := []string{"run flush @/etc/postfix-c", "run flush @/etc/postfix-a", "run flush @/etc/postfix"}
	if !slices.Equal(fx.log.events, want) {
		t.Errorf("flush as a stop command:\n got %q\nwant %q", fx.log.events, want)
	}
	fx = newFixture(t, false)
	fx.opts.ControlCommands = []string{}
	if _, err := Run(context.Background(), "reload", nil, insts, fx.opts); err != nil {
		t.Fatal(err)
	}
	if len(fx.log.events) != 4 {
		t.Errorf("reload outside every list must visit all 4 instances, got %q", fx.log.events)
	}
}

func TestFailuresContinue(t *testing.T) {
	insts := testInstances()

	t.Run("postfix", func(t *testing.T) {
		fx := newFixture(t, false)
		fx.runner.status["start /etc/postfix-a"] = 1
		fx.runner.errs["start /etc/postfix-c"] = errors.New("permission denied")
		code, err := Run(context.Background(), "start", nil, insts, fx.opts)
		if err != nil || code != 1 {
			t.Fatalf("Run = %d, %v; want 1, nil", code, err)
		}
		if len(fx.log.events) != 4 {
			t.Errorf("a failure must not stop the loop: %q", fx.log.events)
		}
		if got, want := fx.stderr.String(), "postmulti: fatal: execvp /usr/sbin/postfix: permission denied\n"; got != want {
			t.Errorf("stderr %q, want %q", got, want)
		}
	})

	t.Run("job", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.fake.Script(systemd.OpStart, "postfix@postfix-a.service", "failed")
		code, err := Run(context.Background(), "start", nil, insts, fx.opts)
		if err != nil || code != 1 {
			t.Fatalf("Run = %d, %v; want 1, nil", code, err)
		}
		want := []string{"start postfix@-.service", "start postfix@postfix-a.service", "run check @/etc/postfix-b", "start postfix@postfix-c.service"}
		if !slices.Equal(fx.log.events, want) {
			t.Errorf("events %q, want %q", fx.log.events, want)
		}
		msg := "postmulti: error: start postfix@postfix-a.service: job failed (the control process exited with an error); see \"journalctl -u postfix@postfix-a.service\" for details\n"
		if fx.stderr.String() != msg {
			t.Errorf("stderr %q, want %q", fx.stderr, msg)
		}
	})

	t.Run("bus", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.activate(insts)
		fx.fake.Fail(systemd.OpStop, "postfix@postfix-c.service", systemdfake.ErrFakeBus())
		code, err := Run(context.Background(), "stop", nil, insts, fx.opts)
		if err != nil || code != 1 {
			t.Fatalf("Run = %d, %v; want 1, nil", code, err)
		}
		if len(fx.log.events) != 3 || !strings.Contains(fx.stderr.String(), "stop postfix@postfix-c.service: org.freedesktop.DBus.Error.NoReply") {
			t.Errorf("events %q, stderr %q", fx.log.events, fx.stderr)
		}
	})

	t.Run("reload inactive", func(t *testing.T) {
		fx := newFixture(t, true) // every unit inactive: systemd says "invalid"
		code, err := Run(context.Background(), "reload", nil, insts[:1], fx.opts)
		if err != nil || code != 1 {
			t.Fatalf("Run = %d, %v; want 1, nil", code, err)
		}
		if !strings.Contains(fx.stderr.String(), "reload postfix@-.service: job invalid") {
			t.Errorf("stderr %q", fx.stderr)
		}
	})
}

func TestNoMatchingInstances(t *testing.T) {
	insts := testInstances()
	for _, action := range []string{"stop", "reload", "flush"} {
		fx := newFixture(t, true)
		code, err := Run(context.Background(), action, nil, insts[2:3], fx.opts)
		if code != 1 || !errors.Is(err, ErrNoMatchingInstances) || err.Error() != "No matching instances" {
			t.Errorf("%s on a disabled instance: %d, %v", action, code, err)
		}
		if len(fx.fake.Recorded()) != 0 || len(fx.runner.cmds) != 0 {
			t.Errorf("%s: something ran: %v %v", action, fx.fake.Recorded(), fx.runner.cmds)
		}
	}
	fx := newFixture(t, false)
	if code, err := Run(context.Background(), "status", nil, nil, fx.opts); code != 1 || !errors.Is(err, ErrNoMatchingInstances) {
		t.Errorf("empty selection: %d, %v", code, err)
	}
	if code, err := Run(context.Background(), "", nil, insts, fx.opts); code != 1 || err == nil {
		t.Errorf("empty action: %d, %v", code, err)
	}
}

func TestUnitNames(t *testing.T) {
	insts := resolved(
		instance.Instance{Enabled: true, ConfigDir: "/etc/postfix-nameless"},
		instance.Instance{Name: "bad name", Enabled: true, ConfigDir: "/etc/postfix-bad"},
		instance.Instance{Name: "postfix-ok", Enabled: true, ConfigDir: "/etc/postfix-ok"},
	)
	fx := newFixture(t, true)
	code, err := Run(context.Background(), "start", nil, insts, fx.opts)
	if err != nil || code != 1 {
		t.Fatalf("Run = %d, %v; want 1, nil", code, err)
	}
	want := []string{`start postfix@etc-postfix\x2dnameless.service`, "start postfix@postfix-ok.service"}
	if !slices.Equal(fx.log.events, want) {
		t.Errorf("events %q, want %q", fx.log.events, want)
	}
	if !strings.Contains(fx.stderr.String(), `postmulti: error: start: skipping instance bad name, which has no systemd unit: /etc/postfix-bad/main.cf: instance name "bad name" contains ' ', which a systemd unit name cannot carry`) {
		t.Errorf("stderr %q", fx.stderr)
	}
}

func TestCancel(t *testing.T) {
	insts := testInstances()
	fx := newFixture(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fx.fake.OnJob = func(c systemdfake.Call) {
		fx.log.add(c.Op + " " + c.Unit)
		if c.Unit == "postfix@postfix-a.service" {
			cancel()
		}
	}
	code, err := Run(ctx, "start", nil, insts, fx.opts)
	if code != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %d, %v; want 1 and context.Canceled", code, err)
	}
	if len(fx.log.events) != 2 {
		t.Errorf("ran on after cancel: %q", fx.log.events)
	}
}

// lockedPIDFile makes queueDir look like a running master's: master.pid
// with pid, locked with flock as master(8) keeps it. The lock lasts until
// the test ends.
func lockedPIDFile(t *testing.T, queueDir string, pid int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(queueDir, "pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := pidFile(queueDir)
	if err := os.WriteFile(p, []byte(fmt.Sprintf("%*d\n", 32, pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}

func TestMasterRunning(t *testing.T) {
	q := t.TempDir()
	if _, running := masterRunning(q); running {
		t.Fatal("no pid file: running")
	}
	if err := os.MkdirAll(filepath.Join(q, "pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidFile(q), []byte("  4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, running := masterRunning(q); running {
		t.Fatal("stale, unlocked pid file: running")
	}
	if readPID(q) != 4242 {
		t.Errorf("readPID = %d", readPID(q))
	}
	lockedPIDFile(t, q, 4343)
	if pid, running := masterRunning(q); !running || pid != 4343 {
		t.Errorf("locked pid file: %d, %v", pid, running)
	}
}

// TestRootPIDFile: with Options.Root, an instance's master.pid is read
// below Root (postmulti's tests, beside the machine's own Postfix), and a
// master of the same queue directory outside Root is none of Run's business.
func TestRootPIDFile(t *testing.T) {
	root, other := t.TempDir(), t.TempDir()
	inst := instance.Instance{Name: "postfix-out", Enabled: true, ConfigDir: "/etc/postfix-out", QueueDir: "/var/spool/postfix-out"}
	lockedPIDFile(t, filepath.Join(other, inst.QueueDir), 888)
	fx := newFixtureAt(root, true)
	if code, err := Run(context.Background(), "start", nil, resolved(inst), fx.opts); code != 0 || err != nil {
		t.Fatalf("Run = %d, %v; stderr %s", code, err, fx.stderr)
	}
	lockedPIDFile(t, filepath.Join(root, inst.QueueDir), 777)
	fx = newFixtureAt(root, true)
	if code, err := Run(context.Background(), "start", nil, resolved(inst), fx.opts); code != 1 || err != nil {
		t.Fatalf("Run = %d, %v; want 1", code, err)
	}
	if !strings.Contains(fx.stderr.String(), "a Postfix master (PID 777) already runs for /etc/postfix-out") {
		t.Errorf("stderr %q names no master below the root", fx.stderr)
	}
}

func TestMasterOutsideSystemd(t *testing.T) {
	q := t.TempDir()
	inst := instance.Instance{Name: "postfix-out", Enabled: true, ConfigDir: "/etc/postfix-out", QueueDir: q}
	lockedPIDFile(t, q, 777)
	unit := "postfix@postfix-out.service"
	status := systemdfake.Call{Op: systemdfake.OpStatus, Unit: unit}

	t.Run("stop", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.opts.Root = "" // the queue directory is a temporary directory of the host
		code, err := Run(context.Background(), "stop", nil, resolved(inst), fx.opts)
		if code != 0 || err != nil {
			t.Fatalf("Run = %d, %v", code, err)
		}
		want := []string{"run stop @/etc/postfix-out", "stop " + unit}
		if !slices.Equal(fx.log.events, want) {
			t.Errorf("events %q, want %q", fx.log.events, want)
		}
		if got := fx.fake.Recorded(); got[0] != status {
			t.Errorf("systemd not asked first: %v", got)
		}
		if want := "postmulti: warning: postfix@postfix-out.service is not active, but a Postfix master (PID 777) runs for /etc/postfix-out outside systemd's control; stopping it with \"postfix stop\"\n"; fx.stderr.String() != want {
			t.Errorf("stderr %q, want %q", fx.stderr, want)
		}
	})
	t.Run("stop fails", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.opts.Root = "" // the queue directory is a temporary directory of the host
		fx.runner.status["stop /etc/postfix-out"] = 1
		if code, err := Run(context.Background(), "stop", nil, resolved(inst), fx.opts); code != 1 || err != nil {
			t.Fatalf("Run = %d, %v; want 1", code, err)
		}
	})
	t.Run("reload", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.opts.Root = "" // the queue directory is a temporary directory of the host
		code, err := Run(context.Background(), "reload", nil, resolved(inst), fx.opts)
		if code != 0 || err != nil {
			t.Fatalf("Run = %d, %v; stderr %s", code, err, fx.stderr)
		}
		want := []string{"run reload @/etc/postfix-out"}
		if !slices.Equal(fx.log.events, want) {
			t.Errorf("events %q, want %q", fx.log.events, want)
		}
	})
	t.Run("start", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.opts.Root = "" // the queue directory is a temporary directory of the host
		code, err := Run(context.Background(), "start", nil, resolved(inst), fx.opts)
		if code != 1 || err != nil {
			t.Fatalf("Run = %d, %v", code, err)
		}
		if len(fx.log.events) != 0 {
			t.Errorf("a job or command ran: %q", fx.log.events)
		}
		want := "postmulti: error: not starting postfix@postfix-out.service: a Postfix master (PID 777) already runs for /etc/postfix-out outside systemd's control; stop it with \"postfix -c /etc/postfix-out stop\", then start again\n"
		if fx.stderr.String() != want {
			t.Errorf("stderr %q, want %q", fx.stderr, want)
		}
	})
	// The same master, tracked by an active unit, is systemd's: plain jobs.
	for _, action := range []string{"start", "stop", "reload"} {
		t.Run(action+" tracked", func(t *testing.T) {
			fx := newFixture(t, true)
			fx.opts.Root = "" // the queue directory is a temporary directory of the host
			fx.fake.Set(systemd.UnitStatus{Name: unit, LoadState: "loaded", ActiveState: "active", SubState: "running", MainPID: 777})
			code, err := Run(context.Background(), action, nil, resolved(inst), fx.opts)
			if code != 0 || err != nil || fx.stderr.Len() != 0 {
				t.Fatalf("Run = %d, %v, %q", code, err, fx.stderr)
			}
			if want := []string{action + " " + unit}; !slices.Equal(fx.log.events, want) {
				t.Errorf("events %q, want %q", fx.log.events, want)
			}
		})
	}
	t.Run("status unreadable", func(t *testing.T) {
		fx := newFixture(t, true)
		fx.opts.Root = "" // the queue directory is a temporary directory of the host
		fx.fake.Fail(systemdfake.OpStatus, unit, systemdfake.ErrFakeBus())
		code, err := Run(context.Background(), "start", nil, resolved(inst), fx.opts)
		if code != 0 || err != nil {
			t.Fatalf("Run = %d, %v", code, err)
		}
		if !strings.Contains(fx.stderr.String(), "postmulti: warning: read properties of postfix@postfix-out.service:") {
			t.Errorf("stderr %q", fx.stderr)
		}
	})
}

func TestStatusDisagreements(t *testing.T) {
	running := t.TempDir()
	lockedPIDFile(t, running, 500)
	stopped := t.TempDir()
	unit := "postfix@postfix-s.service"
	tests := []struct {
		name     string
		queueDir string
		status   int // postfix status exit code
		unit     systemd.UnitStatus
		want     string // "" for no warning
	}{
		{"agree running", running, 0, systemd.UnitStatus{LoadState: "loaded", ActiveState: "active", SubState: "running", MainPID: 500}, ""},
		{"agree stopped", stopped, 1, systemd.UnitStatus{LoadState: "loaded", ActiveState: "inactive", SubState: "dead"}, ""},
		{"outside", running, 0, systemd.UnitStatus{LoadState: "loaded", ActiveState: "inactive", SubState: "dead"},
			"postmulti: warning: postfix@postfix-s.service is inactive (dead), but the Postfix master of /etc/postfix-s (PID 500) runs outside systemd's control\n"},
		{"failed unit", running, 0, systemd.UnitStatus{LoadState: "loaded", ActiveState: "failed", SubState: "failed"},
			"postmulti: warning: postfix@postfix-s.service is failed (failed), but the Postfix master of /etc/postfix-s (PID 500) runs outside systemd's control\n"},
		{"untracked", running, 0, systemd.UnitStatus{LoadState: "loaded", ActiveState: "active", SubState: "exited"},
			"postmulti: warning: postfix@postfix-s.service is active (exited), but systemd does not track the Postfix master (PID 500) as its main process\n"},
		{"other pid", running, 0, systemd.UnitStatus{LoadState: "loaded", ActiveState: "active", SubState: "running", MainPID: 501},
			"postmulti: warning: postfix@postfix-s.service is active (running) with main PID 501, but the Postfix master of /etc/postfix-s has PID 500\n"},
		{"no master", stopped, 1, systemd.UnitStatus{LoadState: "loaded", ActiveState: "active", SubState: "running", MainPID: 9},
			"postmulti: warning: postfix@postfix-s.service is active (running), but no Postfix master runs for /etc/postfix-s\n"},
		{"failed unit, no master", stopped, 1, systemd.UnitStatus{LoadState: "loaded", ActiveState: "failed", SubState: "failed", Result: "exit-code"},
			"postmulti: warning: postfix@postfix-s.service failed (result exit-code); see \"journalctl -u postfix@postfix-s.service\"\n"},
		// SourcePath= (the instance's main.cf) changes with every "postconf -e":
		// not a disagreement about the master, so status keeps upstream's words.
		{"stale unit file", stopped, 1, systemd.UnitStatus{LoadState: "loaded", ActiveState: "inactive", SubState: "dead", NeedDaemonReload: true}, ""},
		{"restart loop", stopped, 1, systemd.UnitStatus{LoadState: "loaded", ActiveState: "activating", SubState: "auto-restart", Result: "exit-code"},
			"postmulti: warning: postfix@postfix-s.service is waiting to restart after a failure (result exit-code); see \"journalctl -u postfix@postfix-s.service\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := instance.Instance{Name: "postfix-s", Enabled: true, ConfigDir: "/etc/postfix-s", QueueDir: tt.queueDir}
			fx := newFixture(t, true)
			fx.opts.Root = "" // the queue directory is a temporary directory of the host
			tt.unit.Name = unit
			fx.fake.Set(tt.unit)
			fx.runner.status["status /etc/postfix-s"] = tt.status
			code, err := Run(context.Background(), "status", nil, resolved(inst), fx.opts)
			if err != nil || code != tt.status {
				t.Fatalf("Run = %d, %v; want upstream's %d", code, err, tt.status)
			}
			if got := fx.stderr.String(); got != tt.want {
				t.Errorf("stderr\n got %q\nwant %q", got, tt.want)
			}
			if calls := fx.fake.Recorded(); len(calls) != 1 || calls[0] != (systemdfake.Call{Op: systemdfake.OpStatus, Unit: unit}) {
				t.Errorf("systemd calls %v", calls)
			}
		})
	}
}

func TestInstanceUnitInCgroup(t *testing.T) {
	for in, want := range map[string]string{
		"0::/system.slice/system-postfix.slice/postfix@postfix-out.service\n": "postfix@postfix-out.service",
		"0::/system.slice/system-postfix.slice/postfix@-.service/x\n":         "postfix@-.service",
		"0::/user.slice/user-0.slice/session-1.scope\n":                       "",
		"12:pids:/system.slice/postfix.service\n0::/init.scope\n":             "",
	} {
		got, ok := instanceUnitInCgroup(in)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestExecRunner(t *testing.T) {
	dir := t.TempDir()
	out := &bytes.Buffer{}
	// /bin/sh here is the test's own program, not a way to run names.
	code, err := ExecRunner{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c", `echo "$MAIL_CONFIG"; exit 3`}, Env: []string{"MAIL_CONFIG=/etc/postfix-z"}, Stdout: out})
	if err != nil || code != 3 || out.String() != "/etc/postfix-z\n" {
		t.Errorf("Run = %d, %v, %q", code, err, out)
	}
	code, err = ExecRunner{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c", "kill -TERM $$"}})
	if err != nil || code != 1 {
		t.Errorf("signalled: %d, %v; want 1 as upstream", code, err)
	}
	if _, err := (ExecRunner{}).Run(context.Background(), Command{Path: filepath.Join(dir, "nosuch")}); err == nil {
		t.Error("missing program: no error")
	}
	// A name twice in the environment: the command sees the first value,
	// the one getenv(3) finds (os/exec alone would pass the last).
	var seen bytes.Buffer
	code, err = ExecRunner{}.Run(context.Background(), Command{Path: "/bin/sh", Args: []string{"-c", "echo $A"},
		Env: []string{"A=first", "A=second"}, Stdout: &seen})
	if err != nil || code != 0 || seen.String() != "first\n" {
		t.Errorf("duplicate variable: %d, %v, the command saw %q; want \"first\"", code, err, seen.String())
	}
}

func TestVerboseJobs(t *testing.T) {
	fx := newFixture(t, true)
	fx.opts.Verbose = true
	if code, err := Run(context.Background(), "start", nil, testInstances()[:2], fx.opts); code != 0 || err != nil {
		t.Fatalf("Run = %d, %v", code, err)
	}
	lines := strings.Split(strings.TrimSpace(fx.stderr.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "postmulti: start postfix@-.service: job done in ") ||
		!strings.HasPrefix(lines[1], "postmulti: start postfix@postfix-a.service: job done in ") {
		t.Errorf("verbose lines %q", lines)
	}
}

// BenchmarkRun measures Run's own cost per instance (fake systemd, fake
// postfix): selection, ordering, unit names, one job each.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		insts := []instance.Instance{{Default: true, Enabled: true, ConfigDir: "/etc/postfix"}}
		for i := 1; i < n; i++ {
			insts = append(insts, instance.Instance{Name: fmt.Sprintf("postfix-%d", i), Enabled: i%3 != 0, ConfigDir: fmt.Sprintf("/etc/postfix-%d", i)})
		}
		insts = resolved(insts...)
		for _, action := range []string{"start", "stop", "flush"} {
			b.Run(fmt.Sprintf("%s/N=%d", action, n), func(b *testing.B) {
				root := b.TempDir()
				for b.Loop() {
					fx := newFixtureAt(root, true)
					fx.fake.OnJob = nil
					if _, err := Run(context.Background(), action, nil, insts, fx.opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestStartReloadsStaleUnits: before starting units, systemd re-runs the
// generator once when an enabled instance's unit lacks its generated
// drop-in (added to multi_instance_directories by hand) or is older than
// its main.cf; otherwise nothing is reloaded.
func TestStartReloadsStaleUnits(t *testing.T) {
	dropIn := func(u string) []string { return []string{"/run/systemd/generator/" + u + ".d/50-instance.conf"} }
	tests := []struct {
		name       string
		unit       systemd.UnitStatus
		wantReload bool
	}{
		{"up to date", systemd.UnitStatus{LoadState: "loaded", ActiveState: "inactive", FragmentPath: "/lib/systemd/system/postfix@.service", DropInPaths: dropIn("postfix@postfix-a.service")}, false},
		{"no drop-in", systemd.UnitStatus{LoadState: "loaded", ActiveState: "inactive", FragmentPath: "/lib/systemd/system/postfix@.service"}, true},
		{"other drop-in only", systemd.UnitStatus{LoadState: "loaded", ActiveState: "inactive", FragmentPath: "/lib/systemd/system/postfix@.service", DropInPaths: []string{"/etc/systemd/system/postfix@postfix-a.service.d/override.conf"}}, true},
		{"changed on disk", systemd.UnitStatus{LoadState: "loaded", ActiveState: "inactive", FragmentPath: "/lib/systemd/system/postfix@.service", DropInPaths: dropIn("postfix@postfix-a.service"), NeedDaemonReload: true}, true},
		{"not found", systemd.UnitStatus{LoadState: "not-found", ActiveState: "inactive"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, true)
			fx.opts.Root = "" // the queue directory is a temporary directory of the host
			inst := instance.Instance{Name: "postfix-a", Enabled: true, ConfigDir: "/etc/postfix-a", QueueDir: t.TempDir()}
			tt.unit.Name = "postfix@postfix-a.service"
			fx.fake.Set(tt.unit)
			if _, err := Run(context.Background(), "start", nil, resolved(inst), fx.opts); err != nil {
				t.Fatal(err)
			}
			reloads := 0
			for _, c := range fx.fake.Calls {
				if c.Op == systemdfake.OpDaemonReload {
					reloads++
				}
			}
			if want := map[bool]int{false: 0, true: 1}[tt.wantReload]; reloads != want {
				t.Errorf("daemon-reloads = %d, want %d (calls %v)", reloads, want, fx.fake.Calls)
			}
		})
	}
}

// TestNeverStartsWithoutDropIn: a unit that systemd knows without its
// generated drop-in, even after the daemon-reload that re-runs the
// generator, is not started (systemd would run the bare template with an
// empty MAIL_CONFIG); the others are.
func TestNeverStartsWithoutDropIn(t *testing.T) {
	fx := newFixture(t, true)
	insts := testInstances()
	bare := systemd.UnitStatus{Name: "postfix@postfix-a.service", LoadState: "loaded", ActiveState: "inactive", FragmentPath: "/lib/systemd/system/postfix@.service"}
	fx.fake.Set(bare)
	code, err := Run(context.Background(), "start", nil, insts, fx.opts)
	if code != 1 || err != nil {
		t.Errorf("Run = %d, %v; want 1, nil", code, err)
	}
	want := []string{"start postfix@-.service", "run check @/etc/postfix-b", "start postfix@postfix-c.service"}
	if !slices.Equal(fx.log.events, want) {
		t.Errorf("events %q, want %q", fx.log.events, want)
	}
	if got, want := fx.stderr.String(), `postmulti: error: not starting postfix@postfix-a.service: systemd has no generated drop-in 50-instance.conf for it, even after a daemon-reload; see "journalctl -b -t postfix-instance-generator"`+"\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestSkippedWithoutSystemd: without systemd (upstream's loop), start, stop
// and reload never act on an instance the generator skipped, as with
// systemd, and say why; status runs "postfix status" on it, as upstream,
// and names the reason; other commands run as upstream.
func TestSkippedWithoutSystemd(t *testing.T) {
	const reason = `/etc/postfix-bad/main.cf: instance name "bad name" contains ' ', which a systemd unit name cannot carry`
	for _, tc := range []struct {
		action string
		want   []string
		code   int
		stderr string
	}{
		{"start", []string{"run start @/etc/postfix-ok"}, 1, "postmulti: error: start: skipping instance bad name, which has no systemd unit: " + reason + "\n"},
		{"stop", []string{"run stop @/etc/postfix-ok"}, 1, "postmulti: error: stop: skipping instance bad name, which has no systemd unit: " + reason + "\n"},
		{"reload", []string{"run reload @/etc/postfix-ok"}, 1, "postmulti: error: reload: skipping instance bad name, which has no systemd unit: " + reason + "\n"},
		{"status", []string{"run status @/etc/postfix-bad", "run status @/etc/postfix-ok"}, 0, "postmulti: warning: instance bad name has no systemd unit: " + reason + "\n"},
		{"check", []string{"run check @/etc/postfix-bad", "run check @/etc/postfix-ok"}, 0, ""},
	} {
		insts := resolved(
			instance.Instance{Name: "bad name", Enabled: true, ConfigDir: "/etc/postfix-bad"},
			instance.Instance{Name: "postfix-ok", Enabled: true, ConfigDir: "/etc/postfix-ok"},
		)
		fx := newFixture(t, false)
		code, err := Run(context.Background(), tc.action, nil, insts, fx.opts)
		if err != nil || code != tc.code {
			t.Errorf("%s: Run = %d, %v; want %d, nil", tc.action, code, err, tc.code)
		}
		want := tc.want
		if tc.action == "stop" {
			slices.Reverse(want)
		}
		if !slices.Equal(fx.log.events, want) {
			t.Errorf("%s: events %q, want %q", tc.action, fx.log.events, want)
		}
		if fx.stderr.String() != tc.stderr {
			t.Errorf("%s: stderr %q, want %q", tc.action, fx.stderr, tc.stderr)
		}
	}
}
