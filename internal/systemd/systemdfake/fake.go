// Package systemdfake is a scripted stand-in for systemd's manager, for
// tests of code that talks to systemd through systemd.Manager: it records
// every call and plays a small model of unit states (see Fake). Tests that
// matter also run against the real systemd (internal/harness).
package systemdfake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/postfix-systemd/postfix-instances/internal/systemd"
)

// The job operations, as recorded in Fake.Calls (systemd's own names).
const (
	OpStart  = systemd.OpStart
	OpStop   = systemd.OpStop
	OpReload = systemd.OpReload
)

// Fake operations beyond the job ones, as recorded in Fake.Calls.
const (
	OpStatus       = "status"
	OpDaemonReload = "daemon-reload"
	OpClose        = "close"
)

// Call is one method call recorded by Fake. Unit is empty for
// OpDaemonReload and OpClose.
type Call struct {
	Op   string
	Unit string
}

func (c Call) String() string {
	if c.Unit == "" {
		return c.Op
	}
	return c.Op + " " + c.Unit
}

// Fake is a systemd.Manager for tests. It records every call and plays a small
// model of systemd: units it has not been told about are loaded template
// instances, inactive; a successful start makes a unit active, a stop
// inactive; reloading an inactive unit ends with the job result "invalid",
// as systemd's does. Results and Errs script other outcomes.
type Fake struct {
	mu sync.Mutex

	// Calls is every call made, in order.
	Calls []Call
	// Units is the state UnitStatus reports and jobs change; nil is fine.
	Units map[string]systemd.UnitStatus
	// Results scripts a job result (anything but "done" fails the job,
	// leaving the unit's state alone) for a start, stop or reload call.
	Results map[Call]string
	// Errs scripts a method error (as when the call itself fails on the bus)
	// for any call, daemon-reload and status included.
	Errs map[Call]error
	// OnJob, when set, runs before a job call's result is decided, for
	// example to cancel a context in the middle of a run.
	OnJob func(Call)
}

// NewFake returns an empty Fake.
func NewFake() *Fake { return &Fake{} }

// Set records the state of a unit.
func (f *Fake) Set(s systemd.UnitStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Units == nil {
		f.Units = map[string]systemd.UnitStatus{}
	}
	f.Units[s.Name] = s
}

// Script makes the next and every later op on unit end with result.
func (f *Fake) Script(op, unit, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Results == nil {
		f.Results = map[Call]string{}
	}
	f.Results[Call{op, unit}] = result
}

// Fail makes every later op on unit (unit "" for daemon-reload) return err.
func (f *Fake) Fail(op, unit string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Errs == nil {
		f.Errs = map[Call]error{}
	}
	f.Errs[Call{op, unit}] = err
}

// Recorded returns a copy of the calls so far.
func (f *Fake) Recorded() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.Calls...)
}

func (f *Fake) state(unit string) systemd.UnitStatus {
	if s, ok := f.Units[unit]; ok {
		return s
	}
	return systemd.UnitStatus{Name: unit, LoadState: "loaded", ActiveState: "inactive", SubState: "dead"}
}

func (f *Fake) job(ctx context.Context, op, unit string) error {
	c := Call{op, unit}
	if f.OnJob != nil {
		f.OnJob(c)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, c)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, unit, err)
	}
	if err := f.Errs[c]; err != nil {
		return fmt.Errorf("%s %s: %w", op, unit, err)
	}
	s := f.state(unit)
	result, scripted := f.Results[c]
	if !scripted {
		result = "done"
		if op == OpReload && !s.Active() {
			result = "invalid"
		}
	}
	if result != "done" {
		return &systemd.JobError{Op: op, Unit: unit, Result: result}
	}
	switch op {
	case OpStart:
		s.ActiveState, s.SubState = "active", "running"
	case OpStop:
		s.ActiveState, s.SubState, s.MainPID = "inactive", "dead", 0
	}
	if f.Units == nil {
		f.Units = map[string]systemd.UnitStatus{}
	}
	f.Units[unit] = s
	return nil
}

// StartUnit implements Manager.
func (f *Fake) StartUnit(ctx context.Context, unit string) error { return f.job(ctx, OpStart, unit) }

// StopUnit implements Manager.
func (f *Fake) StopUnit(ctx context.Context, unit string) error { return f.job(ctx, OpStop, unit) }

// ReloadUnit implements Manager.
func (f *Fake) ReloadUnit(ctx context.Context, unit string) error { return f.job(ctx, OpReload, unit) }

// UnitStatus implements Manager.
func (f *Fake) UnitStatus(ctx context.Context, unit string) (systemd.UnitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := Call{OpStatus, unit}
	f.Calls = append(f.Calls, c)
	if err := f.Errs[c]; err != nil {
		return systemd.UnitStatus{Name: unit}, fmt.Errorf("read properties of %s: %w", unit, err)
	}
	return f.state(unit), nil
}

// Reload implements Manager.
func (f *Fake) Reload(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := Call{Op: OpDaemonReload}
	f.Calls = append(f.Calls, c)
	if err := f.Errs[c]; err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	return nil
}

// Close implements Manager.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, Call{Op: OpClose})
	return nil
}

// errFakeBus is a convenience error for scripted bus failures.
var errFakeBus = errors.New("org.freedesktop.DBus.Error.NoReply: did not receive a reply")

// ErrFakeBus returns a D-Bus-like error for use with Fail.
func ErrFakeBus() error { return errFakeBus }

// OpStatuses is UnitStatuses in Fake.Calls: one call, its units joined
// by spaces.
const OpStatuses = "statuses"

// UnitStatuses implements Manager.
func (f *Fake) UnitStatuses(ctx context.Context, units []string) ([]systemd.UnitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := Call{OpStatuses, strings.Join(units, " ")}
	f.Calls = append(f.Calls, c)
	if err := f.Errs[c]; err != nil {
		return nil, fmt.Errorf("read properties: %w", err)
	}
	out := make([]systemd.UnitStatus, len(units))
	for i, u := range units {
		out[i] = f.state(u)
	}
	return out, nil
}
