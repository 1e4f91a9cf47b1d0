package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TB is the part of testing.TB the harness uses; the demo supplies its own.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	Failed() bool
}

// Options shape a container.
type Options struct {
	// Volatile boots with systemd-nspawn --volatile=overlay: its own tmpfs
	// upper layer, gone at power-off. Files and Reboot need the default
	// (harness-mounted) layer instead.
	Volatile bool
	// Files are written into the container's writable layer before its
	// first boot, as a package would have installed them, so that systemd
	// runs with them from the start (generators included). Paths must be
	// canonical inside the tree (/usr/lib/..., not /lib/...).
	Files []File
	// BindRO are extra read-only bind mounts, HOST:GUEST.
	BindRO []string
	// Bind are extra writable bind mounts, HOST:GUEST: a directory on the
	// host's own file system where the guest must not write into an
	// overlay (the kernel stacks overlayfs at most two deep, so a
	// container booted inside this one from a tree on its overlay cannot
	// mount another overlay).
	Bind []string
	// Kmsg gives the container a write-only /dev/kmsg: a FIFO the harness
	// reads, see Container.Kmsg. systemd-nspawn hides the kernel log from
	// containers, and systemd runs generators with stderr on /dev/null, so
	// without it nothing a generator logs, at boot or on daemon-reload, is
	// seen anywhere. On a real host, what is written to /dev/kmsg is in the
	// kernel log and so in the journal. journald inside is told not to read
	// it (ReadKMsg=no), so the harness sees every record. Not with Volatile.
	Kmsg bool
	// BootTimeout bounds how long a boot may go without progress, that is
	// with systemd's job queue unchanged (default 2 minutes, longer than
	// DefaultTimeoutStartSec, so that systemd fails a hung unit first and
	// the boot ends degraded); a boot that keeps progressing may take
	// four times as long (see waitBooted).
	BootTimeout time.Duration
	// Release is the Debian release to boot (default: DefaultRelease,
	// that is $PFI_TEST_RELEASE or Bookworm); its tree is built and cached
	// on first use. Ignored when Tree is set.
	Release Release
	// Tree is the root tree to boot (default: TreeOf(t, Release)).
	Tree string
}

// File is one file to install into the container.
type File struct {
	Path string      // absolute path inside the container
	Data []byte      // the contents, unless Source is set
	Src  string      // a host file to copy instead of Data
	Mode fs.FileMode // permission bits, 0644 when zero
}

func (f File) contents() ([]byte, error) {
	if f.Src == "" {
		return f.Data, nil
	}
	data, err := os.ReadFile(f.Src)
	if err != nil {
		return nil, fmt.Errorf("read %s for %s: %w", f.Src, f.Path, err)
	}
	return data, nil
}

func (f File) mode() fs.FileMode {
	if f.Mode == 0 {
		return 0o644
	}
	return f.Mode.Perm()
}

// Container is a booted systemd-nspawn container.
type Container struct {
	t       TB
	opt     Options
	tree    string
	dir     string // host temp dir: upper, work, merged, console logs
	Machine string // the machine name, also the container's host name

	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been reaped
	exitErr error         // cmd.Wait's result, valid after done
	pid1    int           // the container's systemd as seen from the host
	boots   int
	down    bool

	kmsgFile *os.File
	kmsgMu   sync.Mutex
	kmsg     bytes.Buffer
	kmsgBoot int // offset in kmsg where the current boot began

	cgroups []string // the container's own cgroups (cgroup.go), kept across reboots
}

// launchScript runs as PID 1 of a new PID namespace, in a private mount
// namespace (Go's Cloneflags CLONE_NEWPID and Unshareflags CLONE_NEWNS, /
// made rprivate), and becomes systemd-nspawn. There nspawn is the init of
// its PID namespace: when it dies, however it dies, the kernel kills every
// process below it, the container included (a container's systemd
// otherwise outlives a killed nspawn, reparented to the host's init). It
// mounts a /proc for that namespace, and, when given a lower, upper, work
// and merged directory, the container's writable overlay, which thus
// exists only in that mount namespace and vanishes with it. All values
// arrive as positional parameters; "--" ends them. Before all that it
// moves itself into the container's own cgroups (see cgroup.go), given one
// per line in PFI_CGROUPS.
const launchScript = `mount -t proc proc /proc || exit 96
IFS='
'
for cg in $PFI_CGROUPS; do
	echo 0 > "$cg/cgroup.procs" || exit 95
done
unset PFI_CGROUPS IFS
if [ "$1" != -- ]; then
	mount -t overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" pfi-test "$4" || exit 97
	shift 4
fi
shift
exec "$@"`

