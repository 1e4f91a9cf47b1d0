package maincf

//go:generate go run gendefaults.go

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Defaults are compiled-in parameter defaults (postconf -d).
type Defaults interface {
	Default(name string) (value string, ok bool)
}

// ParamFlags say how postconf treats a built-in parameter.
type ParamFlags uint8

const (
	// FlagRaw parameters are never $-expanded by postconf -x: their
	// $names are expanded by the daemons at run time.
	FlagRaw ParamFlags = 1 << iota
	// FlagReadOnly parameters ignore main.cf assignments, with a warning.
	FlagReadOnly
	// FlagLegacy parameters are known but "postconf -d" does not list them.
	FlagLegacy
	// FlagHost parameters have a default computed from the host and from
	// main.cf: myhostname, mydomain, mynetworks and process_id.
	FlagHost
)

// FlagDefaults is implemented by Defaults that also know parameter flags.
// A Config whose Defaults lack it uses the flags of BuiltinDefaults.
type FlagDefaults interface {
	Defaults
	Flags(name string) ParamFlags
}

// Table is a set of compiled-in defaults with their flags; it implements
// FlagDefaults.
type Table struct {
	values map[string]string
	flags  map[string]ParamFlags

	scanOnce sync.Once
	scans    map[string]defaultScan // see scanned
	host     []string
}

// defaultScan is what scanning a default value finds: the $names it
// references (in order, repeats kept) and the warnings it causes.
type defaultScan struct {
	refs     []string
	warnings []string
}

// scanned returns what postconf's scan of the default values finds that
// can matter for a main.cf: for each non-raw, non-host parameter whose
// default refers to a $name unknown to the table or causes warnings, the
// scan; and the host parameters, which must be computed. A reference to a
// known name has no effect whatever main.cf holds, so this is computed
// once per table instead of once per main.cf.
func (t *Table) scanned() (scans map[string]defaultScan, host []string) {
	t.scanOnce.Do(func() {
		t.scans = map[string]defaultScan{}
		for _, name := range t.Names() {
			if t.flags[name]&FlagHost != 0 {
				t.host = append(t.host, name)
			}
			if t.flags[name]&(FlagRaw|FlagHost) != 0 {
				continue
			}
			var ds defaultScan
			unknown := false
			e := macEngine{warn: func(w string) { ds.warnings = append(ds.warnings, w) }}
			e.expand(t.values[name], macScan, func(ref string, _ int) (string, bool) {
				ds.refs = append(ds.refs, ref)
				_, known := t.values[ref]
				unknown = unknown || !known
				return "", false
			})
			if unknown || len(ds.warnings) > 0 {
				t.scans[name] = ds
			}
		}
	})
	return t.scans, t.host
}

// Default returns the compiled-in default of name.
func (t *Table) Default(name string) (string, bool) {
	v, ok := t.values[name]
	return v, ok
}

// Flags returns how postconf treats name.
func (t *Table) Flags(name string) ParamFlags { return t.flags[name] }

// Names returns the parameter names in the table, sorted.
func (t *Table) Names() []string {
	names := make([]string, 0, len(t.values))
	for n := range t.values {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// With returns a copy of t where name defaults to value (for another
// distribution's layout, e.g. daemon_directory = /usr/libexec/postfix).
func (t *Table) With(name, value string) *Table {
	n := &Table{values: make(map[string]string, len(t.values)+1), flags: t.flags} // scans recomputed
	for k, v := range t.values {
		n.values[k] = v
	}
	n.values[name] = value
	return n
}

//go:embed defaults.txt
var defaultsTxt string

//go:embed params.txt
var paramsTxt string

// buildDefaults overrides built-in defaults at link time, for distributions
// whose Postfix is built with other directories than Debian's:
//
//	go build -ldflags "-X 'github.com/postfix-systemd/postfix-instances/internal/maincf.buildDefaults=daemon_directory=/usr/libexec/postfix;shlib_directory=/usr/lib64/postfix'"
//
// It is a ';'-separated list of name=value.
var buildDefaults string

var (
	builtinOnce  sync.Once
	builtinTable *Table
)

// BuiltinDefaults returns the defaults of the Postfix build we ship for
// (generated from postconf -d of Postfix 3.7.11, see gendefaults.go), with
// the link-time overrides of buildDefaults applied.
func BuiltinDefaults() Defaults { return builtin() }

func builtin() *Table {
	builtinOnce.Do(func() {
		t, err := parseDefaults(strings.NewReader(defaultsTxt), parseFlags(paramsTxt))
		if err != nil {
			panic("maincf: embedded defaults.txt: " + err.Error())
		}
		applyOverrides(t, buildDefaults)
		builtinTable = t
	})
	return builtinTable
}

// applyOverrides sets the "name=value;name=value" defaults of spec in t.
func applyOverrides(t *Table, spec string) {
	for _, kv := range strings.Split(spec, ";") {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(name) != "" {
			t.values[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
}

func parseFlags(text string) map[string]ParamFlags {
	flags := map[string]ParamFlags{}
	kinds := map[string]ParamFlags{"raw": FlagRaw, "readonly": FlagReadOnly, "legacy": FlagLegacy, "host": FlagHost}
	for _, l := range strings.Split(text, "\n") {
		kind, name, ok := strings.Cut(l, " ")
		if ok && kinds[kind] != 0 {
			flags[name] |= kinds[kind]
		}
	}
	return flags
}

// ParseDefaults builds a Table from the output of "postconf -d" of another
// Postfix build (e.g. an RPM system's), so that the defaults of that build
// are used without running postconf per instance. Parameter flags come from
// the built-in Postfix 3.7 list; legacy parameters default to "".
func ParseDefaults(r io.Reader) (*Table, error) {
	return parseDefaults(r, parseFlags(paramsTxt))
}

func parseDefaults(r io.Reader, flags map[string]ParamFlags) (*Table, error) {
	t := &Table{values: map[string]string{}, flags: flags}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		name, value, msg := splitNameval([]byte(l))
		if msg != "" {
			return nil, fmt.Errorf("postconf -d output, line %d: %s", n, msg)
		}
		t.values[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read postconf -d output: %w", err)
	}
	for name, f := range flags {
		if _, ok := t.values[name]; !ok && f&FlagLegacy != 0 {
			t.values[name] = ""
		}
	}
	return t, nil
}
