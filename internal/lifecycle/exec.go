package lifecycle

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// ExecRunner runs commands with os/exec: directly, never through a shell,
// and without killing them when ctx ends (a half-run "postfix stop" is
// worse than a late one); ctx is only checked before the start.
type ExecRunner struct{}

// Run implements Runner.
func (ExecRunner) Run(ctx context.Context, c Command) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	cmd := &exec.Cmd{
		Path:   c.Path,
		Args:   append([]string{c.Path}, c.Args...),
		Env:    c.Env,
		Stdin:  c.Stdin,
		Stdout: c.Stdout,
		Stderr: c.Stderr,
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			return ws.ExitStatus(), nil
		}
		return 1, nil // killed by a signal: upstream counts it as 1
	}
	return 0, err
}

// setenv sets name=value in env as setenv(3) with overwrite does in glibc:
// the first setting is replaced where it stands, later duplicates are
// dropped, and a new variable goes at the end.
func setenv(env []string, name, value string) []string {
	out := env[:0]
	set := false
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			if set {
				continue
			}
			kv, set = name+"="+value, true
		}
		out = append(out, kv)
	}
	if !set {
		out = append(out, name+"="+value)
	}
	return out
}

// baseEnv is the environment every postfix command starts from.
func baseEnv(o Options) []string {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	env = append([]string(nil), env...)
	if o.LogTag != "" {
		env = setenv(env, "MAIL_LOGTAG", o.LogTag)
	}
	if o.Verbose {
		env = setenv(env, "MAIL_VERBOSE", "")
	}
	return env
}

// commandDir picks where postfix(1) lives (see Options.CommandDir).
func commandDir(dir string, insts []instance.Instance) string {
	if dir != "" {
		return dir
	}
	for _, i := range insts {
		if i.Default && i.CommandDir != "" {
			return i.CommandDir
		}
	}
	for _, i := range insts {
		if i.CommandDir != "" {
			return i.CommandDir
		}
	}
	return "/usr/sbin"
}

// pidFile is where a master keeps its PID (unit.PIDFile, the PIDFile= of
// its unit).
func pidFile(queueDir string) string { return unit.PIDFile(queueDir) }

// masterRunning tells whether a master holds the lock on its PID file, the
// test "master -t" makes (Postfix locks master.pid with flock on Linux),
// without running anything and without logging.
func masterRunning(queueDir string) (pid int, running bool) {
	if queueDir == "" {
		return 0, false
	}
	f, err := os.Open(pidFile(queueDir))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		return 0, false
	}
	return readPID(queueDir), true
}

// readPID reads the first line of master.pid ("sed 1q pid/master.pid"), 0
// when there is none.
func readPID(queueDir string) int {
	if queueDir == "" {
		return 0
	}
	f, err := os.Open(pidFile(queueDir))
	if err != nil {
		return 0
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// cgroupFile is read by ownInstanceUnit; tests may point it elsewhere.
var cgroupFile = "/proc/self/cgroup"

// ownInstanceUnit reports whether this process runs inside a postfix@
// unit's control group, and which.
func ownInstanceUnit() (string, bool) {
	data, err := os.ReadFile(cgroupFile)
	if err != nil {
		return "", false
	}
	return instanceUnitInCgroup(string(data))
}

func instanceUnitInCgroup(cgroup string) (string, bool) {
	for _, line := range strings.Split(cgroup, "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, elem := range strings.Split(parts[2], "/") {
			if strings.HasPrefix(elem, "postfix@") && strings.HasSuffix(elem, ".service") {
				return elem, true
			}
		}
	}
	return "", false
}
