// Package lifecycle carries out "postmulti -p ACTION": it runs one Postfix
// command over a selected list of instances, with upstream's rules for
// which instances take part and in which order (postfix-wrapper(5),
// postmulti(1)), and, when systemd is the service manager, turns the life
// cycle actions into unit jobs so that systemd stays the single source of
// truth about which masters run.
//
// Upstream's rules, kept exactly:
//
//   - A start command (postmulti_start_commands, default "start") visits
//     instances in start order and runs "check" instead on a disabled one.
//   - A stop command (postmulti_stop_commands, default "stop abort drain
//     quick-stop") visits enabled instances in reverse order.
//   - A control command (postmulti_control_commands, default "reload
//     flush") visits enabled instances in start order.
//   - Any other command (status, check, set-permissions,
//     upgrade-configuration, logrotate, restart, …) visits every instance
//     in start order.
//   - Each visit runs "$command_directory/postfix -- ACTION ARGS…" directly
//     (no shell) with MAIL_CONFIG set to the instance's config directory,
//     which puts postfix(1) in single-instance mode and so ends recursion
//     through multi_instance_wrapper. A failure does not stop the loop; the
//     exit status is 1 if any visit failed, else 0. When no instance is left
//     to visit, that is the fatal error "No matching instances".
//
// With a systemd Manager, three actions become jobs on the instance's unit
// (postfix@NAME.service, …: its instance.Spec), each waited for:
// start → StartUnit, stop → StopUnit, reload → ReloadUnit. An instance that
// cannot run under systemd (instance.Instance.Runnable: the generator
// skipped it) is skipped, with the generator's reason, and a unit that
// systemd knows without its generated drop-in is never started. A disabled
// instance still gets "postfix check" for start. A master that runs outside
// systemd's control (its PID file locked while the unit is not active) is
// stopped or reloaded with postfix(1), with a warning, as upstream would;
// start refuses to start its unit, since the failing unit would delete the
// master's PID file. status runs "postfix status" as upstream does, then
// adds systemd's view where the two disagree. Every other action runs
// postfix exactly as upstream does. Without a Manager every action is
// upstream's, except that start, stop and reload skip, as with one, an
// instance that cannot run under systemd, with the generator's reason
// (postmulti -p never starts, stops or reloads an instance the generator
// skipped), and status names that reason after "postfix status".
package lifecycle

