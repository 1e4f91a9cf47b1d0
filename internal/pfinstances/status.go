package pfinstances

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/postfix-systemd/postfix-instances/internal/systemd"
)

// statusOptions are the status verb's options.
type statusOptions struct {
	*globalOptions
	name  string // -i
	group string // -g
	json  bool
}

// Row statuses, from best to worst for the exit status.
const (
	rowOK        = "ok"        // running as it should (or disabled and stopped)
	rowDisabled  = "disabled"  // multi_instance_enable = no, not running
	rowAttention = "attention" // see the notes
	rowSkipped   = "skipped"   // the generator writes no unit for it
	rowDown      = "down"      // enabled, not running
)

const statusLong = `Show every instance in start order with systemd's view of it: name,
group, enabled, config directory, unit, ActiveState/SubState, the main PID
systemd tracks (the Postfix master), since when it is active, how often
systemd restarted it (NRestarts), and its queue sizes (incoming, active,
deferred, hold), counted from the queue directories. Instances that cannot
run under systemd are shown with the reason; notes below the table say
what needs attention.

Systemd is asked over one D-Bus connection (for root, systemd's private
socket, as systemctl does), a few calls per unit; no systemctl or
postqueue process is run. Where systemd is not the service manager (not
PID 1), or with --root, status says so and shows what the files tell: the
master's PID from its PID file, whether the PID file is locked (a master
runs) and whether that process exists.

-i NAME selects an instance as postmulti -i does (its name, its name
without "postfix-", its config directory, or "-" for the default
instance); -g GROUP the members of a multi_instance_group. Selecting
nothing is an error.

EXIT STATUS, for monitoring

    0  every enabled instance is active (and nothing below applies)
    1  something needs attention: an instance the generator skipped, a unit
       that systemd restarted after a failure (NRestarts > 0) or that waits
       to restart, a stale unit (NeedDaemonReload, or its generated drop-in
       missing or not loaded: run "systemctl daemon-reload"), or a master
       running outside systemd's control
    2  an enabled instance is down (not active; without systemd: no master
       holds its PID file)
    3  usage error, or the instances or systemd could not be read

JSON (--json): one object.

    schema_version    1
    config_directory  the default instance's config directory
    systemd           true when systemd was asked (it is PID 1, no --root)
    exit_status       the exit status, as above
    instances         array, in start order, of every field of
                      "postfix-instances list --json", plus:
      status            ok, disabled, attention, skipped or down
      notes             array of strings: what needs attention, and why
      unit_state        null without systemd, else:
        load_state          LoadState (loaded, not-found, ...)
        active_state        ActiveState (active, inactive, failed, ...)
        sub_state           SubState (running, dead, auto-restart, ...)
        main_pid            MainPID, 0 for none
        active_since        ActiveEnterTimestamp, RFC 3339 in UTC, "" when
                            not active
        n_restarts          NRestarts
        need_daemon_reload  NeedDaemonReload
        drop_in_loaded      whether systemd loaded the generated drop-in
      master            null when not runnable, else the PID file:
        pid                 the PID in it, 0 when there is none
        locked              a process holds its lock (a master runs)
        alive               a process with that PID exists
      queue             null when not counted, else the number of files in
                        each queue: incoming, active, deferred, hold
      queue_error       why the queue could not be counted, or ""`

func newStatusCommand(g *globalOptions) *cobra.Command {
	o := &statusOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "status [-i NAME | -g GROUP]",
		Short: "Show systemd's view of every instance; exit status for monitoring",
		Long:  statusLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.name, "instance", "i", "", "only the instance `NAME` (as postmulti -i)")
	f.StringVarP(&o.group, "group", "g", "", "only the members of `GROUP`")
	f.BoolVar(&o.json, "json", false, "print one JSON document (see below)")
	cmd.MarkFlagsMutuallyExclusive("instance", "group")
	_ = cmd.RegisterFlagCompletionFunc("instance", o.completeNames)
	_ = cmd.RegisterFlagCompletionFunc("group", o.completeGroups)
	return cmd
}