// Boot starts a container and waits until systemd inside reports running or
// degraded. Teardown, and a journal dump if the test failed, are registered
// with t.Cleanup.
func Boot(t TB, opt Options) *Container {
	t.Helper()
	if opt.Tree == "" {
		opt.Tree = TreeOf(t, opt.Release)
	}
	if opt.BootTimeout == 0 {
		opt.BootTimeout = 2 * time.Minute
	}
	tree, err := filepath.EvalSymlinks(opt.Tree)
	if err != nil {
		t.Fatalf("harness: tree: %v", err)
	}
	if tree == "/" {
		t.Fatalf("harness: refusing to boot systemd on the host's own root")
	}
	if _, err := os.Stat(filepath.Join(tree, "usr/lib/systemd/systemd")); err != nil {
		t.Fatalf("harness: %s is not a bootable tree: %v", tree, err)
	}
	if opt.Volatile && len(opt.Files) > 0 {
		t.Fatalf("harness: Options.Files need the harness overlay, not Volatile")
	}
	sweepStale()
	dir, err := os.MkdirTemp("", fmt.Sprintf("pfi-test-%d-", os.Getpid()))
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	c := &Container{t: t, opt: opt, tree: tree, dir: dir, Machine: "pfi-" + randomHex(4)}
	t.Cleanup(c.teardown)
	t.Cleanup(func() {
		if t.Failed() {
			c.DumpJournal()
		}
	})
	if opt.Kmsg {
		if opt.Volatile {
			t.Fatalf("harness: Options.Kmsg needs the harness overlay, not Volatile")
		}
		if err := c.openKmsg(); err != nil {
			t.Fatalf("harness: %v", err)
		}
		opt.Files = append(append([]File(nil), opt.Files...), File{Path: "/etc/systemd/journald.conf.d/pfi-test-kmsg.conf",
			Data: []byte("# The harness reads /dev/kmsg (a FIFO); journald must not.\n[Journal]\nReadKMsg=no\n")})
	}
	if !opt.Volatile {
		for _, d := range []string{"upper", "work", "merged"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatalf("harness: %v", err)
			}
		}
		for _, f := range opt.Files {
			if err := c.stage(f); err != nil {
				t.Fatalf("harness: %v", err)
			}
		}
	}
	if err := c.start(); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// stage writes f into the upper layer before boot. Every existing component
// of its path must be a real directory in the tree, not a symlink (whose
// target overlayfs would shadow), and new directories copy the tree's mode
// and owner where the tree has them.
func (c *Container) stage(f File) error {
	clean := filepath.Clean(f.Path)
	if !filepath.IsAbs(f.Path) || clean == "/" {
		return fmt.Errorf("file path %q is not an absolute file path", f.Path)
	}
	data, err := f.contents()
	if err != nil {
		return err
	}
	upper := filepath.Join(c.dir, "upper")
	parts := strings.Split(strings.TrimPrefix(filepath.Dir(clean), "/"), "/")
	rel := ""
	for _, p := range parts {
		if p == "" {
			continue
		}
		rel = filepath.Join(rel, p)
		lower, err := os.Lstat(filepath.Join(c.tree, rel))
		switch {
		case err == nil && lower.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("file path %s crosses the symlink /%s in the tree; use the canonical path", f.Path, rel)
		case err == nil && !lower.IsDir():
			return fmt.Errorf("file path %s: /%s is not a directory in the tree", f.Path, rel)
		}
		target := filepath.Join(upper, rel)
		if _, err := os.Lstat(target); err == nil {
			continue
		}
		mode, uid, gid := fs.FileMode(0o755), 0, 0
		if lower != nil {
			st := lower.Sys().(*syscall.Stat_t)
			mode, uid, gid = lower.Mode().Perm(), int(st.Uid), int(st.Gid)
		}
		if err := os.Mkdir(target, mode); err != nil {
			return fmt.Errorf("stage %s: %w", f.Path, err)
		}
		if err := os.Chown(target, uid, gid); err != nil {
			return fmt.Errorf("stage %s: %w", f.Path, err)
		}
		if err := os.Chmod(target, mode); err != nil { // past the umask
			return fmt.Errorf("stage %s: %w", f.Path, err)
		}
	}
	target := filepath.Join(upper, clean)
	if err := os.WriteFile(target, data, f.mode()); err != nil {
		return fmt.Errorf("stage %s: %w", f.Path, err)
	}
	return os.Chmod(target, f.mode())
}

