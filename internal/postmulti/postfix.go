package postmulti

import (
	"context"
	"errors"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/lifecycle"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// PostfixOptions are the -p mode's options.
type PostfixOptions struct {
	Selection selection
	Args      []string // postfix-command and its arguments
	Verbose   bool
}

// Lifecycle carries out -p and learns about -e changes. The production
// implementation is internal/lifecycle (systemd units when systemd is
// PID 1, upstream's "postfix -c DIR ACTION" loop otherwise); tests inject
// fakes.
type Lifecycle interface {
	// Postfix runs "postmulti -p ACTION ARGS..." over insts, the selected
	// instances in start order, and returns the exit status.
	Postfix(ctx context.Context, action string, args []string, insts []instance.Instance, opts lifecycle.Options) (int, error)
	// ConfigChanged is called after every successful -e change; with
	// systemd as PID 1 it reloads systemd's configuration so that the
	// generator runs at once.
	ConfigChanged(ctx context.Context) error
}

// DefaultLifecycle is internal/lifecycle against the running system.
func DefaultLifecycle() Lifecycle { return systemLifecycle{} }

type systemLifecycle struct{}

func (systemLifecycle) Postfix(ctx context.Context, action string, args []string, insts []instance.Instance, opts lifecycle.Options) (int, error) {
	m, err := lifecycle.SystemdFor(ctx)
	if err != nil {
		return 1, err
	}
	if m != nil {
		defer m.Close()
		opts.Systemd = m
	}
	return lifecycle.Run(ctx, action, args, insts, opts)
}

func (systemLifecycle) ConfigChanged(ctx context.Context) error { return lifecycle.ReloadSystemd(ctx) }

// runPostfix is -p (postfix-wrapper(5) mode): the selected instances, in
// start order, go to the Lifecycle, which applies upstream's start, stop
// and control command rules.
func (r *runner) runPostfix(o PostfixOptions) error {
	var insts []instance.Instance
	for _, ip := range r.list {
		if o.Selection.matches(ip) {
			insts = append(insts, *ip)
		}
	}
	st, err := r.env.Lifecycle.Postfix(r.ctx, o.Args[0], o.Args[1:], insts, lifecycle.Options{
		Verbose:         o.Verbose,
		CommandDir:      r.pc.commandDir,
		StartCommands:   maincf.SplitList(r.pc.startCmds),
		StopCommands:    maincf.SplitList(r.pc.stopCmds),
		ControlCommands: maincf.SplitList(r.pc.controlCmds),
		Env:             r.environ,
		Stdin:           r.env.Stdin,
		Stdout:          r.env.Stdout,
		Stderr:          r.env.Stderr,
		Prog:            r.prog,
		Layout:          r.pc.set.Layout,
		Whole:           len(insts) == len(r.list),
		Root:            r.root,
	})
	if err != nil {
		var fe *fatalError
		if errors.As(err, &fe) {
			return err
		}
		return fatalf("%v", err)
	}
	if st != 0 {
		return &exitError{st}
	}
	return nil
}
