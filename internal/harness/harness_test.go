package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	CleanupBuilds()
	os.Exit(code)
}

// TestContainer boots the harness overlay, proves commands reach the
// container without a shell, files staged before boot and written after
// it land inside, state survives a reboot, and teardown leaves nothing.
func TestContainer(t *testing.T) {
	Require(t)
	c := Boot(t, Options{Files: []File{
		{Path: "/etc/pfi-staged", Data: []byte("before boot\n")},
		{Path: "/usr/local/lib/pfi/deep/file", Data: []byte("x"), Mode: 0o600},
	}})

	if got := c.Run("cat", "/etc/pfi-staged"); got != "before boot\n" {
		t.Errorf("staged file = %q", got)
	}
	if got := c.Run("stat", "-c", "%a %U", "/usr/local/lib/pfi/deep/file", "/usr/local/lib", "/usr/local/lib/pfi"); got != "600 root\n755 root\n755 root\n" {
		t.Errorf("staged modes = %q", got)
	}
	// No shell in between: metacharacters arrive verbatim.
	arg := `$(touch /tmp/pwned); "q" 'x' * ;|&`
	if got := c.Run("printf", "%s", arg); got != arg {
		t.Errorf("printf %q printed %q", arg, got)
	}
	if _, err := c.Exec("test", "-e", "/tmp/pwned"); err == nil {
		t.Errorf("an argument was interpreted by a shell")
	}
	var ee *ExitError
	if _, err := c.Exec("sh", "-c", "exit 7"); !errors.As(err, &ee) || ee.ExitCode != 7 {
		t.Errorf("exit code: err = %v, want ExitError 7", err)
	}
	if got := c.Bash(`printf '%s|%s' "$1" "$2"`, "a b", "c"); got != "a b|c" {
		t.Errorf("Bash args = %q", got)
	}
	// The container is the container: its own PID 1, hostname and root.
	if got := strings.TrimSpace(c.Run("hostname")); got != "pfi-test" {
		t.Errorf("hostname inside = %q, want pfi-test (from the tree's /etc/hostname)", got)
	}
	if got := strings.TrimSpace(c.Run("cat", "/proc/1/comm")); got != "systemd" {
		t.Errorf("PID 1 inside is %q", got)
	}
	if got := strings.TrimSpace(c.Run("postconf", "-h", "myhostname")); got != "pfi-test.localdomain" {
		t.Errorf("myhostname = %q: the baseline main.cf is not in place", got)
	}

	c.WriteFile("/etc/pfi-written", []byte("after boot\n"), 0o640)
	if got := c.Run("stat", "-c", "%a", "/etc/pfi-written"); got != "640\n" {
		t.Errorf("written mode = %q", got)
	}
	firstPID1 := c.PID1()
	c.Reboot()
	if c.PID1() == firstPID1 {
		t.Errorf("PID 1 unchanged across reboot")
	}
	if got := c.Run("cat", "/etc/pfi-written", "/etc/pfi-staged"); got != "after boot\nbefore boot\n" {
		t.Errorf("after reboot the files read %q", got)
	}
	if got := c.Run("journalctl", "--list-boots", "--no-pager"); got == "" {
		t.Errorf("no boots listed")
	}

	nspawn, dir := c.cmd.Process.Pid, c.dir
	c.Shutdown()
	if err := syscall.Kill(nspawn, 0); err == nil {
		t.Errorf("systemd-nspawn PID %d still exists after Shutdown", nspawn)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary layer %s still exists: %v", dir, err)
	}
	if mounted(dir) {
		t.Errorf("a mount under %s is left on the host", dir)
	}
	if _, err := os.Stat(filepath.Join(c.tree, "etc/pfi-written")); err == nil {
		t.Errorf("the cached tree was written to")
	}
	c.Shutdown() // idempotent
}

// TestVolatile boots with systemd-nspawn's own --volatile=overlay.
func TestVolatile(t *testing.T) {
	Require(t)
	c := Boot(t, Options{Volatile: true})
	c.WriteFile("/etc/pfi-volatile", []byte("v"), 0)
	if got := c.Run("findmnt", "-n", "-o", "FSTYPE", "/"); strings.TrimSpace(got) != "overlay" {
		t.Errorf("root file system inside is %q, want overlay", got)
	}
	c.Shutdown()
	if _, err := os.Stat(filepath.Join(c.tree, "etc/pfi-volatile")); err == nil {
		t.Errorf("the cached tree was written to")
	}
}