// nspawnArgs is the systemd-nspawn command line for the current layer.
func (c *Container) nspawnArgs(root string) []string {
	args := []string{"systemd-nspawn",
		"--directory=" + root,
		"--machine=" + c.Machine,
		"--private-network",
		"--register=no",
		"--keep-unit",
		"--link-journal=no",
		"--boot",
		"--console=passive",
	}
	if c.opt.Volatile {
		args = append(args, "--volatile=overlay")
	}
	for _, b := range c.opt.BindRO {
		args = append(args, "--bind-ro="+b)
	}
	for _, b := range c.opt.Bind {
		args = append(args, "--bind="+b)
	}
	if c.opt.Kmsg {
		args = append(args, "--bind="+filepath.Join(c.dir, "kmsg")+":/dev/kmsg")
	}
	return args
}

// start launches systemd-nspawn and waits for the boot to finish.
func (c *Container) start() error {
	c.boots++
	c.kmsgMu.Lock()
	c.kmsgBoot = c.kmsg.Len()
	c.kmsgMu.Unlock()
	console, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("console.%d.log", c.boots)))
	if err != nil {
		return err
	}
	defer console.Close()
	args := []string{"-c", launchScript, "pfi-launch"}
	if c.opt.Volatile {
		args = append(append(args, "--"), c.nspawnArgs(c.tree)...)
	} else {
		merged := filepath.Join(c.dir, "merged")
		args = append(append(args, c.tree, filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work"), merged, "--"),
			c.nspawnArgs(merged)...)
	}
	cmd := exec.Command("/bin/sh", args...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = console, console
	if c.cgroups == nil {
		if c.cgroups, err = makeCgroups(c.Machine); err != nil {
			return err
		}
	}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"PFI_CGROUPS=" + strings.Join(c.cgroups, "\n"),
		// The container's systemd gets the unified cgroup hierarchy (cgroup
		// v2 only), Debian 12's default, even on a host with the hybrid
		// layout: in legacy mode, on such a host, systemd 252 in the
		// container fails to kill units' cgroups (EIO) and runs "tainted:
		// cgroupsv1".
		"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:      true,
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS,
		// If the test process dies without cleaning up (a go test -timeout
		// panic skips cleanups), take nspawn, and so its PID namespace and
		// the container, with it.
		Pdeathsig: syscall.SIGKILL,
	}
	// Pdeathsig fires when the thread that forked the child exits, not the
	// process: start and reap nspawn on one locked thread that lives
	// exactly as long as nspawn does.
	done, started := make(chan struct{}), make(chan error)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.exitErr = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start systemd-nspawn: %w", err)
	}
	c.cmd, c.done, c.pid1, c.down = cmd, done, 0, false

	begun := time.Now()
	deadline := begun.Add(c.opt.BootTimeout)
	for c.pid1 == 0 {
		if pid := findPID1(cmd.Process.Pid); pid != 0 {
			c.pid1 = pid
			break
		}
		if err := c.waitStep(deadline, 50*time.Millisecond, func() string {
			return fmt.Sprintf("the container's PID 1 for %s", c.opt.BootTimeout)
		}); err != nil {
			return err
		}
	}
	return c.waitBooted(begun)
}

