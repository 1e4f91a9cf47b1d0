package pfinstances

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/systemd"
	"github.com/postfix-systemd/postfix-instances/internal/systemd/systemdfake"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/* from the output")

// since is the ActiveEnterTimestamp the fake systemd reports.
var since = time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)

// run runs the command with args against root and a fake systemd (nil:
// systemd is not PID 1), and returns stdout, stderr and the exit status.
func run(t *testing.T, root string, sd *systemdfake.Fake, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{
		Stdout: &stdout, Stderr: &stderr, Root: root,
		Booted:   func() bool { return sd != nil },
		Location: time.UTC,
		Alive:    func(pid int) bool { return pid == masterPID },
		Connect: func(context.Context) (systemd.Manager, error) {
			if sd == nil {
				t.Fatal("connect to systemd when it is not PID 1")
			}
			return sd, nil
		},
	}
	code := Run(context.Background(), env, args)
	return stdout.String(), stderr.String(), code
}

// golden compares got with testdata/golden/name, with root replaced by
// $ROOT; -update rewrites the file.
func golden(t *testing.T, name, root, got string) {
	t.Helper()
	if root != "" {
		got = strings.ReplaceAll(got, root, "$ROOT")
	}
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

// queueTree copies testdata/queues/root into a temporary directory and
// adds every instance's empty queue directories (git keeps no empty
// directory).
func queueTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(root, os.DirFS("testdata/queues/root")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"postfix", "postfix-out", "postfix-in", "postfix-test"} {
		for _, d := range append(queueNames, "pid") {
			if err := os.MkdirAll(filepath.Join(root, "var/spool", q, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// masterPID is the PID lockPID writes; the test's Alive says it exists.
const masterPID = 4242

// lockPID writes masterPID into the instance's master.pid, as Postfix
// does (right-aligned in 10 columns), and holds an exclusive lock on it,
// as a running master does, until the test ends.
func lockPID(t *testing.T, root, queueDir string) {
	t.Helper()
	p := filepath.Join(root, queueDir, "pid/master.pid")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(fmt.Sprintf("%10d\n", masterPID)); err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description: readMaster's own
	// open finds the file locked.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}

// healthy is a fake systemd in which the walk-through's enabled
// instances run.
func healthy() *systemdfake.Fake {
	f := systemdfake.NewFake()
	for i, u := range []string{"postfix@-.service", "postfix@postfix-out.service", "postfix@postfix-in.service"} {
		f.Set(systemd.UnitStatus{
			Name: u, LoadState: "loaded", ActiveState: "active", SubState: "running",
			FragmentPath: "/usr/lib/systemd/system/postfix@.service",
			DropInPaths:  []string{"/run/systemd/generator/" + u + ".d/50-instance.conf"},
			MainPID:      uint32(301 + 100*i), ExecMainPID: uint32(300 + 100*i), Result: "success",
			ActiveEnterTimestamp: since.Add(time.Duration(i) * time.Second),
		})
	}
	f.Set(systemd.UnitStatus{Name: "postfix@postfix-test.service", LoadState: "loaded", ActiveState: "inactive", SubState: "dead",
		DropInPaths: []string{"/run/systemd/generator/postfix@postfix-test.service.d/50-instance.conf"}, Result: "success"})
	return f
}

// change modifies one unit of a fake.
func change(f *systemdfake.Fake, unit string, fn func(*systemd.UnitStatus)) *systemdfake.Fake {
	s := f.Units[unit]
	fn(&s)
	f.Set(s)
	return f
}

func TestStatusGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sd    func() *systemdfake.Fake
		args  []string
		code  int
		pids  []string // queue directories whose master.pid the test locks
		stale []string // queue directories with a master.pid nobody locks
	}{
		{name: "healthy", sd: healthy, code: 0},
		{name: "healthy-group", sd: healthy, args: []string{"-g", "mta"}, code: 0},
		{name: "healthy-instance", sd: healthy, args: []string{"-i", "in"}, code: 0},
		{name: "restarted", code: 1, sd: func() *systemdfake.Fake {
			return change(healthy(), "postfix@postfix-out.service", func(s *systemd.UnitStatus) { s.NRestarts, s.MainPID = 1, 999 })
		}},
		{name: "auto-restart", code: 2, sd: func() *systemdfake.Fake {
			return change(healthy(), "postfix@postfix-out.service", func(s *systemd.UnitStatus) {
				s.ActiveState, s.SubState, s.MainPID, s.Result, s.NRestarts = "activating", "auto-restart", 0, "signal", 3
			})
		}},
		{name: "stale", code: 1, sd: func() *systemdfake.Fake {
			f := change(healthy(), "postfix@postfix-in.service", func(s *systemd.UnitStatus) { s.NeedDaemonReload = true })
			return change(f, "postfix@postfix-test.service", func(s *systemd.UnitStatus) { s.DropInPaths = nil })
		}},
		{name: "down", code: 2, sd: func() *systemdfake.Fake {
			return change(healthy(), "postfix@postfix-in.service", func(s *systemd.UnitStatus) {
				s.ActiveState, s.SubState, s.MainPID = "inactive", "dead", 0
			})
		}},
		{name: "failed", code: 2, sd: func() *systemdfake.Fake {
			return change(healthy(), "postfix@-.service", func(s *systemd.UnitStatus) {
				s.ActiveState, s.SubState, s.MainPID, s.Result = "failed", "failed", 0, "exit-code"
			})
		}},
		{name: "not-found", code: 2, sd: func() *systemdfake.Fake {
			return change(healthy(), "postfix@postfix-in.service", func(s *systemd.UnitStatus) {
				*s = systemd.UnitStatus{Name: s.Name, LoadState: "not-found", ActiveState: "inactive", SubState: "dead"}
			})
		}},
		{name: "no-systemd", code: 2, pids: []string{"var/spool/postfix", "var/spool/postfix-out"}},
		{name: "no-systemd-stale", code: 2, pids: []string{"var/spool/postfix", "var/spool/postfix-out"}, stale: []string{"var/spool/postfix-in"}},
		{name: "no-systemd-up", code: 0, pids: []string{"var/spool/postfix", "var/spool/postfix-out", "var/spool/postfix-in"}},
		{name: "outside", code: 1, pids: []string{"var/spool/postfix-test"}, sd: healthy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := queueTree(t)
			for _, q := range tc.pids {
				lockPID(t, root, q)
			}
			for _, q := range tc.stale {
				// A master killed with SIGKILL leaves its PID file.
				if err := os.WriteFile(filepath.Join(root, q, "pid/master.pid"), []byte(fmt.Sprintf("%10d\n", masterPID+1)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, js := range []bool{false, true} {
				var sd *systemdfake.Fake
				if tc.sd != nil {
					sd = tc.sd()
				}
				args := append([]string{"status"}, tc.args...)
				ext := ".txt"
				if js {
					args, ext = append(args, "--json"), ".json"
				}
				out, errOut, code := run(t, root, sd, args...)
				if code != tc.code || errOut != "" {
					t.Errorf("%q: exit %d, stderr %q; want exit %d, no stderr", args, code, errOut, tc.code)
				}
				if js {
					var doc statusJSON
					if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.ExitStatus != tc.code {
						t.Errorf("status --json: %v, exit_status %d, want %d", err, doc.ExitStatus, tc.code)
					}
				}
				golden(t, "status-"+tc.name+ext, root, out)
				if sd != nil {
					// One call for all units.
					calls := sd.Recorded()
					if len(calls) != 2 || calls[0].Op != systemdfake.OpStatuses || calls[1].Op != systemdfake.OpClose {
						t.Errorf("systemd calls %v, want one %s and a close", calls, systemdfake.OpStatuses)
					}
				}
			}
		})
	}
}

// TestStatusForeignRoot checks that --root never asks systemd, even when
// it is PID 1.
func TestStatusForeignRoot(t *testing.T) {
	root := queueTree(t)
	sd := healthy()
	out, _, code := run(t, "/", sd, "--root", root, "status")
	if code != 2 || !strings.Contains(out, "(--root): systemd not asked") {
		t.Errorf("status --root: exit %d, output:\n%s", code, out)
	}
	if calls := sd.Recorded(); len(calls) != 0 {
		t.Errorf("status --root asked systemd: %v", calls)
	}
}

// TestSkipped runs status and list on the generator's golden trees with
// instances that cannot run: they are listed with their reason and make
// status exit 1 (or 2, as nothing runs there).
func TestGeneratorTrees(t *testing.T) {
	trees, err := filepath.Glob("../../generator/testdata/*/root")
	if err != nil || len(trees) == 0 {
		t.Fatalf("no generator trees: %v", err)
	}
	for _, tree := range trees {
		name := filepath.Base(filepath.Dir(tree))
		t.Run(name, func(t *testing.T) {
			root, err := filepath.Abs(tree)
			if err != nil {
				t.Fatal(err)
			}
			for _, js := range []bool{false, true} {
				args, ext := []string{"list"}, ".txt"
				if js {
					args, ext = append(args, "--json"), ".json"
				}
				out, errOut, code := run(t, root, nil, args...)
				if code != 0 || errOut != "" {
					t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
				}
				golden(t, "list-"+name+ext, root, out)
			}
			// Without a queue or a master anywhere, every enabled
			// instance is down.
			out, _, code := run(t, root, nil, "status")
			if code != 2 {
				t.Errorf("status: exit %d, want 2\n%s", code, out)
			}
			golden(t, "status-tree-"+name+".txt", root, out)
		})
	}
}

