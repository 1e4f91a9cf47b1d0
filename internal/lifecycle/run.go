package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/environ"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// ErrNoMatchingInstances is upstream's fatal error when no selected
// instance is left to visit (for example "-i NAME -p stop" on a disabled
// instance). Its text is upstream's, capital letter included.
var ErrNoMatchingInstances = errors.New("No matching instances") //nolint:staticcheck // upstream's words

// ErrStopStopsAll is the refusal of a "-p stop" that selects the default
// instance but not every instance, on the Debian13 layout: Debian 13's
// postfix@.service (and our postfix-dir@.service) are PartOf=
// postfix.service, the default instance, so stopping it would stop every
// instance.
var ErrStopStopsAll = errors.New(`cannot stop only the default instance: on Debian 13 its unit, postfix.service, stops every instance (they are all PartOf=postfix.service); use "systemctl stop postfix" or "postmulti -p stop" to stop all instances, or select secondary instances only`)

// class is how upstream treats a command (iterate_postfix_command).
type class int

const (
	classOther   class = iota // every instance, start order
	classStart                // every instance, "check" on disabled ones
	classStop                 // enabled instances, reverse order
	classControl              // enabled instances, start order
)

type runState struct {
	action string
	args   []string
	insts  []instance.Instance
	opts   Options
	sd     systemd.Manager

	stdin          io.Reader
	stdout, stderr io.Writer
	runner         Runner
	prog           string
	postfix        string // absolute path of postfix(1)
	env            []string
	// noDropIn holds the units that systemd knows without the generated
	// drop-in, even after a daemon-reload (syncUnits): never started.
	noDropIn map[string]bool
}

func newRun(action string, args []string, insts []instance.Instance, opts Options) *runState {
	r := &runState{action: action, args: args, insts: insts, opts: opts, sd: opts.Systemd}
	r.stdin, r.stdout, r.stderr = opts.stdio()
	r.runner = opts.Runner
	if r.runner == nil {
		r.runner = ExecRunner{}
	}
	r.prog = opts.Prog
	if r.prog == "" {
		r.prog = "postmulti"
	}
	r.postfix = commandDir(opts.CommandDir, insts) + "/postfix"
	r.env = baseEnv(opts)
	return r
}

// classify looks action up in the three lists, in upstream's order.
func (r *runState) classify() class {
	pick := func(l, def []string) []string {
		if l == nil {
			return def
		}
		return l
	}
	switch {
	case slices.Contains(pick(r.opts.StartCommands, DefaultStartCommands), r.action):
		return classStart
	case slices.Contains(pick(r.opts.StopCommands, DefaultStopCommands), r.action):
		return classStop
	case slices.Contains(pick(r.opts.ControlCommands, DefaultControlCommands), r.action):
		return classControl
	}
	return classOther
}

func (r *runState) run(ctx context.Context) (int, error) {
	if r.action == "" {
		return 1, errors.New("no postfix command to run")
	}
	cls := r.classify()
	order := slices.Clone(r.insts)
	if r.sd != nil && r.opts.Layout == unit.Debian13 {
		switch {
		case r.action == "stop" && !r.opts.Whole && r.stopsDefault():
			return 1, ErrStopStopsAll
		case r.action == "start":
			// Debian's Before=postfix.service: the default instance
			// comes up last; say so in the order of the jobs too.
			if i := slices.IndexFunc(order, func(in instance.Instance) bool { return in.Default }); i >= 0 {
				d := order[i]
				order = append(slices.Delete(order, i, i+1), d)
			}
		}
	}
	if cls == classStop {
		slices.Reverse(order)
	}
	if r.opts.Reverse {
		slices.Reverse(order)
	}
	if r.sd != nil && r.action == "start" {
		r.syncUnits(ctx, order)
	}
	visited, failed := 0, false
	for _, inst := range order {
		if (cls == classStop || cls == classControl) && !inst.Enabled {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 1, fmt.Errorf("%s: stopped before instance %s: %w", r.action, label(inst), err)
		}
		visited++
		if !r.visit(ctx, cls, inst) {
			failed = true
		}
	}
	if visited == 0 {
		return 1, ErrNoMatchingInstances
	}
	if failed {
		return 1, nil
	}
	return 0, nil
}

// stopsDefault reports whether the run would stop the default instance:
// selected, enabled (a stop visits enabled instances only) and with a
// unit.
func (r *runState) stopsDefault() bool {
	for _, in := range r.insts {
		if in.Default && in.Enabled && in.Skip == nil {
			return true
		}
	}
	return false
}