// waitBooted polls the container's PID 1 until the boot is over (running or
// degraded). BootTimeout bounds a stall, not the boot: on a loaded machine
// (make test boots several containers at once on two cores) one unit's
// start can take a minute, yet while jobs keep finishing the boot is
// progressing, and systemd's own job timeouts end every job. A boot whose
// job queue does not change for BootTimeout, or that takes bootLimit times
// BootTimeout in all, fails with the jobs it waited for.
func (c *Container) waitBooted(begun time.Time) error {
	limit := begun.Add(bootLimit * c.opt.BootTimeout)
	deadline, last, pause := begun.Add(c.opt.BootTimeout), "", 50*time.Millisecond
	for {
		// The manager's properties; early in the boot the call may fail.
		out, _ := c.run(10*time.Second, nil, "systemctl", "show", "--property=SystemState,NJobs,NInstalledJobs")
		props := parseShow(out.Stdout)
		state := props["SystemState"]
		switch state {
		case "running", "degraded":
			c.t.Logf("harness: container %s booted in %s (boot %d, PID 1 is %d on the host): %s",
				c.Machine, time.Since(begun).Round(100*time.Millisecond), c.boots, c.pid1, state)
			return nil
		case "maintenance", "stopping":
			return fmt.Errorf("container %s is %s after boot%s", c.Machine, state, c.consoleTail())
		}
		// NInstalledJobs counts every job ever queued and NJobs those
		// still queued: while either moves, the boot is progressing.
		if jobs := props["NJobs"] + "/" + props["NInstalledJobs"]; state != "" && jobs != last {
			last, deadline = jobs, time.Now().Add(c.opt.BootTimeout)
			if deadline.After(limit) {
				deadline = limit
			}
		}
		if err := c.waitStep(deadline, pause, func() string {
			return fmt.Sprintf("the boot to finish (no job done for %s, or %s in all; last state: %s)%s",
				c.opt.BootTimeout, bootLimit*c.opt.BootTimeout, state, c.pendingJobs())
		}); err != nil {
			return err
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// bootLimit times BootTimeout bounds a boot that keeps progressing.
const bootLimit = 4

// pendingJobs lists systemd's job queue for an error message.
func (c *Container) pendingJobs() string {
	out, err := c.run(10*time.Second, nil, "systemctl", "list-jobs", "--no-pager", "--full")
	if err != nil && out.Stdout == "" {
		return ""
	}
	return "; jobs:\n" + strings.TrimRight(out.Stdout, "\n")
}

// waitStep sleeps pause, failing when nspawn exited or the deadline passed;
// what names what was awaited, for the error only.
func (c *Container) waitStep(deadline time.Time, pause time.Duration, what func() string) error {
	select {
	case <-c.done:
		return fmt.Errorf("systemd-nspawn exited while waiting for %s: %v%s", what(), c.exitErr, c.consoleTail())
	case <-time.After(pause):
	}
	if time.Now().After(deadline) {
		return fmt.Errorf("timed out waiting for %s%s", what(), c.consoleTail())
	}
	return nil
}

// openKmsg creates the FIFO that becomes /dev/kmsg and reads it until
// teardown. Holding it open read-write keeps writers from blocking on open
// and the reader from seeing end-of-file between writers.
func (c *Container) openKmsg() error {
	path := filepath.Join(c.dir, "kmsg")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return fmt.Errorf("create kmsg fifo: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open kmsg fifo: %w", err)
	}
	c.kmsgFile = f
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			c.kmsgMu.Lock()
			c.kmsg.Write(buf[:n])
			c.kmsgMu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// Kmsg returns the records written to the container's /dev/kmsg during
// the current boot (see Options.Kmsg).
func (c *Container) Kmsg() string {
	c.kmsgMu.Lock()
	defer c.kmsgMu.Unlock()
	return c.kmsg.String()[c.kmsgBoot:]
}

// Console returns what the container's console (PID 1's stdout and stderr,
// and so the output of generators when /dev/kmsg is missing, as it is
// under systemd-nspawn) has shown during the current boot.
func (c *Container) Console() string {
	data, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("console.%d.log", c.boots)))
	return string(data)
}

func (c *Container) consoleTail() string {
	data, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("console.%d.log", c.boots)))
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return "\nconsole:\n" + string(data)
}

// findPID1 returns the child of nspawn that is PID 1 in its own PID
// namespace, or 0.
func findPID1(nspawn int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", nspawn))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for _, field := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(field)
			if err == nil && isNamespaceInit(pid) {
				return pid
			}
		}
	}
	return 0
}

