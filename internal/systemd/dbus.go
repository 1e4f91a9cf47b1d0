package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
)

// jobMode is the mode of every job we queue: like systemctl's default, a
// conflicting queued job is replaced.
const jobMode = "replace"

// connPoll is how often a job wait checks that the bus connection is still
// up: go-systemd delivers job results only while it is.
const connPoll = time.Second

// dbusManager is Manager over a go-systemd connection.
type dbusManager struct {
	conn *sdbus.Conn
}

// Connect dials systemd: the system bus first and, for root, systemd's
// private socket /run/systemd/private when the bus is unavailable (as
// systemctl does early in boot). It subscribes to the manager's signals so
// that job completions (JobRemoved) reach us on either kind of connection.
func Connect(ctx context.Context) (Manager, error) {
	return connect(sdbus.NewWithContext(ctx))
}

// ConnectQuery dials systemd for reading unit state, as systemctl does:
// root directly on systemd's private socket /run/systemd/private, with no
// dbus-daemon between every call and its answer (postfix-instances status
// at 100 units: about a quarter faster), and anyone else, or root when
// that fails, on the system bus (Connect).
func ConnectQuery(ctx context.Context) (Manager, error) {
	if os.Geteuid() == 0 {
		if m, err := connectPrivate(ctx); err == nil {
			return m, nil
		}
	}
	return Connect(ctx)
}

// connectPrivate dials systemd's private socket only (tests use it to cover
// that path as well).
func connectPrivate(ctx context.Context) (Manager, error) {
	return connect(sdbus.NewSystemdConnectionContext(ctx))
}

func connect(conn *sdbus.Conn, err error) (Manager, error) {
	if err != nil {
		return nil, fmt.Errorf("connect to systemd: %w", err)
	}
	// On the private socket systemd sends JobRemoved only to subscribed
	// connections, and go-systemd listens for it on a second connection
	// from the one that queued the job.
	if err := conn.Subscribe(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("subscribe to systemd's signals: %w", err)
	}
	return &dbusManager{conn: conn}, nil
}

type jobFunc func(ctx context.Context, name, mode string, ch chan<- string) (int, error)

// job queues one job and waits for its result on a buffered channel, so
// that go-systemd's dispatcher never blocks on us even after we gave up.
func (m *dbusManager) job(ctx context.Context, op, unit string, queue jobFunc) error {
	ch := make(chan string, 1)
	if _, err := queue(ctx, unit, jobMode, ch); err != nil {
		return fmt.Errorf("%s %s: %w", op, unit, err)
	}
	tick := time.NewTicker(connPoll)
	defer tick.Stop()
	for {
		select {
		case result := <-ch:
			if result != "done" {
				return &JobError{Op: op, Unit: unit, Result: result}
			}
			return nil
		case <-tick.C:
			if !m.conn.Connected() {
				return fmt.Errorf("%s %s: lost the connection to systemd while waiting for the job; see \"systemctl status %s\"", op, unit, unit)
			}
		case <-ctx.Done():
			return fmt.Errorf("%s %s: gave up waiting for the job, which stays queued (see \"systemctl list-jobs\"): %w", op, unit, ctx.Err())
		}
	}
}

func (m *dbusManager) StartUnit(ctx context.Context, unit string) error {
	return m.job(ctx, OpStart, unit, m.conn.StartUnitContext)
}

func (m *dbusManager) StopUnit(ctx context.Context, unit string) error {
	return m.job(ctx, OpStop, unit, m.conn.StopUnitContext)
}

func (m *dbusManager) ReloadUnit(ctx context.Context, unit string) error {
	return m.job(ctx, OpReload, unit, m.conn.ReloadUnitContext)
}

func (m *dbusManager) UnitStatus(ctx context.Context, unit string) (UnitStatus, error) {
	s, err := m.unitProperties(ctx, unit)
	if err != nil || s.LoadState != "loaded" || !isService(unit) {
		return s, err
	}
	svc, err := m.conn.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		return s, fmt.Errorf("read service properties of %s: %w", unit, err)
	}
	s.MainPID, _ = svc["MainPID"].(uint32)
	s.ExecMainPID, _ = svc["ExecMainPID"].(uint32)
	s.NRestarts, _ = svc["NRestarts"].(uint32)
	s.Result, _ = svc["Result"].(string)
	return s, nil
}

func isService(unit string) bool {
	const suffix = ".service"
	return len(unit) > len(suffix) && unit[len(unit)-len(suffix):] == suffix
}

func (m *dbusManager) Reload(ctx context.Context) error {
	if err := m.conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	return nil
}

func (m *dbusManager) Close() error {
	if m.conn == nil {
		return errors.New("systemd connection already closed")
	}
	m.conn.Close()
	m.conn = nil
	return nil
}

// statusWorkers is how many property reads UnitStatuses keeps in flight
// on the one connection.
const statusWorkers = 8

// UnitStatuses reads every unit's Unit properties with one
// org.freedesktop.DBus.Properties.GetAll call and, for a loaded service,
// the Service properties we show with one Get each (MainPID, NRestarts,
// and Result for a unit that is not active): systemd has no
// method that returns service properties for many units at once, and a
// GetAll of every interface (what "systemctl show" asks) makes systemd
// serialize some 300 properties per unit, which costs it more than these
// four small calls. The calls are pipelined over the one connection.
func (m *dbusManager) UnitStatuses(ctx context.Context, units []string) ([]UnitStatus, error) {
	out := make([]UnitStatus, len(units))
	errs := make([]error, len(units))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(statusWorkers, len(units)) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = m.status(ctx, units[i])
			}
		})
	}
	for i := range units {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// unitProperties reads what UnitStatus shows of the Unit interface, with
// one GetAll.
func (m *dbusManager) unitProperties(ctx context.Context, unit string) (UnitStatus, error) {
	s := UnitStatus{Name: unit}
	props, err := m.conn.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return s, fmt.Errorf("read properties of %s: %w", unit, err)
	}
	s.LoadState, _ = props["LoadState"].(string)
	s.ActiveState, _ = props["ActiveState"].(string)
	s.SubState, _ = props["SubState"].(string)
	s.FragmentPath, _ = props["FragmentPath"].(string)
	s.DropInPaths, _ = props["DropInPaths"].([]string)
	s.NeedDaemonReload, _ = props["NeedDaemonReload"].(bool)
	if us, _ := props["ActiveEnterTimestamp"].(uint64); us != 0 {
		s.ActiveEnterTimestamp = time.UnixMicro(int64(us))
	}
	return s, nil
}

func (m *dbusManager) status(ctx context.Context, unit string) (UnitStatus, error) {
	s, err := m.unitProperties(ctx, unit)
	if err != nil || s.LoadState != "loaded" || !isService(unit) {
		return s, err
	}
	props2 := map[string]any{"MainPID": &s.MainPID, "NRestarts": &s.NRestarts}
	if !s.Active() {
		props2["Result"] = &s.Result // why it is not
	}
	for name, dst := range props2 {
		p, err := m.conn.GetServicePropertyContext(ctx, unit, name)
		if err != nil {
			return s, fmt.Errorf("read %s of %s: %w", name, unit, err)
		}
		if err := p.Value.Store(dst); err != nil {
			return s, fmt.Errorf("read %s of %s: %w", name, unit, err)
		}
	}
	return s, nil
}
