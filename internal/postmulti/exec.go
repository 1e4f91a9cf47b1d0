package postmulti

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/postfix-systemd/postfix-instances/internal/environ"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// rootPath is Postfix's ROOT_PATH on Linux, used when PATH is unset or empty.
const rootPath = "/bin:/usr/bin:/sbin:/usr/sbin"

// ExecOptions are the -x mode's options.
type ExecOptions struct {
	Selection selection
	Reverse   bool
	Args      []string // the command and its arguments
}

// runExec is -x: run Args once per selected instance, with the
// instance's settings in the environment. Every instance is visited;
// the status is 1 when any run failed.
func (r *runner) runExec(o ExecOptions) error {
	matched, failed := false, false
	for _, ip := range r.ordered(o.Reverse) {
		if !o.Selection.matches(ip) {
			continue
		}
		matched = true
		env := r.instanceEnv(ip)
		if r.runCommand(o.Args, env) != 0 {
			failed = true
		}
	}
	if !matched {
		return fatalf("No matching instances")
	}
	if failed {
		return &exitError{1}
	}
	return nil
}

// ordered is the iteration order: start order, or its reverse.
func (r *runner) ordered(reverse bool) []*instance.Instance {
	out := append([]*instance.Instance(nil), r.list...)
	if reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// instanceEnv is the environment upstream's run_user_command gives a -x
// command: MAIL_CONFIG and the instance's parameters, $command_directory
// first in PATH.
func (r *runner) instanceEnv(ip *instance.Instance) []string {
	env := append([]string(nil), r.environ...)
	set := func(k, v string) { env = environ.Set(env, k, v) }
	set("MAIL_CONFIG", ip.ConfigDir)
	set("daemon_directory", r.pc.daemonDir)
	set("command_directory", r.pc.commandDir)
	set("config_directory", ip.ConfigDir)
	set("queue_directory", ip.QueueDir)
	set("data_directory", ip.DataDir)
	set("multi_instance_name", ip.Name)
	set("multi_instance_group", ip.Group)
	en := "no"
	if ip.Enabled {
		en = "yes"
	}
	set("multi_instance_enable", en)
	set("PATH", r.commandPath(env))
	return env
}

// commandPath is upstream's prepend_command_path: "$command_directory:"
// before PATH, or before ROOT_PATH when PATH is empty.
func (r *runner) commandPath(env []string) string {
	p, _ := environ.Get(env, "PATH")
	if p == "" {
		p = rootPath
	}
	return r.pc.commandDir + ":" + p
}

// runCommand runs argv as execvp(3) would in upstream's child and
// returns its status: the exit code, 1 for a signal, 1 after printing
// upstream's "execvp" fatal message when the command cannot be run.
func (r *runner) runCommand(argv []string, env []string) int {
	p, _ := environ.Get(env, "PATH")
	path, err := lookPathExecvp(argv[0], p)
	if err == nil {
		var st int
		st, err = r.start(path, argv, env)
		if err == nil {
			return st
		}
		if errors.Is(err, syscall.ENOEXEC) {
			// execvp falls back to the shell for a script without "#!".
			if st, err = r.start("/bin/sh", append([]string{"/bin/sh", path}, argv[1:]...), env); err == nil {
				return st
			}
		}
	}
	r.diag(r.prog + ": fatal: execvp " + argv[0] + ": " + strerror(err))
	return 1
}

// start runs one process with the run's standard streams and waits.
func (r *runner) start(path string, argv, env []string) (int, error) {
	c := &exec.Cmd{Path: path, Args: argv, Env: environ.Unique(env), Stdin: r.env.Stdin, Stdout: r.env.Stdout, Stderr: r.env.Stderr}
	if err := c.Start(); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return 0, pe.Err
		}
		return 0, err
	}
	err := c.Wait()
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			return ws.ExitStatus(), nil
		}
		return 1, nil
	}
	return 1, nil
}

// lookPathExecvp resolves name the way glibc's execvp does: a name with
// a slash is used as is; otherwise each PATH element is tried, an empty
// one meaning the current directory; EACCES is remembered, ENOENT and
// ENOTDIR are skipped, anything else stops the search.
func lookPathExecvp(name, path string) (string, error) {
	if name == "" {
		return "", syscall.ENOENT
	}
	if strings.Contains(name, "/") {
		return name, checkExec(name)
	}
	if path == "" {
		path = "/bin:/usr/bin"
	}
	var sawEACCES bool
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		err := checkExec(p)
		switch {
		case err == nil:
			return p, nil
		case errors.Is(err, syscall.EACCES):
			sawEACCES = true
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENOTDIR):
		default:
			return "", err
		}
	}
	if sawEACCES {
		return "", syscall.EACCES
	}
	return "", syscall.ENOENT
}

// checkExec predicts execve's answer for path: ENOENT, EACCES for a
// directory or a file without execute permission.
func checkExec(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return syscall.EACCES
	}
	return nil
}