// isNamespaceInit reports whether pid is PID 1 of a nested PID namespace.
func isNamespaceInit(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			return len(f) >= 2 && f[len(f)-1] == "1"
		}
	}
	return false
}

// PID1 is the container's systemd as seen from the host.
func (c *Container) PID1() int { return c.pid1 }

// Result is the outcome of a command run inside the container.
type Result struct {
	Args     []string
	Stdout   string
	Stderr   string
	ExitCode int // -1 when it did not exit normally
}

// ExitError is a command inside that did not exit 0.
type ExitError struct{ Result }

func (e *ExitError) Error() string {
	return fmt.Sprintf("%q exited %d; stderr: %s", e.Args, e.ExitCode, strings.TrimSpace(e.Stderr))
}

// DefaultTimeout bounds every command run inside.
const DefaultTimeout = 2 * time.Minute

// guestEnv is the environment of commands run inside, not the host's.
var guestEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8", "TERM=dumb", "HOME=/root",
	"SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "SYSTEMD_LESS=",
}

// run executes args inside the container with nsenter: the arguments go to
// execve as they are, no shell in between.
func (c *Container) run(timeout time.Duration, stdin io.Reader, args ...string) (Result, error) {
	res := Result{Args: args, ExitCode: -1}
	if c.pid1 == 0 || c.down {
		return res, fmt.Errorf("container %s is not running", c.Machine)
	}
	if len(args) == 0 {
		return res, errors.New("no command")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.pid1), "-a", "--"}, args...)...)
	cmd.Env = guestEnv
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// nsenter forks the command into the container's PID namespace; kill
	// the whole process group we created, not just nsenter, on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%q timed out after %s", args, timeout)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return res, &ExitError{res}
		}
		return res, fmt.Errorf("run %q: %w", args, err)
	}
	return res, nil
}

// Exec runs args inside the container (no shell) and returns the result;
// a non-zero exit is an *ExitError.
func (c *Container) Exec(args ...string) (Result, error) {
	return c.run(DefaultTimeout, nil, args...)
}

// ExecTimeout is Exec for a command that may take longer than
// DefaultTimeout (an apt-get dist-upgrade).
func (c *Container) ExecTimeout(timeout time.Duration, args ...string) (Result, error) {
	return c.run(timeout, nil, args...)
}

// ExecInput is Exec with stdin.
func (c *Container) ExecInput(stdin io.Reader, args ...string) (Result, error) {
	return c.run(DefaultTimeout, stdin, args...)
}

// Run runs args inside the container (no shell) and returns its stdout; it
// fails the test when the command fails.
func (c *Container) Run(args ...string) string {
	c.t.Helper()
	res, err := c.run(DefaultTimeout, nil, args...)
	if err != nil {
		c.t.Fatalf("in %s: %v", c.Machine, err)
	}
	return res.Stdout
}

// Bash runs script with bash -c inside the container, with args as $1...;
// use it only when a test really wants a shell. It fails the test when the
// script exits non-zero and returns stdout.
func (c *Container) Bash(script string, args ...string) string {
	c.t.Helper()
	res, err := c.run(DefaultTimeout, nil, append([]string{"/bin/bash", "-euo", "pipefail", "-c", script, "pfi-bash"}, args...)...)
	if err != nil {
		c.t.Fatalf("in %s: bash script failed: %v\nscript:\n%s\nstdout:\n%s", c.Machine, err, script, res.Stdout)
	}
	return res.Stdout
}

// WriteFile installs a file inside the running container (parents created),
// with install(1) reading the contents from stdin.
func (c *Container) WriteFile(path string, data []byte, mode fs.FileMode) {
	c.t.Helper()
	if !filepath.IsAbs(path) {
		c.t.Fatalf("harness: WriteFile: %q is not absolute", path)
	}
	if mode == 0 {
		mode = 0o644
	}
	_, err := c.run(DefaultTimeout, bytes.NewReader(data),
		"install", "-D", "-m", fmt.Sprintf("%04o", mode.Perm()), "/dev/stdin", path)
	if err != nil {
		c.t.Fatalf("in %s: write %s: %v", c.Machine, path, err)
	}
}