// syncUnits makes systemd re-run the generator, once, before units are
// started from a stale view: an instance added to multi_instance_directories
// by hand ("postconf -e", not "postmulti -e") has no generated drop-in yet
// (its unit would run "postfix -c ”" and fail), and a main.cf edited since
// the last daemon-reload may have moved the instance's directories. A unit
// that still has no drop-in afterwards is recorded in noDropIn, and not
// started.
func (r *runState) syncUnits(ctx context.Context, insts []instance.Instance) {
	var units []string
	for i := range insts {
		if !insts[i].Enabled {
			continue
		}
		if spec, err := insts[i].Runnable(); err == nil {
			units = append(units, spec.Unit) // else reported when visited
		}
	}
	stale := ""
	for _, u := range units {
		if s, err := r.sd.UnitStatus(ctx, u); err == nil && (s.NeedDaemonReload || lacksDropIn(s)) {
			stale = u
			break
		}
	}
	if stale == "" {
		return
	}
	if r.opts.Verbose {
		fmt.Fprintf(r.stderr, "%s: %s: generated configuration is out of date; reloading systemd\n", r.prog, stale)
	}
	if err := r.sd.Reload(ctx); err != nil {
		r.msg("warning", "%v", err)
	}
	r.noDropIn = map[string]bool{}
	for _, u := range units {
		if s, err := r.sd.UnitStatus(ctx, u); err == nil && lacksDropIn(s) {
			r.noDropIn[u] = true
		}
	}
}

// lacksDropIn reports a loaded unit without its generated drop-in
// (unit.DropIn): systemd would run the bare template.
func lacksDropIn(s systemd.UnitStatus) bool {
	if s.LoadState != "loaded" || s.FragmentPath == "" {
		return false
	}
	for _, p := range s.DropInPaths {
		if strings.HasSuffix(p, "/"+unit.DropIn(s.Name)) {
			return false
		}
	}
	return true
}

// visit carries out the action on one instance and reports whether it
// succeeded; failures have been reported on stderr.
func (r *runState) visit(ctx context.Context, cls class, inst instance.Instance) bool {
	if cls == classStart && !inst.Enabled {
		// Upstream replaces "start" by "check" on a disabled instance so
		// that its problems are reported all the same.
		return r.postfixCmd(ctx, inst, "check")
	}
	switch r.action {
	case "start", "stop", "reload":
		if r.sd != nil {
			return r.unitJob(ctx, inst)
		}
		// Upstream's loop, but, as with systemd, never on an instance
		// the generator skipped.
		if _, ok := r.runnable(inst); !ok {
			return false
		}
	case "status":
		return r.status(ctx, inst)
	}
	return r.postfixCmd(ctx, inst, r.action)
}

// postfixCmd runs "postfix -- ACTION ARGS…" for inst as upstream's
// run_user_command does: MAIL_CONFIG is the only variable it sets.
func (r *runState) postfixCmd(ctx context.Context, inst instance.Instance, action string) bool {
	argv := append([]string{"--", action}, r.args...)
	status, err := r.runner.Run(ctx, Command{
		Path:   r.postfix,
		Args:   argv,
		Env:    environ.Set(r.env, "MAIL_CONFIG", inst.ConfigDir),
		Stdin:  r.stdin,
		Stdout: r.stdout,
		Stderr: r.stderr,
	})
	if err != nil {
		// Upstream's forked child says this before it exits 1.
		r.msg("fatal", "execvp %s: %v", r.postfix, err)
		return false
	}
	return status == 0
}

func (r *runState) msg(level, format string, a ...any) {
	fmt.Fprintf(r.stderr, "%s: %s: %s\n", r.prog, level, fmt.Sprintf(format, a...))
}

// runnable returns the instance's Spec, reporting an error when it has
// none: the instance is skipped, with the reason for which the generator
// skipped it (instance.Resolve decided both).
func (r *runState) runnable(inst instance.Instance) (instance.Spec, bool) {
	spec, err := inst.Runnable()
	if err != nil {
		r.msg("error", "%s: skipping instance %s, which has no systemd unit: %v", r.action, label(inst), err)
		return instance.Spec{}, false
	}
	return spec, true
}

// unit returns the instance's unit, reporting an error when it has none
// (runnable) or when systemd knows it without its drop-in.
func (r *runState) unit(inst instance.Instance) (string, bool) {
	spec, ok := r.runnable(inst)
	if !ok {
		return "", false
	}
	if r.action == "start" && r.noDropIn[spec.Unit] {
		r.msg("error", "not starting %s: systemd has no generated drop-in %s for it, even after a daemon-reload; see \"journalctl -b -t postfix-instance-generator\"",
			spec.Unit, unit.DropInFile)
		return "", false
	}
	return spec.Unit, true
}

// queueDir is where inst's queue directory is on this machine: below
// opts.Root.
func (r *runState) queueDir(inst instance.Instance) string {
	if r.opts.Root == "" || r.opts.Root == "/" || inst.QueueDir == "" {
		return inst.QueueDir
	}
	return filepath.Join(r.opts.Root, inst.QueueDir)
}

// outside reports a master that runs for inst while its unit is not
// active: started by hand ("postfix -c DIR start") or by upstream's
// postmulti, behind systemd's back. Only then is systemd asked.
func (r *runState) outside(ctx context.Context, inst instance.Instance, unit string) (pid int, ok bool) {
	pid, running := masterRunning(r.queueDir(inst))
	if !running {
		return 0, false
	}
	s, err := r.sd.UnitStatus(ctx, unit)
	if err != nil {
		r.msg("warning", "%v", err)
		return 0, false
	}
	return pid, !s.Active()
}

