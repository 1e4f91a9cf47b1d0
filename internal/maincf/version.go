package maincf

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
)

// One table of compiled-in defaults per Postfix series we support, each
// generated from that series' own "postconf -d" (gendefaults.go): 3.7 on
// Debian 12, 3.10 on Debian 13, 3.11 on sid. The table in use is chosen at
// run time by the installed Postfix's version (InstalledDefaults).

// builtinSeries lists the generated tables, oldest first.
var builtinSeries = []struct {
	series string
	params []param
}{
	{"3.7", params3_7},
	{"3.10", params3_10},
	{"3.11", params3_11},
}

// Series lists the Postfix series (MAJOR.MINOR) that have a table, oldest
// first.
func Series() []string {
	out := make([]string, len(builtinSeries))
	for i, s := range builtinSeries {
		out[i] = s.series
	}
	return out
}

// seriesTable builds the table of builtinSeries[i] (each Table its own,
// with its own flags: read-only and legacy parameters differ between
// versions).
func seriesTable(i int, version string) *Table {
	ps := builtinSeries[i].params
	t := &Table{values: make(map[string]string, len(ps)), flags: map[string]ParamFlags{}, scanFree: true}
	for _, p := range ps {
		t.values[p.name] = p.value
		if p.flags != 0 {
			t.flags[p.name] = p.flags
		}
	}
	if v, _ := parseVersion(builtinSeries[i].series); v[0] > 3 || v[0] == 3 && v[1] >= 11 {
		t.fns = postconfFns // ${domain_to_ascii{...}}: mac_expand of 3.11
	}
	if version != "" {
		// Another patch level of the same series: mail_version is the
		// one default known to differ (it has no '$': still scan-free).
		// mail_release_date cannot be known without running postconf
		// and stays the table's.
		t.values["mail_version"] = version
	}
	return t
}

// dpkgStatus is where dpkg records the installed packages' versions.
const dpkgStatus = "var/lib/dpkg/status"

// Selection says which table of defaults was chosen and why.
type Selection struct {
	// Installed is the upstream version of the installed Postfix
	// ("3.10.13"); "" when it could not be found.
	Installed string
	// Source is where Installed was read, or why it could not be.
	Source string
	// Series is the series of the table in use ("3.10").
	Series string
	// Exact says the table is the installed Postfix's own series.
	Exact bool
}

// Warning explains, in a sentence, why the defaults in use may differ from
// the installed Postfix's; "" when the table is its own.
func (s Selection) Warning() string {
	switch {
	case s.Exact:
		return ""
	case s.Installed == "":
		return fmt.Sprintf("cannot tell which Postfix is installed (%s); using the compiled-in defaults of Postfix %s", s.Source, s.Series)
	default:
		return fmt.Sprintf("no compiled-in defaults for Postfix %s (read from %s); using those of Postfix %s, the nearest older version known (known: %s)",
			s.Installed, s.Source, s.Series, strings.Join(Series(), ", "))
	}
}

// parseVersion turns "3.10.13" (or "3.11") into its numbers; ok is false
// unless it starts with MAJOR.MINOR.
func parseVersion(v string) (nums []int, ok bool) {
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			break
		}
		nums = append(nums, n)
	}
	return nums, len(nums) >= 2
}

// SelectDefaults returns the table for Postfix version (upstream
// MAJOR.MINOR[.PATCH]): that series' own table when there is one (with
// mail_version set to version), else the nearest older series', else, for
// a version older than every table or one that does not parse, the
// oldest. Never nil: a Postfix the product has no data for still gets
// defaults, and the Selection says so (Warning).
func SelectDefaults(version string) (*Table, Selection) {
	sel := Selection{Installed: version, Source: "the caller"}
	return selectDefaults(sel)
}

func selectDefaults(sel Selection) (*Table, Selection) {
	want, ok := parseVersion(sel.Installed)
	best := 0
	if ok {
		for i, s := range builtinSeries {
			have, _ := parseVersion(s.series)
			if have[0] < want[0] || have[0] == want[0] && have[1] <= want[1] {
				best = i
			}
			if have[0] == want[0] && have[1] == want[1] {
				sel.Exact = true
			}
		}
	}
	sel.Series = builtinSeries[best].series
	version := ""
	if sel.Exact && len(want) >= 3 {
		version = sel.Installed
	}
	return seriesTable(best, version), sel
}

