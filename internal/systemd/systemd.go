// Package systemd is the narrow interface through which the rest of the
// project talks to the service manager: start, stop and reload a unit and
// wait for the job, read the few unit properties we look at, and ask for a
// daemon-reload. Nothing else of github.com/coreos/go-systemd/v22/dbus leaks
// out of this package.
//
// Every job is waited for on a buffered channel; a job result other than
// "done" is a *JobError naming the unit and the result, with a hint to read
// the unit's journal. Connect dials the real manager over D-Bus; package
// systemdfake has a scripted stand-in for tests.
package systemd

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Manager is the part of systemd's manager API the project uses. Methods
// that queue a job return only when the job has finished (or ctx ends).
// Implementations are safe for use by one goroutine at a time.
type Manager interface {
	// StartUnit queues a start job for the unit in mode "replace" and waits
	// for it; a result other than "done" is a *JobError.
	StartUnit(ctx context.Context, unit string) error
	// StopUnit queues a stop job in mode "replace" and waits for it.
	StopUnit(ctx context.Context, unit string) error
	// ReloadUnit queues a reload job in mode "replace" and waits for it.
	// Reloading an inactive unit fails (systemd's job result "invalid").
	ReloadUnit(ctx context.Context, unit string) error
	// UnitStatus reads the unit's state. Asking for a unit systemd does not
	// know is not an error: LoadState is then "not-found".
	UnitStatus(ctx context.Context, unit string) (UnitStatus, error)
	// UnitStatuses reads the state of many units, in the order given,
	// over the one connection, the calls pipelined: every field but
	// ExecMainPID, and Result only for a unit that is not active. A unit
	// systemd does not know has LoadState "not-found".
	UnitStatuses(ctx context.Context, units []string) ([]UnitStatus, error)
	// Reload is "systemctl daemon-reload": generators run again and unit
	// files are re-read. It returns once the reload has finished.
	Reload(ctx context.Context) error
	// Close releases the connection.
	Close() error
}

// UnitStatus is what we read about one unit (org.freedesktop.systemd1.Unit
// and, for services, org.freedesktop.systemd1.Service properties).
type UnitStatus struct {
	Name             string
	LoadState        string   // "loaded", "not-found", "masked", "error", …
	ActiveState      string   // "active", "inactive", "failed", "activating", …
	SubState         string   // "running", "dead", "exited", …
	FragmentPath     string   // the unit file, "" when there is none
	DropInPaths      []string // its drop-ins, in the order systemd applies them
	NeedDaemonReload bool     // the unit file changed since systemd read it
	MainPID          uint32   // the process systemd tracks as the main one, 0 if none
	ExecMainPID      uint32   // the PID of the last ExecStart= process
	Result           string   // service result: "success", "exit-code", "timeout", …
	// Filled by UnitStatuses only.
	NRestarts            uint32    // automatic restarts since the unit was last started
	ActiveEnterTimestamp time.Time // when the unit last became active; zero if never
}

// Active reports whether the unit is active or reloading, as
// UNIT_IS_ACTIVE_OR_RELOADING does.
func (s UnitStatus) Active() bool {
	return s.ActiveState == "active" || s.ActiveState == "reloading"
}

// Job operations, as they appear in a JobError and in Fake's call log.
const (
	OpStart  = "start"
	OpStop   = "stop"
	OpReload = "reload"
)

// JobError is a job that finished with a result other than "done":
// "canceled", "timeout", "failed", "dependency", "skipped", "invalid",
// "assert", "unsupported", "collected", "once", "frozen".
type JobError struct {
	Op     string // OpStart, OpStop or OpReload
	Unit   string // the unit the job was for
	Result string // systemd's job result
}

func (e *JobError) Error() string {
	return fmt.Sprintf("%s %s: job %s (%s); see \"journalctl -u %s\" for details",
		e.Op, e.Unit, e.Result, describeResult(e.Result), e.Unit)
}

// describeResult explains a job result in systemctl's words.
func describeResult(result string) string {
	switch result {
	case "canceled":
		return "the job was canceled"
	case "timeout":
		return "a timeout was exceeded"
	case "failed":
		return "the control process exited with an error"
	case "dependency":
		return "a dependency failed"
	case "skipped":
		return "the job does not apply to the unit's current state"
	case "invalid":
		return "the job is not valid for the unit's current state, for example reloading an inactive unit"
	case "assert":
		return "an assertion failed"
	case "unsupported":
		return "the unit type does not support the job"
	case "collected":
		return "the unit was garbage-collected"
	case "once":
		return "the unit may be started only once"
	case "frozen":
		return "the unit is frozen"
	}
	return "unexpected result"
}

// bootedPath is sd_booted()'s marker directory; tests may point it elsewhere.
var bootedPath = "/run/systemd/system"

// Booted reports whether systemd is the running service manager, with
// sd_booted(3)'s test: /run/systemd/system exists and is a directory.
func Booted() bool {
	fi, err := os.Lstat(bootedPath)
	return err == nil && fi.IsDir()
}