// unitJob carries out start, stop or reload as a job on the instance's
// unit, and handles a master that runs outside systemd's control:
//
//   - start leaves it alone and reports it: "postfix start" in the unit
//     would refuse it ("already running"), and the failed unit would then
//     delete the master's PID file (systemd removes PIDFile= when a service
//     ends), leaving a master that neither systemd nor postfix(1) can stop.
//   - stop stops it with "postfix stop", as upstream would, then stops the
//     unit all the same (it may have a restart pending).
//   - reload reloads it with "postfix reload", as upstream would.
func (r *runState) unitJob(ctx context.Context, inst instance.Instance) bool {
	u, ok := r.unit(inst)
	if !ok {
		return false
	}
	ok = true
	if pid, out := r.outside(ctx, inst, u); out {
		if r.action == "start" {
			r.msg("error", "not starting %s: a Postfix master (PID %d) already runs for %s outside systemd's control; stop it with \"postfix -c %s stop\", then start again",
				u, pid, inst.ConfigDir, inst.ConfigDir)
			return false
		}
		r.msg("warning", "%s is not active, but a Postfix master (PID %d) runs for %s outside systemd's control; %s it with \"postfix %s\"",
			u, pid, inst.ConfigDir, map[string]string{"stop": "stopping", "reload": "reloading"}[r.action], r.action)
		ok = r.postfixCmd(ctx, inst, r.action)
		if r.action == "reload" {
			return ok
		}
	}
	job := map[string]func(context.Context, string) error{
		"start":  r.sd.StartUnit,
		"stop":   r.sd.StopUnit,
		"reload": r.sd.ReloadUnit,
	}[r.action]
	t0 := time.Now()
	if err := job(ctx, u); err != nil {
		r.msg("error", "%v", err)
		return false
	}
	if r.opts.Verbose {
		fmt.Fprintf(r.stderr, "%s: %s %s: job done in %s\n", r.prog, r.action, u, time.Since(t0).Round(time.Millisecond))
	}
	return ok
}

// status runs upstream's "postfix status", then says why the generator
// skipped the instance, or, with systemd, where systemd sees things
// differently. The exit status is upstream's.
func (r *runState) status(ctx context.Context, inst instance.Instance) bool {
	ok := r.postfixCmd(ctx, inst, "status")
	spec, err := inst.Runnable()
	if err != nil {
		r.msg("warning", "instance %s has no systemd unit: %v", label(inst), err)
		return ok
	}
	if r.sd == nil {
		return ok
	}
	s, err := r.sd.UnitStatus(ctx, spec.Unit)
	if err != nil {
		r.msg("warning", "cannot read systemd's view: %v", err)
		return ok
	}
	for _, d := range disagreements(s, inst, ok, readPID(r.queueDir(inst))) {
		r.msg("warning", "%s", d)
	}
	return ok
}

// disagreements compares systemd's view of a unit with upstream's (running
// is "postfix status" exit 0; pid is the one in its master.pid, or 0) and
// says where they differ.
func disagreements(s systemd.UnitStatus, inst instance.Instance, running bool, pid int) []string {
	var out []string
	state := s.ActiveState
	if s.SubState != "" {
		state += " (" + s.SubState + ")"
	}
	if s.LoadState != "" && s.LoadState != "loaded" {
		out = append(out, fmt.Sprintf("systemd reports %s as %s", s.Name, s.LoadState))
	}
	switch {
	case running && !s.Active():
		out = append(out, fmt.Sprintf("%s is %s, but the Postfix master of %s%s runs outside systemd's control",
			s.Name, state, inst.ConfigDir, pidNote(pid)))
	case running && s.MainPID == 0:
		out = append(out, fmt.Sprintf("%s is %s, but systemd does not track the Postfix master%s as its main process",
			s.Name, state, pidNote(pid)))
	case running && pid != 0 && int(s.MainPID) != pid:
		out = append(out, fmt.Sprintf("%s is %s with main PID %d, but the Postfix master of %s has PID %d",
			s.Name, state, s.MainPID, inst.ConfigDir, pid))
	case !running && s.Active():
		out = append(out, fmt.Sprintf("%s is %s, but no Postfix master runs for %s",
			s.Name, state, inst.ConfigDir))
	case !running && s.ActiveState == "activating" && s.SubState == "auto-restart":
		out = append(out, fmt.Sprintf("%s is waiting to restart after a failure (result %s); see \"journalctl -u %s\"",
			s.Name, s.Result, s.Name))
	case !running && s.ActiveState == "failed":
		out = append(out, fmt.Sprintf("%s failed (result %s); see \"journalctl -u %s\"",
			s.Name, s.Result, s.Name))
	}
	return out
}

func pidNote(pid int) string {
	if pid == 0 {
		return ""
	}
	return fmt.Sprintf(" (PID %d)", pid)
}

// label names an instance in messages as postmulti -l does.
func label(inst instance.Instance) string {
	if inst.Name == "" {
		if inst.Default {
			return "-"
		}
		return inst.ConfigDir
	}
	return inst.Name
}