// InstalledVersion reads the upstream version of the installed Postfix
// from dpkg's status file under fsys (rooted at "/"): the Version of
// package postfix, without epoch and Debian revision. This is what apt
// and dpkg go by; it costs one read of a file of a few hundred kB and no
// process, so a generator can afford it at boot. source names the file.
func InstalledVersion(fsys fs.FS) (version, source string, err error) {
	source = "/" + dpkgStatus
	data, err := fs.ReadFile(fsys, dpkgStatus)
	if err != nil {
		return "", source, err
	}
	v, err := postfixFromStatus(data)
	if err != nil {
		return "", source, fmt.Errorf("%s: %w", source, err)
	}
	return v, source, nil
}

// postfixFromStatus finds package postfix's stanza in a dpkg status file.
func postfixFromStatus(data []byte) (string, error) {
	const key = "Package: postfix\n"
	i := 0
	for {
		j := bytes.Index(data[i:], []byte(key))
		if j < 0 {
			return "", fmt.Errorf("package postfix is not installed")
		}
		start := i + j
		i = start + len(key)
		if start > 0 && data[start-1] != '\n' {
			continue // a field that ends in "Package: postfix"
		}
		end := bytes.Index(data[start:], []byte("\n\n"))
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		stanza := string(data[start:end])
		status, version := field(stanza, "Status"), field(stanza, "Version")
		if !filesPresent(status) {
			return "", fmt.Errorf("package postfix is not installed (status %q)", status)
		}
		if version == "" {
			return "", fmt.Errorf("package postfix has no Version")
		}
		return upstreamVersion(version), nil
	}
}

// field returns the value of a single-line field of a deb822 stanza.
func field(stanza, name string) string {
	for _, l := range strings.Split(stanza, "\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// filesPresent: the package's files are on disk in these dpkg states.
func filesPresent(status string) bool {
	f := strings.Fields(status)
	if len(f) != 3 {
		return false
	}
	switch f[2] {
	case "installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending":
		return true
	}
	return false
}

// upstreamVersion strips a Debian version's epoch and revision and what
// follows the leading dotted numbers: "1:3.10.13-0+deb13u1" -> "3.10.13".
func upstreamVersion(v string) string {
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	end := 0
	for end < len(v) && (v[end] == '.' || v[end] >= '0' && v[end] <= '9') {
		end++
	}
	return strings.TrimRight(v[:end], ".")
}

// InstalledDefaults returns the table for the Postfix installed under
// fsys (rooted at "/"), see InstalledVersion and SelectDefaults, with the
// link-time overrides of buildDefaults applied.
//
// What it does for a Postfix it has no table for: a version newer than
// the newest table (or between two) gets the nearest older table; one
// older than all, or one it cannot find out (no dpkg: an RPM system, a
// test tree), the oldest (3.7). It never fails: a generator must not
// block boot. The Selection says what happened; callers log its Warning
// (the generator: as a warning when a version was found and has no table
// of its own, at debug level when none was found).
func InstalledDefaults(fsys fs.FS) (*Table, Selection) {
	v, source, err := InstalledVersion(fsys)
	sel := Selection{Installed: v, Source: source}
	if err != nil {
		sel.Source = err.Error()
	}
	t, sel := selectDefaults(sel)
	applyOverrides(t, buildDefaults)
	return t, sel
}

var (
	builtinOnce sync.Once
	builtinTab  *Table
	builtinSel  Selection
)

// builtin is the process's built-in table: the installed Postfix's
// (InstalledDefaults of "/"), with the link-time overrides of buildDefaults.
func builtin() *Table {
	builtinOnce.Do(func() {
		builtinTab, builtinSel = InstalledDefaults(os.DirFS("/"))
	})
	return builtinTab
}

// BuiltinSelection says which table BuiltinDefaults uses and why; callers
// that log (the generator, postmulti) print its Warning.
func BuiltinSelection() Selection {
	builtin()
	return builtinSel
}

// behaviourSeries, when set (tests), replaces the installed Postfix's
// series in postfixAtLeast.
var behaviourSeries string

// postfixAtLeast says whether the Postfix whose behaviour main.cf reading
// and editing follow (the series of the built-in table: the installed
// one's) is major.minor or newer.
func postfixAtLeast(major, minor int) bool {
	series := behaviourSeries
	if series == "" {
		series = BuiltinSelection().Series
	}
	v, _ := parseVersion(series)
	return v[0] > major || v[0] == major && v[1] >= minor
}