import (
	"context"
	"io"
	"os"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// Upstream's defaults for the three command lists (mail_params.h,
// DEF_MULTI_START_CMDS, DEF_MULTI_STOP_CMDS, DEF_MULTI_CNTRL_CMDS).
var (
	DefaultStartCommands   = []string{"start"}
	DefaultStopCommands    = []string{"stop", "abort", "drain", "quick-stop"}
	DefaultControlCommands = []string{"reload", "flush"}
)

// Options tunes Run. The zero value runs upstream's behaviour against the
// real system with os.Stdout and os.Stderr.
type Options struct {
	// Reverse flips the visiting order after the action's own rule has been
	// applied. Upstream postmulti refuses "-R" together with "-p" ("The '-p'
	// and '-e' options preclude the use of '-R'"), so the postmulti shim
	// never sets it for -p; it is here for callers that want it.
	Reverse bool
	// Verbose is postmulti's -v: MAIL_VERBOSE is exported (empty) to every
	// postfix command, as upstream's setenv before the loop does, and each
	// systemd job that succeeds is reported on Stderr with its duration.
	Verbose bool

	// Systemd, when not nil, turns start, stop and reload into unit jobs and
	// adds systemd's view to status. Use SystemdFor to get one only when
	// systemd is PID 1. Run does not close it.
	Systemd systemd.Manager

	// CommandDir is the default instance's command_directory: Run executes
	// CommandDir/postfix. When empty, the default instance's CommandDir
	// among insts is used, then any instance's, then "/usr/sbin".
	CommandDir string

	// StartCommands, StopCommands and ControlCommands are the default
	// main.cf's postmulti_start_commands, postmulti_stop_commands and
	// postmulti_control_commands, split on commas and white space. A nil
	// list means upstream's default.
	StartCommands, StopCommands, ControlCommands []string

	// LogTag is the default main.cf's syslog_name. Upstream postmulti
	// exports it as MAIL_LOGTAG while reading its configuration, so every
	// postfix command inherits it; "" leaves MAIL_LOGTAG as Env has it.
	LogTag string

	// Env is the environment passed on to postfix, with MAIL_LOGTAG,
	// MAIL_VERBOSE and MAIL_CONFIG set on top in that order (as setenv(3)
	// does: replaced where they stand, else appended); nil means
	// os.Environ().
	Env []string

	// Stdin, Stdout and Stderr are given to every postfix command; Run's own
	// warnings and errors go to Stderr. Nil means os.Stdin, os.Stdout,
	// os.Stderr.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// Runner executes the postfix commands; nil means ExecRunner.
	Runner Runner

	// Prog prefixes Run's messages ("postmulti: warning: …"); "" means
	// "postmulti".
	Prog string

	// Layout is the host's unit naming (instance.Set.Layout). On
	// unit.Debian13, with a Manager, the default instance's unit is
	// Debian's postfix.service, of which every other instance's unit is
	// PartOf=: a stop of the default instance that is not part of a stop
	// of every instance (Whole) is refused (ErrStopStopsAll), and a start
	// starts the default instance last, as Debian's Before=postfix.service
	// has systemd do anyway.
	Layout unit.Layout
	// Whole says that insts are every instance of the host (postmulti -a,
	// or a selection that happens to hold them all).
	Whole bool

	// Root is prefixed to an instance's queue directory where Run reads
	// its master.pid ("" or "/" for the host's own; postmulti's tests run
	// on a tree of their own, beside whatever Postfix the machine runs).
	Root string
}

// Command is one program to execute directly, never through a shell.
type Command struct {
	Path   string   // absolute path of the program
	Args   []string // arguments after argv[0]
	Env    []string // the complete environment
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Runner executes a Command and waits for it. Status is the exit status,
// or 1 when the process was killed by a signal (as upstream's
// WIFEXITED ? WEXITSTATUS : 1). err is set only when the program could not
// be run at all.
type Runner interface {
	Run(ctx context.Context, c Command) (status int, err error)
}

// Run carries out "postmulti -p ACTION ARGS…" over insts, which must be the
// selected instances in start order (default instance first), as
// instance.Set.Instances lists them, resolved (instance.Resolve).
//
// Per-instance failures (a postfix command's non-zero status, a failed
// systemd job, an invalid unit name) are reported on opts.Stderr as they
// happen and make the exit code 1; the loop goes on with the next instance.
// A non-nil error is fatal for the whole run, with exit code 1: an empty
// action, no instance left to visit ("No matching instances", upstream's
// words), or ctx ending between two instances. The postmulti shim prints it
// as "postmulti: fatal: ERR" and exits with the returned code.
func Run(ctx context.Context, action string, args []string, insts []instance.Instance, opts Options) (exitCode int, err error) {
	r := newRun(action, args, insts, opts)
	return r.run(ctx)
}

// SystemdFor returns a Manager when actions should go through systemd:
// systemd is PID 1 (systemd.Booted) and this process is not itself running
// as part of a postfix@ unit. Inside such a unit (a unit whose ExecStart
// runs postfix or postmulti -p, as Debian's template does) a job on the
// same unit would wait for itself, so SystemdFor returns nil and the
// caller falls back to upstream's behaviour. The caller closes a non-nil
// Manager. An error (systemd is PID 1 but cannot be reached over D-Bus or
// its private socket) should be fatal: falling back would start masters
// behind systemd's back.
func SystemdFor(ctx context.Context) (systemd.Manager, error) {
	if !systemd.Booted() {
		return nil, nil
	}
	if _, ok := ownInstanceUnit(); ok {
		return nil, nil
	}
	return systemd.Connect(ctx)
}

// ReloadSystemd asks systemd to reload its configuration ("systemctl
// daemon-reload") so that the generator re-runs and units follow a changed
// main.cf at once. It is a no-op when systemd is not PID 1. Call it after
// every postmulti -e change.
func ReloadSystemd(ctx context.Context) error {
	if !systemd.Booted() {
		return nil
	}
	m, err := systemd.Connect(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Reload(ctx)
}

// stdio returns the configured streams or the process's own.
func (o Options) stdio() (io.Reader, io.Writer, io.Writer) {
	in, out, errw := o.Stdin, o.Stdout, o.Stderr
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	if errw == nil {
		errw = os.Stderr
	}
	return in, out, errw
}
