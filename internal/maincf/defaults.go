package maincf

//go:generate go run gendefaults.go

import (
	"bufio"
	"fmt"
	"io"
	"slices"
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
// FlagDefaults. A Table must not change once a Config has used it: what
// depends only on the table is computed once (see prep).
type Table struct {
	values map[string]string
	flags  map[string]ParamFlags
	// scanFree is set for the built-in table as generated: gendefaults.go
	// made sure that none of its defaults needs postconf's start-up scan
	// (see tableInfo.scans), so prep does not scan them at run time.
	scanFree bool
	// fns are the ${name{text}} functions of this Postfix's macro
	// expansion (Postfix 3.11 and later); nil before.
	fns map[string]namedFn

	prepOnce sync.Once
	info     *tableInfo
}

// param is one built-in parameter (see defaults_gen.go).
type param struct {
	name, value string
	flags       ParamFlags
}

// tableInfo is what a Config's load would otherwise compute again for
// every main.cf although it depends on the defaults alone.
type tableInfo struct {
	// scans holds, for each non-raw, non-host parameter whose default
	// refers to a $name unknown to the table or causes warnings, what
	// postconf's start-up scan of that default finds; scanNames are its
	// keys, sorted. A reference to a known name has no effect whatever
	// main.cf holds, so the other defaults need no scan per main.cf.
	scans     map[string]defaultScan
	scanNames []string
	// host are the FlagHost parameters, sorted: their defaults are
	// computed per main.cf (and from the host, once per process).
	host []string
	// refs maps a name to the $names that its default refers to (in any
	// branch, deduplicated), or to nil when the scan is not clean
	// (warnings, parse error) or name is a host parameter; computed on
	// first use.
	refs sync.Map

	fixed sync.Map // name -> *fixedExp, computed on first use (see fixedExp)
}

// defaultScan is what scanning a default value finds: the $names it
// references (in order, repeats kept) and the warnings it causes.
type defaultScan struct {
	refs     []string
	warnings []string
}

// prep computes the table's tableInfo once. The built-in table's defaults
// are not scanned (scanFree): gendefaults.go checked that postconf reads
// an empty main.cf without a warning, which it would print for a default
// that refers to an unknown $name or does not scan cleanly
// (TestBuiltinScanFree checks it again with scan).
func (t *Table) prep() *tableInfo {
	t.prepOnce.Do(func() {
		in := &tableInfo{}
		for name, f := range t.flags {
			if _, ok := t.values[name]; ok && f&FlagHost != 0 {
				in.host = append(in.host, name)
			}
		}
		slices.Sort(in.host)
		if !t.scanFree {
			in.scans = map[string]defaultScan{}
			for _, name := range t.Names() {
				if t.flags[name]&(FlagHost|FlagRaw) != 0 {
					continue
				}
				if ds, unknown, _ := t.scan(name); unknown || len(ds.warnings) > 0 {
					in.scans[name] = ds
					in.scanNames = append(in.scanNames, name) // sorted: Names is
				}
			}
		}
		t.info = in
	})
	return t.info
}

// scan scans name's default like postconf's start-up does. clean is
// false when the scan warns or fails. A value without '$' refers to
// nothing and cannot warn.
func (t *Table) scan(name string) (ds defaultScan, unknown, clean bool) {
	if strings.IndexByte(t.values[name], '$') < 0 {
		return ds, false, true
	}
	defer func() {
		if recover() != nil { // a crash: pathological custom defaults
			clean = false
		}
	}()
	e := macEngine{warn: func(w string) { ds.warnings = append(ds.warnings, w) }, fns: t.fns}
	_, st := e.expand(t.values[name], macScan, func(ref string, _ int) (string, bool) {
		ds.refs = append(ds.refs, ref)
		_, known := t.values[ref]
		unknown = unknown || !known
		return "", false
	})
	return ds, unknown, len(ds.warnings) == 0 && st&macParseError == 0
}

// refsOf returns what a clean scan of name's default finds, deduplicated,
// and false for a host parameter or a scan that is not clean.
func (in *tableInfo) refsOf(t *Table, name string) ([]string, bool) {
	if r, ok := in.refs.Load(name); ok {
		refs := r.([]string)
		return refs, refs != nil
	}
	var refs []string
	if t.flags[name]&FlagHost == 0 {
		if ds, _, clean := t.scan(name); clean {
			refs = make([]string, 0, len(ds.refs))
			for _, r := range ds.refs {
				if !slices.Contains(refs, r) {
					refs = append(refs, r)
				}
			}
		}
	}
	in.refs.Store(name, refs)
	return refs, refs != nil
}

// fixedExp is the $-expansion (postconf -x) of a default whose value
// cannot depend on main.cf: its default and those it refers to,
// transitively, refer to no host parameter, and scan cleanly. It is valid
// for a main.cf that assigns neither the parameter nor any of deps: then
// every name the expansion looks up misses main.cf and finds the same
// default, and the expansion is the same as with an empty main.cf. To be
// substituted for that expansion inside another one, it also records what
// the expansion costs the macro engine's budgets (see macEngine).
type fixedExp struct {
	deps   []string // every name the expansion may look up, transitively
	out    string
	status int // the MAC_PARSE_* bits (never macParseError)
	steps  int // the callbacks it takes (macEngine.steps)
	maxOld int // the highest nesting counter reached, from 0 (macCtx.level)
	depth  int // how much deeper relational operands nest (macEngine.depth)
}

// fixedDefault returns the fixedExp of name, or nil when name's default
// may depend on main.cf in other ways than through deps, or its
// expansion fails or warns (those are left to the ordinary path).
func (in *tableInfo) fixedDefault(t *Table, name string) *fixedExp {
	if x, ok := in.fixed.Load(name); ok {
		return x.(*fixedExp)
	}
	x := in.computeFixed(t, name)
	in.fixed.Store(name, x)
	return x
}

func (in *tableInfo) computeFixed(t *Table, name string) (x *fixedExp) {
	value, ok := t.values[name]
	if !ok {
		return nil
	}
	if _, ok := in.refsOf(t, name); !ok {
		return nil // a host parameter, or a default that does not scan cleanly
	}
	// The transitive closure of the references.
	seen := map[string]bool{name: true}
	var deps []string
	stack := []string{name}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		refs, _ := in.refsOf(t, n)
		for _, r := range refs {
			if seen[r] {
				continue
			}
			seen[r] = true
			deps = append(deps, r)
			if _, known := t.values[r]; !known {
				continue // undefined unless main.cf assigns it
			}
			if _, clean := in.refsOf(t, r); !clean {
				return nil
			}
			stack = append(stack, r)
		}
	}
	// The expansion with an empty main.cf: lookups find the defaults.
	warned := false
	e := &macEngine{warn: func(string) { warned = true }, fns: t.fns}
	defer func() {
		if r := recover(); r != nil {
			x = nil // fatal or crash: leave it to the ordinary path
		}
	}()
	out, st, mc := e.expandWith(value, macRecurse, func(n string, _ int) (string, bool) {
		v, ok := t.values[n]
		return v, ok
	}, nil)
	if warned || st&macParseError != 0 {
		return nil
	}
	return &fixedExp{deps: deps, out: out, status: st | mc.status, steps: e.steps, maxOld: mc.maxOld, depth: e.maxDepth - 1}
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
	n := &Table{values: make(map[string]string, len(t.values)+1), flags: t.flags, fns: t.fns} // prep recomputed
	for k, v := range t.values {
		n.values[k] = v
	}
	n.values[name] = value
	return n
}