// Install writes files into the running container.
func (c *Container) Install(files ...File) {
	c.t.Helper()
	for _, f := range files {
		data, err := f.contents()
		if err != nil {
			c.t.Fatalf("harness: %v", err)
		}
		c.WriteFile(f.Path, data, f.mode())
	}
}

// DaemonReload runs systemctl daemon-reload, which reruns the generators.
func (c *Container) DaemonReload() {
	c.t.Helper()
	c.Run("systemctl", "daemon-reload")
}

// ServiceOf returns the service unit whose cgroup holds process pid inside
// the container (from /proc/PID/cgroup), "" when none does; ok is false
// when the process is gone.
func (c *Container) ServiceOf(pid int) (unit string, ok bool) {
	cg, err := c.Exec("cat", fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", false
	}
	for _, part := range strings.Split(strings.TrimSpace(cg.Stdout), "/") {
		if strings.HasSuffix(part, ".service") {
			unit = part
		}
	}
	return unit, true
}

// Show returns unit properties from systemctl show.
func (c *Container) Show(unit string, props ...string) map[string]string {
	c.t.Helper()
	args := []string{"systemctl", "show", unit}
	for _, p := range props {
		args = append(args, "--property="+p)
	}
	return parseShow(c.Run(args...))
}

// parseShow reads systemctl show's KEY=VALUE lines.
func parseShow(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Eventually polls cond every 100ms until it returns true or timeout
// passes, then fails the test naming what it waited for and cond's last
// error.
func (c *Container) Eventually(what string, timeout time.Duration, cond func() (bool, error)) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			c.t.Fatalf("in %s: timed out after %s waiting for %s (last error: %v)", c.Machine, timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Journal returns journalctl output for the current boot; extra arguments
// (e.g. "-u", "postfix@-.service") narrow it.
func (c *Container) Journal(args ...string) string {
	c.t.Helper()
	res, err := c.run(DefaultTimeout, nil, append([]string{"journalctl", "--no-pager", "-b", "-o", "short-monotonic"}, args...)...)
	if err != nil {
		c.t.Logf("in %s: journalctl: %v", c.Machine, err)
	}
	return res.Stdout
}

// DumpJournal logs the current boot's journal and failed units; Boot calls
// it when the test has failed.
func (c *Container) DumpJournal() {
	if c.pid1 == 0 || c.down {
		c.t.Logf("harness: container %s is down; its last console output:%s", c.Machine, c.consoleTail())
		return
	}
	units, _ := c.run(30*time.Second, nil, "systemctl", "list-units", "--all", "--no-pager", "--plain", "postfix*")
	journal, _ := c.run(time.Minute, nil, "journalctl", "--no-pager", "-b", "-o", "short-monotonic")
	// The Postfix units' own lines again, last: a CI log that keeps only
	// the head and the tail of a long output still shows why one failed.
	postfix, _ := c.run(time.Minute, nil, "journalctl", "--no-pager", "-b", "-o", "short-monotonic", "-n", "150", "-u", "postfix*")
	c.t.Logf("harness: container %s (boot %d) journal:\n%s\nunits:\n%s\nthe last 150 lines of the postfix units' journal:\n%s",
		c.Machine, c.boots, journal.Stdout, units.Stdout, postfix.Stdout)
}

// Reboot runs systemctl reboot inside and boots the container again on the
// same writable layer (not available with Options.Volatile): systemd-nspawn
// exits with status 133 when its container asks for a reboot, and the
// harness restarts it as systemd-nspawn@.service would.
func (c *Container) Reboot() {
	c.t.Helper()
	if c.opt.Volatile {
		c.t.Fatalf("harness: Reboot needs the harness overlay; a volatile container loses its state")
	}
	_, _ = c.run(30*time.Second, nil, "systemctl", "reboot")
	if err := c.waitExit(60 * time.Second); err != nil {
		c.t.Fatalf("harness: reboot: %v", err)
	}
	if code := c.cmd.ProcessState.ExitCode(); code != 133 {
		c.t.Fatalf("harness: reboot: systemd-nspawn exited %d, want 133 (reboot)%s", code, c.consoleTail())
	}
	c.afterExit()
	if err := c.start(); err != nil {
		c.t.Fatalf("harness: reboot: %v", err)
	}
}

// waitExit waits for the nspawn process to be reaped.
func (c *Container) waitExit(timeout time.Duration) error {
	select {
	case <-c.done:
		c.down = true
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("systemd-nspawn (PID %d) still running after %s", c.cmd.Process.Pid, timeout)
	}
}

// afterExit removes what systemd-nspawn may leave on the host for a machine
// it ran: its propagation directory, named after our unique machine name.
func (c *Container) afterExit() {
	_ = os.RemoveAll(filepath.Join("/run/systemd/nspawn/propagate", c.Machine))
	c.pid1 = 0
}

// Shutdown powers the container off and removes its temporary layer; it
// runs automatically at cleanup and is safe to call twice.
func (c *Container) Shutdown() { c.teardown() }

func (c *Container) teardown() {
	if c.cmd != nil && !c.down {
		pid, pid1 := c.cmd.Process.Pid, c.pid1
		if pid1 != 0 {
			_, _ = c.run(15*time.Second, nil, "systemctl", "poweroff", "--no-block")
		}
		if err := c.waitExit(45 * time.Second); err != nil {
			c.t.Logf("harness: %v; killing it", err)
			// Only our own processes, by PID: nspawn, then the container's
			// PID 1 (which takes its whole PID namespace with it).
			_ = syscall.Kill(pid, syscall.SIGKILL)
			if pid1 != 0 && isNamespaceInit(pid1) {
				_ = syscall.Kill(pid1, syscall.SIGKILL)
			}
			if err := c.waitExit(15 * time.Second); err != nil {
				c.t.Logf("harness: systemd-nspawn PID %d would not die; leaving %s", pid, c.dir)
				return
			}
		}
		c.afterExit()
	}
	if c.kmsgFile != nil {
		c.kmsgFile.Close()
		c.kmsgFile = nil
	}
	if c.cgroups != nil {
		// The last processes of a killed container may take a moment to go.
		var err error
		for i := 0; i < 50; i++ {
			if err = removeCgroups(c.cgroups); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			c.t.Logf("harness: %v; leaving it", err)
		}
		c.cgroups = nil
	}
	if c.dir == "" {
		return
	}
	// The overlay was mounted only in nspawn's private mount namespace,
	// which died with it; make sure nothing of ours is mounted here.
	if mounted(c.dir) {
		c.t.Logf("harness: something is still mounted under %s; leaving it", c.dir)
		return
	}
	if err := os.RemoveAll(c.dir); err != nil {
		c.t.Logf("harness: remove %s: %v", c.dir, err)
	}
	c.dir = ""
}

// mounted reports whether any mount point in our mount namespace lies at
// or under dir.
func mounted(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			return true
		}
	}
	return false
}