func TestUsage(t *testing.T) {
	root := queueTree(t)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"status", "-i", "nosuch"}, "no instance matches -i nosuch"},
		{[]string{"status", "-g", "nosuch"}, "no instance is in group nosuch"},
		{[]string{"status", "-i", "in", "-g", "mta"}, "if any flags in the group [instance group] are set none of the others can be"},
		{[]string{"status", "extra"}, `unknown command "extra"`},
		{[]string{"list", "--nosuch"}, "unknown flag: --nosuch"},
		{[]string{"nosuch"}, `unknown command "nosuch"`},
		{[]string{"--config-directory", "etc/postfix", "list"}, "is not an absolute path"},
		{[]string{"--config-directory", "/nonexistent", "list"}, "read the Postfix instances in /nonexistent"},
	} {
		out, errOut, code := run(t, root, healthy(), tc.args...)
		if code != ExitUnknown || out != "" || !strings.Contains(errOut, tc.err) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 3 and %q", tc.args, code, out, errOut, tc.err)
		}
	}
}

// TestQueueCount checks countQueues against a tree with hashed
// subdirectories, and its error for a missing queue.
func TestQueueCount(t *testing.T) {
	root := queueTree(t)
	q, err := countQueues(root, "/var/spool/postfix-out")
	if err != nil || *q != (queueCounts{Deferred: 3, Hold: 1}) {
		t.Errorf("countQueues(postfix-out) = %+v, %v", q, err)
	}
	_, err = countQueues(root, "/var/spool/nosuch")
	if err == nil || !strings.Contains(err.Error(), "/var/spool/nosuch/incoming") || strings.Contains(err.Error(), root) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("countQueues(nosuch) error %v", err)
	}
}