// buildDefaults overrides built-in defaults at link time, for distributions
// whose Postfix is built with other directories than Debian's:
//
//	go build -ldflags "-X 'github.com/postfix-systemd/postfix-instances/internal/maincf.buildDefaults=daemon_directory=/usr/libexec/postfix;shlib_directory=/usr/lib64/postfix'"
//
// It is a ';'-separated list of name=value.
var buildDefaults string

// BuiltinDefaults returns the compiled-in defaults of the installed
// Postfix: the generated table of its series (see version.go:
// InstalledDefaults reads its version from dpkg's status file, once per
// process), with the link-time overrides of buildDefaults applied. For a
// Postfix without a table of its own, the nearest older series' table;
// BuiltinSelection says which was chosen.
func BuiltinDefaults() Defaults { return builtin() }

// builtinFlags returns the flags of the built-in parameters.
func builtinFlags() map[string]ParamFlags { return builtin().flags }

// applyOverrides sets the "name=value;name=value" defaults of spec in t.
func applyOverrides(t *Table, spec string) {
	for _, kv := range strings.Split(spec, ";") {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(name) != "" {
			t.values[strings.TrimSpace(name)] = strings.TrimSpace(value)
			t.scanFree = false
		}
	}
}

// ParseDefaults builds a Table from the output of "postconf -d" of another
// Postfix build (e.g. an RPM system's), so that the defaults of that build
// are used without running postconf per instance. Parameter flags come from
// the built-in table (BuiltinDefaults); legacy parameters default to "".
func ParseDefaults(r io.Reader) (*Table, error) {
	return parseDefaults(r, builtinFlags())
}

func parseDefaults(r io.Reader, flags map[string]ParamFlags) (*Table, error) {
	t := &Table{values: map[string]string{}, flags: flags, fns: builtin().fns}
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
	addLegacy(t, flags)
	return t, nil
}

// addLegacy makes the legacy parameters that t lacks default to "".
func addLegacy(t *Table, flags map[string]ParamFlags) {
	for name, f := range flags {
		if _, ok := t.values[name]; !ok && f&FlagLegacy != 0 {
			t.values[name] = ""
		}
	}
}
