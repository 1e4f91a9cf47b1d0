// Package postmulti is a drop-in replacement for Postfix's postmulti(1)
// multi-instance manager.
//
// Option parsing, the instance list (-l), command iteration (-x) and the
// life-cycle actions (-e init, create, import, deport, destroy, assign,
// enable, disable) behave like upstream's postmulti, byte for byte where
// the real program is observable: the same messages, exit codes, main.cf
// bytes, directories, modes and owners. Where upstream runs its
// postmulti-script helper and one postconf per instance, this package
// reads the instances through internal/instance, the one model of them,
// and edits main.cf in process (internal/maincf), under a lock and
// atomically (internal/atomicfile).
//
// -p (postfix-wrapper(5) mode) is handed to a Lifecycle: through systemd
// when systemd is PID 1, otherwise upstream's "postfix -c DIR ACTION" loop.
//
// Deliberate differences from upstream are documented in postmulti(1):
// errors always go to stderr (upstream writes them there only when stderr
// is a terminal), there is no one-second sleep after a fatal error, the
// parameters -e create appends land in a fixed documented order, and
// -e destroy refuses an instance whose queue still holds files.
package postmulti

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// Env is everything a run touches: the command line, standard streams,
// the environment, the filesystem root and the life-cycle backend. Tests
// inject each of them.
type Env struct {
	Args    []string // argv, argv[0] included
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string // KEY=VALUE, as os.Environ
	// Root is where absolute paths from main.cf are resolved: "/" in
	// production, a test tree in tests. Commands run by -x, -p and the
	// -e helpers (postfix set-permissions) always see the real root.
	Root      string
	Lifecycle Lifecycle
}

// runner is one invocation's state: upstream's globals.
type runner struct {
	ctx     context.Context
	env     *Env
	prog    string
	root    string
	environ []string
	pc      *primaryConfig
	list    []*instance.Instance // default instance first, then start order
	// runnable tells, for each instance of list as read, whether it could
	// run under systemd (see refuseUnrunnable).
	runnable map[*instance.Instance]bool
	claims   claims // upstream's claim table over list
	opts     *Options
	quiet    bool // warnings already given by the first pass of an -e action
}

// Main runs postmulti with the process's own arguments, streams and
// environment, and returns the exit status.
func Main() int {
	// Upstream: "Be consistent with file permissions."
	syscall.Umask(0o022)
	return Run(context.Background(), &Env{
		Args:      os.Args,
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Environ:   os.Environ(),
		Root:      "/",
		Lifecycle: DefaultLifecycle(),
	})
}

// Run runs one postmulti invocation and returns its exit status.
func Run(ctx context.Context, env *Env) int {
	prog := "postmulti"
	if len(env.Args) > 0 {
		// Upstream strips the directory from argv[0] for its messages.
		if b := filepath.Base(env.Args[0]); b != "" && !strings.HasSuffix(env.Args[0], "/") {
			prog = b
		}
	}
	r := &runner{ctx: ctx, env: env, prog: prog, root: env.Root, environ: append([]string(nil), env.Environ...)}
	if r.env.Lifecycle == nil {
		r.env.Lifecycle = DefaultLifecycle()
	}
	cmd := newRootCommand(r)
	var args []string
	if len(env.Args) > 1 {
		args = env.Args[1:]
	}
	cmd.SetArgs(args)
	if args == nil {
		cmd.SetArgs([]string{})
	}
	cmd.SetOut(env.Stdout)
	cmd.SetErr(env.Stderr)
	cmd.SetIn(env.Stdin)
	err := cmd.ExecuteContext(ctx)
	return exitCode(prog, env.Stderr, err)
}

// getenv looks a variable up in the run's environment.
func (r *runner) getenv(k string) (string, bool) {
	for i := len(r.environ) - 1; i >= 0; i-- {
		if kv := r.environ[i]; strings.HasPrefix(kv, k+"=") {
			return kv[len(k)+1:], true
		}
	}
	return "", false
}

// setenv sets a variable in the run's environment (upstream's setenv(3)
// on its own process, inherited by every child).
func (r *runner) setenv(k, v string) { r.environ = setenvInPlace(r.environ, k, v) }

// diag prints a diagnostic line to stderr.
func (r *runner) diag(line string) { io.WriteString(r.env.Stderr, line+"\n") }

// warn is msg_warn: "PROG: warning: MSG".
func (r *runner) warn(tag, msg string) {
	if tag == "" {
		tag = r.prog
	}
	r.diag(tag + ": warning: " + msg)
}
