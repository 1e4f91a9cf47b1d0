package check

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
)

// SchemaVersion is the "schema_version" of WriteJSON's output. It changes
// only when a field changes meaning or goes away; new fields may be added
// without a change.
const SchemaVersion = 1

// Severity is how bad a finding is.
type Severity string

// The severities. An error is something that breaks mail or the units
// (two listeners on one socket, a mail loop, an instance systemd cannot
// start); a warning is something that will bite later or under some
// condition (a stale unit, a filter that points at nothing now).
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// The checks, by their stable identifiers (Finding.Check).
const (
	// CheckListen: two inet services, of two instances or of one, bound
	// to the same address and port (a wildcard address counts as every
	// address of its family).
	CheckListen = "listen-conflict"
	// CheckSharedQueue, CheckSharedData: two instances with the same
	// queue_directory or data_directory.
	CheckSharedQueue = "shared-queue-directory"
	CheckSharedData  = "shared-data-directory"
	// CheckDuplicateName: two instances with the same multi_instance_name.
	CheckDuplicateName = "duplicate-name"
	// CheckDuplicateDir: one config directory listed twice.
	CheckDuplicateDir = "duplicate-config-directory"
	// CheckUnitName: a name or group that a systemd unit cannot carry.
	CheckUnitName = "unit-name"
	// CheckUnreadable: an instance that cannot be read at all (a missing
	// or malformed main.cf, a bad multi_instance_enable, a relative
	// path): the generator skips it.
	CheckUnreadable = "unreadable-instance"
	// CheckHostnameLoop: two instances with the same myhostname, one
	// relaying to the other ("mail for X loops back to myself").
	CheckHostnameLoop = "myhostname-loop"
	// CheckNexthop: a content filter, relay host, transport or smtp/lmtp
	// destination on a loopback address and port where nothing listens.
	CheckNexthop = "loopback-nexthop"
	// CheckUnitUnknown: an enabled instance whose unit systemd does not
	// know (the generator has not run since it was added).
	CheckUnitUnknown = "unit-unknown"
	// CheckDaemonReload: an enabled instance whose generated drop-in is
	// older than its main.cf, or that systemd says needs a daemon-reload.
	CheckDaemonReload = "daemon-reload-due"
	// CheckDebianEnable: on the Debian13 layout, "systemctl enable
	// postfix@X" and multi_instance_enable disagree.
	CheckDebianEnable = "debian-enable-mismatch"
)

// Finding is one problem check found.
type Finding struct {
	Severity Severity `json:"severity"`
	// Instance names the instance: its multi_instance_name, "-" for the
	// default instance, the config directory for a nameless one; "" when
	// the finding is about no single instance.
	Instance string `json:"instance"`
	File     string `json:"file"`           // the file the finding comes from, "" when none
	Line     int    `json:"line,omitempty"` // its line, 0 when unknown or not one line
	Check    string `json:"check"`          // the stable identifier of the check
	Message  string `json:"message"`        // what is wrong, one line
	Fix      string `json:"fix"`            // how to fix it, one line

	order int // the instance's start-order position, for sorting
}

// Report is what Run found.
type Report struct {
	Findings []Finding
	// Notes say what could not be checked and why (a hashed map that only
	// Postfix can read, no running systemd, a master.cf missing). They do
	// not change the exit code.
	Notes []string
	// Instances is how many instances were checked.
	Instances int
}

// Units is the part of systemd's manager the checks ask: what it has
// loaded for a unit. systemd.Manager satisfies it.
type Units interface {
	UnitStatus(ctx context.Context, unit string) (systemd.UnitStatus, error)
}

// Input is what Run checks.
type Input struct {
	// Set is the host's instances (instance.Load on FS).
	Set *instance.Set
	// FS is the host's file system, rooted at "/" (os.DirFS("/") in
	// production, a test tree in tests): master.cf files, text maps,
	// /proc/net/tcp{,6} (sockets something listens on now),
	// /run/systemd (generated drop-ins, whether systemd runs),
	// /etc/systemd/system (enabled units). The layout (which units run
	// which instance) is Set.Layout's, detected when Set was loaded.
	FS fs.FS
	// Systemd, when not nil, is the running service manager. Without it,
	// the unit checks read only the file system: systemd is running when
	// /run/systemd/system exists, and an enabled instance without a
	// generated drop-in is one systemd does not know.
	Systemd Units
}

// Run runs every check on in. It reads only through in.FS and
// in.Systemd and never fails: what it cannot check, it says in Notes.
func Run(ctx context.Context, in Input) Report {
	c := &checker{ctx: ctx, in: in, fsys: in.FS}
	c.load()
	c.problems()
	c.listen()
	c.relays()
	c.units()
	c.debian()
	r := Report{Findings: c.findings, Notes: c.notes, Instances: len(c.insts)}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.order, b.order), cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line), cmp.Compare(a.Check, b.Check), cmp.Compare(a.Message, b.Message))
	})
	r.Findings = slices.CompactFunc(r.Findings, func(a, b Finding) bool { return a == b })
	slices.Sort(r.Notes)
	r.Notes = slices.Compact(r.Notes)
	return r
}

// Counts returns the number of errors and of warnings.
func (r Report) Counts() (errors, warnings int) {
	for _, f := range r.Findings {
		if f.Severity == Error {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

// ExitCode is the command's exit status: 0 when nothing was found, 1
// when only warnings were, 2 when there is an error.
func (r Report) ExitCode() int {
	e, w := r.Counts()
	switch {
	case e > 0:
		return 2
	case w > 0:
		return 1
	}
	return 0
}

// WriteText writes the report for people: one paragraph per finding
// (severity, instance, FILE:LINE, check, message, then the fix), the
// notes, and a summary line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		inst := f.Instance
		if inst == "" {
			inst = "(all)"
		}
		where := f.File
		if f.Line > 0 {
			where = fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if where == "" {
			where = "-"
		}
		fmt.Fprintf(&b, "%s: %s: %s: %s [%s]\n    fix: %s\n", f.Severity, inst, where, f.Message, f.Check, f.Fix)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	e, wn := r.Counts()
	fmt.Fprintf(&b, "%s, %s in %s\n", plural(e, "error"), plural(wn, "warning"), plural(r.Instances, "instance"))
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// jsonReport is WriteJSON's document; doc.go describes it.
type jsonReport struct {
	SchemaVersion int       `json:"schema_version"`
	Instances     int       `json:"instances"`
	Errors        int       `json:"errors"`
	Warnings      int       `json:"warnings"`
	Findings      []Finding `json:"findings"`
	Notes         []string  `json:"notes"`
}

// WriteJSON writes the report as one JSON document (see the package
// documentation), indented, with a final newline.
func (r Report) WriteJSON(w io.Writer) error {
	e, wn := r.Counts()
	doc := jsonReport{SchemaVersion: SchemaVersion, Instances: r.Instances, Errors: e, Warnings: wn,
		Findings: r.Findings, Notes: r.Notes}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	if doc.Notes == nil {
		doc.Notes = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