// ownerAlive reports whether name ("PID-…") names a process that still
// runs; a name without a PID counts as alive, so that it is left alone.
func ownerAlive(name string) bool {
	pidStr, _, ok := strings.Cut(name, "-")
	pid, err := strconv.Atoi(pidStr)
	if !ok || err != nil || pid <= 0 {
		return true
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// sweepStale removes the temporary directories of test processes that died
// without cleaning up (a go test -timeout panic skips cleanups): they are
// named pfi-test-PID-* and pfi-test-bin-PID-*. A directory is left alone
// while its process lives or while any process still has a mount under it.
// Their containers' cgroups go too (sweepCgroups).
func sweepStale() {
	sweepCgroups()
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pfi-test-*"))
	var stale []string
	for _, d := range dirs {
		rest := strings.TrimPrefix(strings.TrimPrefix(filepath.Base(d), "pfi-test-"), "bin-")
		if ownerAlive(rest) {
			continue
		}
		stale = append(stale, d)
	}
	if len(stale) == 0 {
		return
	}
	infos, _ := filepath.Glob("/proc/[0-9]*/mountinfo")
	inUse := map[string]bool{}
	for _, f := range infos {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, d := range stale {
			if strings.Contains(string(data), d+"/") {
				inUse[d] = true
			}
		}
	}
	for _, d := range stale {
		if !inUse[d] {
			os.RemoveAll(d)
		}
	}
}

// Release is the Debian release the container runs, from its tree's stamp.
func (c *Container) Release() (Release, error) { return TreeRelease(c.tree) }