func TestStageRefusesSymlinkedPath(t *testing.T) {
	tree := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tree, "usr/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/lib", filepath.Join(tree, "lib")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &Container{tree: tree, dir: dir}
	if err := os.Mkdir(filepath.Join(dir, "upper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.stage(File{Path: "/lib/systemd/x", Data: []byte("x")}); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("stage through /lib: err = %v, want a symlink refusal", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "upper/lib")); err == nil {
		t.Errorf("stage created upper/lib, shadowing the tree's symlink")
	}
	if err := c.stage(File{Path: "/usr/lib/systemd/x", Data: []byte("x"), Mode: 0o755}); err != nil {
		t.Errorf("stage canonical path: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "upper/usr/lib/systemd/x")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("staged file: %v %v", fi, err)
	}
	if err := c.stage(File{Path: "relative", Data: nil}); err == nil {
		t.Errorf("stage accepted a relative path")
	}
}

// TestContainersHaveOwnCgroups boots two containers side by side, as two
// test packages do in "go test ./...": each must run in a cgroup of its own
// (nspawn --keep-unit would otherwise put both into one "payload" cgroup,
// where their systemds remove each other's unit cgroups), with the unified
// hierarchy inside, and teardown must remove those cgroups.
func TestContainersHaveOwnCgroups(t *testing.T) {
	Require(t)
	a, b := Boot(t, Options{Volatile: true}), Boot(t, Options{Volatile: true})
	host := func(c *Container) string {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", c.PID1()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			if p, ok := strings.CutPrefix(l, "0::"); ok {
				return p
			}
		}
		t.Fatalf("no cgroup2 entry in /proc/%d/cgroup:\n%s", c.PID1(), data)
		return ""
	}
	ca, cb := host(a), host(b)
	if !strings.Contains(ca, "/"+cgroupPrefix) || !strings.Contains(cb, "/"+cgroupPrefix) || ca == cb {
		t.Errorf("the containers' PID 1s are in cgroups %q and %q; want two distinct %s… cgroups", ca, cb, cgroupPrefix)
	}
	for _, c := range []*Container{a, b} {
		if got := strings.TrimSpace(c.Run("stat", "-f", "-c", "%T", "/sys/fs/cgroup")); got != "cgroup2fs" {
			t.Errorf("/sys/fs/cgroup in %s is %s, want cgroup2fs (the unified hierarchy)", c.Machine, got)
		}
	}
	dirs := slices.Clone(a.cgroups)
	if len(dirs) == 0 {
		t.Fatalf("container %s has no cgroups of its own", a.Machine)
	}
	a.Shutdown()
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s of %s is still there after Shutdown (%v)", d, a.Machine, err)
		}
	}
	if got := strings.TrimSpace(b.Run("systemctl", "is-system-running")); got != "running" && got != "degraded" {
		t.Errorf("%s is %q after its neighbour's shutdown", b.Machine, got)
	}
}

// fatalTB records Boot's Fatalf instead of failing the test; Boot must run
// on a goroutine of its own, which Fatalf ends. Once booted, the container
// fails the test as usual.
type fatalTB struct {
	*testing.T
	booting bool
	fatal   string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	if !f.booting {
		f.T.Helper()
		f.T.Fatalf(format, args...)
	}
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestBootWaitsWhileProgressing: BootTimeout bounds a stall, not a boot. A
// boot whose jobs take longer than BootTimeout in all, each finishing
// within it, is waited for (on a loaded machine, make test's boots are such);
// a job that never ends fails the boot after BootTimeout, naming the job.
func TestBootWaitsWhileProgressing(t *testing.T) {
	Require(t)
	// Each unit runs a step that takes wall time, not CPU, so the figures
	// hold on a loaded machine; postfix is masked (an empty unit file) so
	// that only these units' jobs are slow.
	unit := func(name, after, exec, timeout string) File {
		return File{Path: "/etc/systemd/system/" + name, Data: []byte("[Unit]\nAfter=" + after +
			"\n[Service]\nType=oneshot\nExecStart=" + exec + "\nTimeoutStartSec=" + timeout + "\n")}
	}
	boot := func(t *testing.T, timeout time.Duration, files ...File) (*Container, time.Duration, string) {
		files = append(files, File{Path: "/etc/systemd/system/postfix.service", Data: []byte{}})
		var wants []string
		for _, f := range files[:len(files)-1] {
			wants = append(wants, filepath.Base(f.Path))
		}
		files = append(files, File{Path: "/etc/systemd/system/multi-user.target.d/pfi-test.conf",
			Data: []byte("[Unit]\nWants=" + strings.Join(wants, " ") + "\n")})
		tb := &fatalTB{T: t, booting: true}
		var c *Container
		begun, done := time.Now(), make(chan struct{})
		go func() {
			defer close(done)
			c = Boot(tb, Options{Files: files, BootTimeout: timeout})
		}()
		<-done
		tb.booting = false
		return c, time.Since(begun), tb.fatal
	}
	t.Run("progressing", func(t *testing.T) {
		t.Parallel()
		c, took, fatal := boot(t, 25*time.Second,
			unit("pfi-slow1.service", "basic.target", "/bin/sleep 12", "1min"),
			unit("pfi-slow2.service", "pfi-slow1.service", "/bin/sleep 12", "1min"),
			unit("pfi-slow3.service", "pfi-slow2.service", "/bin/sleep 12", "1min"))
		if fatal != "" {
			t.Fatalf("a boot of three 12 s jobs in a row, BootTimeout 25 s, failed after %s: %s", took, fatal)
		}
		if took < 36*time.Second {
			t.Errorf("booted in %s, before the three 12 s jobs could have run", took)
		}
		if got, _ := c.Exec("systemctl", "is-active", "postfix.service", "pfi-slow3.service"); got.Stdout != "inactive\ninactive\n" {
			t.Errorf("is-active postfix pfi-slow3 = %q (postfix masked; slow3 a finished oneshot)", got.Stdout)
		}
		if got := c.Run("systemctl", "show", "-p", "Result", "--value", "pfi-slow3.service"); got != "success\n" {
			t.Errorf("pfi-slow3 result = %q", got)
		}
	})
	t.Run("hung", func(t *testing.T) {
		t.Parallel()
		_, took, fatal := boot(t, 10*time.Second, unit("pfi-hang.service", "basic.target", "/bin/sleep infinity", "infinity"))
		if fatal == "" {
			t.Fatalf("a boot with a job that never ends succeeded after %s", took)
		}
		for _, want := range []string{"no job done for 10s", "pfi-hang.service", "start"} {
			if !strings.Contains(fatal, want) {
				t.Errorf("the error lacks %q:\n%s", want, fatal)
			}
		}
		if took > 40*time.Second {
			t.Errorf("the hung boot failed only after %s; BootTimeout was 10 s", took)
		}
	})
}