// completeNames offers what -i accepts: "-", names, config directories.
func (o *statusOptions) completeNames(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	m, err := o.completionModel(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, e := range m.Entries {
		switch {
		case e.Default:
			out = append(out, "-")
		case e.Name != "":
			out = append(out, e.Name)
		}
		out = append(out, e.ConfigDir)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeGroups offers the groups of the instances.
func (o *statusOptions) completeGroups(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	m, err := o.completionModel(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range m.Entries {
		if e.Group != "" && !seen[e.Group] {
			seen[e.Group] = true
			out = append(out, e.Group)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completionModel reads the model for a completion function, which cobra
// calls without running PersistentPreRunE.
func (o *statusOptions) completionModel(cmd *cobra.Command) (*model, error) {
	if err := o.prepare(cmd); err != nil {
		return nil, err
	}
	return o.load()
}

// row is one instance's status.
type row struct {
	entry
	Status string
	Notes  []string
	SD     *systemd.UnitStatus // nil without systemd, or for a skipped instance
	Master *masterState        // nil for a skipped instance
	Queue  *queueCounts
	QErr   string
}

func (o *statusOptions) run(ctx context.Context) error {
	m, err := o.load()
	if err != nil {
		return &exitError{ExitUnknown, err}
	}
	sel, err := o.selected(m)
	if err != nil {
		return &exitError{ExitUnknown, err}
	}
	var units []systemd.UnitStatus
	useSystemd := o.askSystemd()
	if useSystemd {
		if units, err = o.unitStatuses(ctx, sel); err != nil {
			return &exitError{ExitUnknown, err}
		}
	}
	alive := o.env.Alive
	if alive == nil {
		alive = processAlive
	}
	rows := make([]row, len(sel))
	k := 0
	for i, e := range sel {
		r := row{entry: e}
		if e.Skip == nil {
			if ms, err := readMaster(o.hostPath(e.PIDFile), alive); err == nil {
				r.Master = &ms
			} else {
				r.Notes = append(r.Notes, fmt.Sprintf("cannot read the PID file: %v", err))
			}
			if useSystemd {
				r.SD = &units[k]
				k++
			}
			if q, err := countQueues(o.hostRoot(), e.QueueDir); err == nil {
				r.Queue = q
			} else {
				r.QErr = err.Error()
			}
		}
		judge(&r)
		rows[i] = r
	}
	code := ExitOK
	for _, r := range rows {
		code = max(code, map[string]int{rowOK: ExitOK, rowDisabled: ExitOK, rowAttention: ExitAttention, rowSkipped: ExitAttention, rowDown: ExitDown}[r.Status])
	}
	w := bufio.NewWriter(o.env.Stdout)
	if o.json {
		err = writeJSON(w, statusDoc(m.ConfigDir, rows, useSystemd, code))
	} else {
		o.writeText(w, rows, useSystemd)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return &exitError{ExitUnknown, fmt.Errorf("write output: %w", err)}
	}
	return &exitError{code: code}
}

// unitStatuses reads the units of the runnable entries of sel, in order,
// over one connection.
func (o *statusOptions) unitStatuses(ctx context.Context, sel []entry) ([]systemd.UnitStatus, error) {
	var names []string
	for _, e := range sel {
		if e.Skip == nil {
			names = append(names, e.Unit)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	sd, err := o.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	return sd.UnitStatuses(ctx, names)
}

// selected applies -i or -g.
func (o *statusOptions) selected(m *model) ([]entry, error) {
	if o.name == "" && o.group == "" {
		return m.Entries, nil
	}
	var out []entry
	for _, e := range m.Entries {
		switch {
		case o.name != "" && (e.Read && e.instance().Matches(o.name) || !e.Read && e.ConfigDir == o.name):
			out = append(out, e)
		case o.group != "" && e.Read && e.instance().InGroup(o.group):
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		if o.name != "" {
			return nil, fmt.Errorf("no instance matches -i %s", o.name)
		}
		return nil, fmt.Errorf("no instance is in group %s", o.group)
	}
	return out, nil
}

// judge sets the row's status and notes.
func judge(r *row) {
	if r.Skip != nil {
		r.Status = rowSkipped
		r.Notes = append(r.Notes, "cannot run under systemd: "+r.Skip.Reason)
		return
	}
	attention := len(r.Notes) > 0
	note := func(format string, a ...any) {
		r.Notes = append(r.Notes, fmt.Sprintf(format, a...))
		attention = true
	}
	running := r.Master != nil && r.Master.Locked
	var up bool
	if s := r.SD; s != nil {
		up = s.Active()
		switch {
		case s.LoadState != "loaded":
			note("systemd reports the unit as %s; run \"systemctl daemon-reload\"", s.LoadState)
		case s.NeedDaemonReload:
			note("the unit's files changed since systemd read them; run \"systemctl daemon-reload\"")
		case !dropInLoaded(s, r.DropIn):
			note("systemd has not loaded the generated drop-in %s; run \"systemctl daemon-reload\"", r.DropIn)
		}
		if s.SubState == "auto-restart" {
			note("the master failed (result %s); systemd waits to restart it; see \"journalctl -u %s\"", s.Result, s.Name)
		} else if s.NRestarts > 0 {
			note("systemd restarted the master %d time%s after a failure since the unit was started; see \"journalctl -u %s\"", s.NRestarts, plural(s.NRestarts), s.Name)
		}
		if running && !up {
			note("a Postfix master (PID %d) runs outside systemd's control; stop it with \"postfix -c %s stop\", then start the unit", r.Master.PID, r.ConfigDir)
		}
	} else {
		up = running
	}
	switch {
	case r.Enabled && !up:
		r.Status = rowDown
		what := "no Postfix master holds its PID file " + r.PIDFile
		if s := r.SD; s != nil {
			what = "the unit is " + s.ActiveState + " (" + s.SubState + ")"
			if s.Result != "" && s.Result != "success" {
				what += ", result " + s.Result
			}
		}
		r.Notes = append([]string{"enabled, but " + what}, r.Notes...)
	case attention:
		r.Status = rowAttention
	case !r.Enabled && !up:
		r.Status = rowDisabled
	default:
		r.Status = rowOK
	}
}

func plural(n uint32) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// dropInLoaded reports whether systemd applies the generated drop-in.
func dropInLoaded(s *systemd.UnitStatus, dropIn string) bool {
	for _, p := range s.DropInPaths {
		if strings.HasSuffix(p, "/"+dropIn) {
			return true
		}
	}
	return false
}

// statusJSON is the status verb's document.
type statusJSON struct {
	SchemaVersion int       `json:"schema_version"`
	ConfigDir     string    `json:"config_directory"`
	Systemd       bool      `json:"systemd"`
	ExitStatus    int       `json:"exit_status"`
	Instances     []rowJSON `json:"instances"`
}

type rowJSON struct {
	instanceJSON
	Status     string         `json:"status"`
	Notes      []string       `json:"notes"`
	UnitState  *unitStateJSON `json:"unit_state"`
	Master     *masterJSON    `json:"master"`
	Queue      *queueCounts   `json:"queue"`
	QueueError string         `json:"queue_error"`
}

type unitStateJSON struct {
	LoadState        string `json:"load_state"`
	ActiveState      string `json:"active_state"`
	SubState         string `json:"sub_state"`
	MainPID          uint32 `json:"main_pid"`
	ActiveSince      string `json:"active_since"`
	NRestarts        uint32 `json:"n_restarts"`
	NeedDaemonReload bool   `json:"need_daemon_reload"`
	DropInLoaded     bool   `json:"drop_in_loaded"`
}

type masterJSON struct {
	PID    int  `json:"pid"`
	Locked bool `json:"locked"`
	Alive  bool `json:"alive"`
}

func statusDoc(configDir string, rows []row, useSystemd bool, code int) statusJSON {
	d := statusJSON{SchemaVersion: SchemaVersion, ConfigDir: configDir, Systemd: useSystemd, ExitStatus: code, Instances: []rowJSON{}}
	for i := range rows {
		r := &rows[i]
		j := rowJSON{instanceJSON: toJSON(&r.entry), Status: r.Status, Notes: r.Notes, Queue: r.Queue, QueueError: r.QErr}
		if j.Notes == nil {
			j.Notes = []string{}
		}
		if s := r.SD; s != nil {
			j.UnitState = &unitStateJSON{
				LoadState: s.LoadState, ActiveState: s.ActiveState, SubState: s.SubState,
				MainPID: s.MainPID, NRestarts: s.NRestarts, NeedDaemonReload: s.NeedDaemonReload,
				DropInLoaded: dropInLoaded(s, r.DropIn),
			}
			if s.Active() && !s.ActiveEnterTimestamp.IsZero() {
				j.UnitState.ActiveSince = s.ActiveEnterTimestamp.UTC().Format(time.RFC3339)
			}
		}
		if ms := r.Master; ms != nil {
			j.Master = &masterJSON{PID: ms.PID, Locked: ms.Locked, Alive: ms.Alive}
		}
		d.Instances = append(d.Instances, j)
	}
	return d
}

func (o *statusOptions) writeText(w io.Writer, rows []row, useSystemd bool) {
	switch {
	case o.foreignRoot():
		fmt.Fprintf(w, "Instances below %s (--root): systemd not asked; state from the masters' PID files.\n\n", o.root)
	case !useSystemd:
		fmt.Fprintln(w, "systemd is not the service manager here (not PID 1): state from the masters' PID files.")
		fmt.Fprintln(w)
	}
	loc := o.env.Location
	if loc == nil {
		loc = time.Local
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGROUP\tENABLED\tCONFIG DIRECTORY\tUNIT\tSTATE\tMAIN PID\tSINCE\tRESTARTS\tQUEUE I/A/D/H\tSTATUS")
	for _, r := range rows {
		name, group, enabled := r.label(), dash(r.Group), yn(r.Enabled)
		if !r.Read {
			name, group, enabled = "?", "?", "?"
		}
		state, pid, since, restarts := "-", "-", "-", "-"
		switch {
		case r.SD != nil:
			s := r.SD
			state = s.ActiveState + "/" + s.SubState
			if s.MainPID != 0 {
				pid = strconv.FormatUint(uint64(s.MainPID), 10)
			}
			if s.Active() && !s.ActiveEnterTimestamp.IsZero() {
				since = s.ActiveEnterTimestamp.In(loc).Format("2006-01-02 15:04:05 MST")
			}
			restarts = strconv.FormatUint(uint64(s.NRestarts), 10)
		case r.Master != nil:
			state = "stopped"
			if r.Master.Locked {
				state = "running"
			}
			if r.Master.PID != 0 {
				pid = strconv.Itoa(r.Master.PID)
				if !r.Master.Alive {
					pid += " (gone)"
				}
			}
		}
		queue := "-"
		switch {
		case r.Queue != nil:
			queue = fmt.Sprintf("%d/%d/%d/%d", r.Queue.Incoming, r.Queue.Active, r.Queue.Deferred, r.Queue.Hold)
		case r.QErr != "":
			queue = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, group, enabled, r.ConfigDir, dash(r.Unit), state, pid, since, restarts, queue, r.Status)
	}
	tw.Flush()
	first := true
	for _, r := range rows {
		who := r.Unit
		if who == "" {
			who = r.ConfigDir
		}
		notes := r.Notes
		if r.QErr != "" && r.Skip == nil {
			notes = append(notes[:len(notes):len(notes)], "queue not counted: "+r.QErr)
		}
		for _, n := range notes {
			if first {
				fmt.Fprintln(w)
				first = false
			}
			fmt.Fprintf(w, "%s: %s: %s\n", who, r.Status, n)
		}
	}
}
