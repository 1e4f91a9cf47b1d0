package maincf

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Config is a main.cf over the compiled-in defaults, as postconf -c DIR
// sees it. A Config is not safe for concurrent use; it notices edits of
// its File and recomputes what depends on them.
//
// Known differences from postconf, all outside main.cf: master.cf is not
// read (postconf also knows "-o name=value" and service-derived parameter
// names from it), and the legacy database parameters that postconf infers
// from "ldap:name"-style table references (name_server_host, ...) are not
// known.
type Config struct {
	Dir      string // the config directory (postconf -c DIR); "" means the default one, unannounced
	File     *File  // nil means an empty main.cf
	Defaults Defaults
	// CheckInterfaces computes mynetworks's default at start-up, as
	// postconf does when main.cf does not set mynetworks: an
	// inet_interfaces address or host that no up interface has is then a
	// start-up failure (Err), in postconf's words. Without it, mynetworks
	// is computed only when asked for, so that the generator, which runs
	// before the network is up, does not skip an instance over it; the
	// postmulti shim sets it, as upstream reads every instance through
	// postconf.
	CheckInterfaces bool

	st *state
}

// NewConfig returns the Config that postconf -c dir sees for main.cf file
// (nil: empty), with the built-in defaults when defaults is nil.
func NewConfig(dir string, file *File, defaults Defaults) *Config {
	return &Config{Dir: dir, File: file, Defaults: defaults}
}

// ErrUnknownParameter is returned for a name postconf does not know: not
// built in, and in main.cf but never referenced as $name by another
// parameter (postconf warns "NAME: unknown parameter", prints nothing and
// exits 0).
var ErrUnknownParameter = errors.New("unknown parameter")

// ExpandError is a failed expansion: postconf prints the warnings and
// exits 1 with "fatal: " and Fatal (usually "macro processing error").
type ExpandError struct {
	Path     string // the main.cf
	Name     string // the parameter whose value failed, or "" (ExpandString)
	Fatal    string
	Warnings []string
	// Crash is set when postconf itself would not exit 1: it dies of
	// SIGSEGV (unbounded recursion through relational operands) or runs
	// until killed (exponential expansion; we stop at a fixed budget).
	Crash bool
}

func (e *ExpandError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Name != "" {
		b.WriteString(": expand " + e.Name)
	}
	b.WriteString(": " + e.Fatal)
	if len(e.Warnings) > 0 {
		b.WriteString(": " + strings.Join(e.Warnings, "; "))
	}
	return b.String()
}

// MailDictFatal is Fatal as a program that reads main.cf through
// mail_conf_eval (dict_eval) words it, postmulti for one: "dictionary
// mail_dict: macro processing error" where postconf says "macro
// processing error".
func (e *ExpandError) MailDictFatal() string {
	if e.Fatal == "macro processing error" {
		return "dictionary mail_dict: " + e.Fatal
	}
	return e.Fatal
}

// BoolError is a value that is neither yes nor no.
type BoolError struct {
	Path, Name, Value string
}

func (e *BoolError) Error() string {
	return e.Path + ": bad boolean configuration: " + e.Name + " = " + e.Value
}

// state is what postconf computes once per run before it prints anything.
type state struct {
	file     *File
	gen      int
	dir      string
	defaults Defaults

	table   FlagDefaults
	tab     *Table     // table, when it is a *Table
	info    *tableInfo // tab's, or nil
	names   []string
	removed []string        // read-only names whose main.cf assignments load ignores
	user    map[string]bool // user-defined names that postconf knows (nil: none)
	host    []hostValue     // the host parameters' defaults computed so far
	hostBuf [4]hostValue
	net     *netSettings
	loading bool // inside load: see hostDefault
	// checkIfaces is Config.CheckInterfaces when the state was computed.
	checkIfaces bool
	warn        []string
	unused      []string // printed after the values, and only when postconf did not fail
	err         error
	eng         macEngine
	hostErr     bool

	lookupFn lookupFunc // lookup, for expandValue
	fixedFn  fixedFunc  // fixed, for expandValue; nil without info
}

func (c *Config) path() string {
	if c.File != nil && c.File.Path != "" {
		return c.File.Path
	}
	return c.confDir() + "/main.cf"
}

func (c *Config) confDir() string {
	if c.Dir != "" {
		return c.Dir
	}
	d, _ := c.defaults().Default("config_directory")
	return d
}

func (c *Config) defaults() Defaults {
	if c.Defaults == nil {
		return builtin()
	}
	return c.Defaults
}

// state returns the per-run state, computing it when the Config or its
// File changed.
func (c *Config) state() *state {
	s := c.st
	gen := 0
	if c.File != nil {
		gen = c.File.gen
	}
	if s != nil && s.file == c.File && s.gen == gen && s.dir == c.Dir && s.checkIfaces == c.CheckInterfaces && sameDefaults(s.defaults, c.Defaults) {
		return s
	}
	s = &state{file: c.File, gen: gen, dir: c.Dir, defaults: c.Defaults, checkIfaces: c.CheckInterfaces}
	c.st = s
	c.load(s)
	return s
}

// sameDefaults compares without panicking on non-comparable Defaults
// (which are then never considered the same).
func sameDefaults(a, b Defaults) (same bool) {
	if ta, ok := a.(*Table); ok {
		tb, ok := b.(*Table)
		return ok && ta == tb
	}
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// get is postconf's dictionary of main.cf (mail_dict) after load read
// it: the value of name's last assignment in main.cf, else DIR for
// config_directory with -c DIR; read-only parameters are left out once
// load met them.
func (s *state) get(name string) (string, bool) {
	v, ok := "", false
	if f := s.file; f != nil {
		if i, in := f.last[name]; in {
			v, ok = f.entries[i].Value, true
		}
	}
	if !ok && name == "config_directory" && s.dir != "" {
		v, ok = s.dir, true
	}
	if ok && len(s.removed) > 0 && slices.Contains(s.removed, name) {
		return "", false
	}
	return v, ok
}

// load follows postconf's start-up for "postconf -c DIR [-x] -h name":
// read main.cf, register built-in and user-defined parameters, flag
// unused ones.
//
// What depends on the defaults alone is computed once per Table (see
// tableInfo): the scan of the defaults, and the expansions of defaults
// that main.cf cannot affect. Values without '$' are neither scanned nor
// expanded: that cannot find a $name, warn or fail.
func (c *Config) load(s *state) {
	d := c.defaults()
	if fd, ok := d.(FlagDefaults); ok {
		s.table = fd
	} else {
		s.table = flagOverlay{d, builtin()}
	}
	if t, isTable := d.(*Table); isTable {
		s.tab, s.info = t, t.prep()
	} else {
		if n, ok := d.(interface{ Names() []string }); ok {
			s.names = n.Names()
		} else {
			s.names = builtin().Names()
		}
	}
	s.lookupFn = func(name string, _ int) (string, bool) { return c.lookup(s, name) }
	if s.info != nil {
		s.fixedFn = func(name string) *fixedExp { return c.fixed(s, name) }
	}
	size := 1
	if c.File != nil {
		size += len(c.File.last)
	}
	names := make([]string, 0, size) // what s.get finds
	s.eng.warn = func(w string) { s.warn = append(s.warn, w) }
	if s.tab != nil {
		s.eng.fns = s.tab.fns
	} else {
		s.eng.fns = builtin().fns
	}
	confDir := c.confDir()
	mainCf := confDir + "/main.cf"

	// pcf_set_config_dir: -c DIR enters config_directory = DIR before
	// main.cf is read, so main.cf's own assignment "overrides" it.
	if c.Dir != "" {
		names = append(names, "config_directory")
	}
	if f := c.File; f != nil {
		s.warn = append(s.warn, f.warnings[:f.lwarn]...)
		for i, e := range f.entries {
			old, ok := "", false
			if j := f.prev[i]; j >= 0 {
				old, ok = f.entries[j].Value, true
			} else if e.Name == "config_directory" && c.Dir != "" {
				old, ok = c.Dir, true
			}
			if ok && old != e.Value {
				s.warn = append(s.warn, fmt.Sprintf("%s, line %d: overriding earlier entry: %s=%s",
					f.Path, e.Line, e.Name, old))
			}
			if !ok {
				names = append(names, e.Name)
			}
		}
	}
	slices.Sort(names)

	// at is the parameter whose value is being scanned or expanded: the
	// one a start-up failure names (ExpandError.Name).
	at := ""
	s.loading = true
	defer func() {
		s.loading = false
		if r := recover(); r != nil {
			s.err = c.recovered(r, at, append([]string(nil), s.warn...))
		}
	}()

	// $names in defaults that main.cf does not override.
	if in := s.info; in != nil {
		for _, name := range in.scanNames {
			if _, ok := s.get(name); !ok {
				s.warn = append(s.warn, in.scans[name].warnings...)
				for _, ref := range in.scans[name].refs {
					c.flagUser(s, ref, mainCf)
				}
			}
		}
		for _, name := range in.host {
			if _, ok := s.get(name); !ok {
				at = name
				c.scan(s, c.hostDefault(s, name), mainCf)
			}
		}
	} else {
		for _, name := range s.names {
			if _, ok := s.get(name); ok || s.table.Flags(name)&FlagRaw != 0 {
				continue
			}
			at = name
			v, _ := c.defaultValue(s, name)
			c.scan(s, v, mainCf)
		}
	}
	// Restriction classes name user-defined parameters.
	if v, ok := s.get("smtpd_restriction_classes"); ok {
		at = "smtpd_restriction_classes"
		list := c.dictEval(s, v)
		for _, name := range SplitList(list) {
			c.flagUser(s, name, mainCf)
		}
	}
	// $names in main.cf values. The values of built-in parameters are
	// also expanded in full (postconf_dbms.c looks for "ldap:name"
	// tables in them): that is where a bad $name in main.cf makes
	// postconf fail whatever is asked. The user-defined names stay in
	// names, to be checked for use below.
	userNames := names[:0]
	for _, name := range names {
		builtin := c.builtinKnown(s, name)
		if !builtin {
			userNames = append(userNames, name)
		}
		var f ParamFlags
		if builtin {
			f = s.table.Flags(name)
			if f&FlagReadOnly != 0 {
				v, _ := s.get(name)
				s.warn = append(s.warn, fmt.Sprintf("%s: read-only parameter assignment: %s=%s",
					mainCf, name, v))
				s.removed = append(s.removed, name)
				continue
			}
			if f&FlagRaw != 0 {
				continue
			}
		}
		v, _ := s.get(name)
		at = name
		c.scan(s, v, mainCf)
		if builtin && f&FlagLegacy == 0 {
			c.dbmsWarnings(s, c.expandValue(s, v), dbmsConf(mainCf))
		}
	}
	for _, name := range userNames {
		if v, ok := s.get(name); ok && !s.user[name] {
			s.unused = append(s.unused, fmt.Sprintf("%s: unused parameter: %s=%s", mainCf, name, v))
		}
	}
}

// noShortcuts turns off what load and expansion skip or take from
// tableInfo because it cannot change the result, so that tests can check
// that it does not (shortcut_test.go).
var noShortcuts = false

// scan is postconf's scan of a value for $names (mac_expand with
// MAC_EXP_FLAG_SCAN), each of which it flags (flagUser). A value without
// '$' has none: the scan would find nothing and could not warn.
func (c *Config) scan(s *state, value, mainCf string) {
	if !noShortcuts && strings.IndexByte(value, '$') < 0 {
		return
	}
	s.eng.expand(value, macScan, func(name string, _ int) (string, bool) {
		c.flagUser(s, name, mainCf)
		return "", false
	})
}

// fixed returns the precomputed expansion of name's default when main.cf
// cannot affect it: main.cf assigns neither name nor any name it depends
// on (see fixedExp). Checked at each use, as load deletes read-only
// assignments from dict as it goes.
func (c *Config) fixed(s *state, name string) *fixedExp {
	if s.info == nil || noShortcuts {
		return nil
	}
	if _, ok := s.get(name); ok {
		return nil
	}
	x := s.info.fixedDefault(s.tab, name)
	if x == nil {
		return nil
	}
	for _, d := range x.deps {
		if _, ok := s.get(d); ok {
			return nil
		}
	}
	return x
}

// dbmsWarnings walks an expanded value like postconf_dbms.c
// pcf_register_dbms_helper does, for its warnings about unbalanced {}
// and, from Postfix 3.10 on, about a token that starts with '#'
// ("#comment after other text", which also ends the walk of that level;
// inside the {} of a regexp: or pcre: table, nested {} are not walked).
// postconf also makes "name_suffix" parameters known for "ldap:name"-style
// references, and checks "ldap:/file" client files: neither is emulated.
func (c *Config) dbmsWarnings(s *state, value, conf string) {
	c.dbmsWalk(s, value, conf, true)
}

func (c *Config) dbmsWalk(s *state, value, conf string, recurse bool) {
	v310 := postfixAtLeast(3, 10)
	if !noShortcuts && strings.IndexByte(value, '{') < 0 && (!v310 || strings.IndexByte(value, '#') < 0) {
		return // nothing to warn about
	}
	rest := value
	for {
		tok, more, ok := mystrtokq(rest, ", \t\r\n", '{', '}')
		if !ok {
			return
		}
		rest = more
		if v310 && tok[0] == '#' {
			s.warn = append(s.warn, fmt.Sprintf("%s: #comment after other text is not allowed: %s %s...", conf, tok, first20bytes(more)))
			return
		}
		if tok[0] == '{' {
			inner, err := extpar(tok)
			if err != "" {
				s.warn = append(s.warn, conf+": "+err)
			}
			if recurse || !v310 {
				c.dbmsWalk(s, inner, conf, recurse)
			}
			continue
		}
		typ, prefix, found := strings.Cut(tok, ":")
		for found && (typ == "proxy" || typ == "debug" && postfixAtLeast(3, 11)) {
			typ, prefix, found = strings.Cut(prefix, ":")
		}
		if !found || prefix == "" || prefix[0] != '{' {
			continue
		}
		inner, err := extpar(prefix)
		if err != "" {
			s.warn = append(s.warn, conf+": "+err)
		}
		next := recurse
		if v310 && (typ == "regexp" || typ == "pcre") {
			next = false // Postfix 3.10: "#" in an inline pattern is no comment
		}
		c.dbmsWalk(s, inner, conf, next)
	}
}

// first20bytes is printf's "%.20s".
func first20bytes(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// mystrtokq is util/mystrtok.c mystrtokq: the next token of s separated by
// sep, where separators inside open...close do not count.
func mystrtokq(s, sep string, open, close byte) (tok, rest string, ok bool) {
	i := 0
	for i < len(s) && strings.IndexByte(sep, s[i]) >= 0 {
		i++
	}
	if i == len(s) {
		return "", "", false
	}
	start, level := i, 0
	for ; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == open:
			level++
		case level > 0 && ch == close:
			level--
		case level == 0 && strings.IndexByte(sep, ch) >= 0:
			return s[start:i], s[i+1:], true
		}
	}
	return s[start:], "", true
}

// extpar is util/extpar.c extpar without flags, for text starting with
// '{': the text inside the braces, and postconf's complaint if any.
func extpar(s string) (inner, err string) {
	level := 1
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '}':
			if level--; level == 0 {
				if i+1 != len(s) {
					err = "syntax error after '}' in \"" + s + "\""
				}
				return s[1:i], err
			}
		case '{':
			level++
		}
	}
	return s[1:], "missing '}' in \"" + s + "\""
}

// flagUser is pcf_flag_user_parameter for main.cf: a $name (or a
// restriction class name) makes a main.cf parameter of that name known.
func (c *Config) flagUser(s *state, name, mainCf string) {
	if _, ok := s.get(name); ok {
		if !c.known(s, name) {
			if s.user == nil {
				s.user = map[string]bool{}
			}
			s.user[name] = true
		}
		return
	}
	if !c.known(s, name) {
		s.warn = append(s.warn, fmt.Sprintf("%s: undefined parameter: %s", mainCf, name))
	}
}

func (c *Config) builtinKnown(s *state, name string) bool {
	_, ok := s.table.Default(name)
	return ok
}

func (c *Config) known(s *state, name string) bool {
	return s.user[name] || c.builtinKnown(s, name)
}

// defaultValue is pcf_convert_param_node(PCF_SHOW_DEFS, ...).
func (c *Config) defaultValue(s *state, name string) (string, bool) {
	v, ok := s.table.Default(name)
	if !ok {
		if s.user[name] {
			return "", true
		}
		return "", false
	}
	if s.table.Flags(name)&FlagHost != 0 {
		return c.hostDefault(s, name), true
	}
	return v, true
}

// lookup is pcf_lookup_parameter_value: main.cf, then the default of a
// known parameter.
func (c *Config) lookup(s *state, name string) (string, bool) {
	if v, ok := s.get(name); ok {
		return v, true
	}
	return c.defaultValue(s, name)
}

// expandValue is pcf_expand_parameter_value; it panics with fatal.
func (c *Config) expandValue(s *state, value string) string {
	if !noShortcuts && s.eng.depth == 0 && strings.IndexByte(value, '$') < 0 {
		// Literal text (up to a NUL byte, as for C): one callback,
		// within every budget of a new top-level expansion.
		if i := strings.IndexByte(value, 0); i >= 0 {
			value = value[:i]
		}
		return value
	}
	out, st, _ := s.eng.expandWith(value, macRecurse, s.lookupFn, s.fixedFn)
	if st&macParseError != 0 {
		panic(fatal{"macro processing error"})
	}
	return out
}

// expandDefault is expandValue(s, value) for value, the default of name
// that lookup finds, using name's precomputed expansion when it applies.
func (c *Config) expandDefault(s *state, name, value string) string {
	if x := c.fixed(s, name); x != nil && s.eng.fitsTop(x) {
		return x.out
	}
	return c.expandValue(s, value)
}

// dictEval is mail_conf_eval / dict_eval on main.cf alone.
func (c *Config) dictEval(s *state, value string) string {
	out, st := s.eng.expand(value, macRecurse, func(name string, _ int) (string, bool) {
		return s.get(name)
	})
	if st&macParseError != 0 {
		panic(fatal{"dictionary mail_dict: macro processing error"})
	}
	return out
}

// mailConfLookupEval is mail_conf_lookup_eval.
func (c *Config) mailConfLookupEval(s *state, name string) (string, bool) {
	v, ok := s.get(name)
	if !ok {
		return "", false
	}
	return c.dictEval(s, v), true
}

func (c *Config) recovered(r any, name string, warnings []string) error {
	switch r := r.(type) {
	case fatal:
		return &ExpandError{Path: c.path(), Name: name, Fatal: r.msg, Warnings: warnings}
	case crash:
		return &ExpandError{Path: c.path(), Name: name, Fatal: r.msg, Warnings: warnings, Crash: true}
	}
	panic(r)
}

// Err returns the fatal error postconf would stop with before printing
// anything, e.g. a macro error in smtpd_restriction_classes.
func (c *Config) Err() error { return c.state().err }

// Warnings returns what postconf -c Dir -h prints to stderr for this
// main.cf whatever the parameter asked for, without the "postconf:
// warning: " prefix (except the warning about a missing master.cf, which
// this package does not read). postconf prints the $name-related ones in
// hash-table order; the order here is stable but not postconf's.
func (c *Config) Warnings() []string {
	s := c.state()
	return append(append([]string(nil), s.warn...), s.unused...)
}

// Known reports whether postconf knows name (see ErrUnknownParameter).
func (c *Config) Known(name string) bool {
	s := c.state()
	return s.err == nil && c.known(s, name)
}

// Value returns name's raw value as the daemons see it: main.cf, else the
// default, unexpanded, white space inside kept. ok is false for an unknown
// name or when Err is set.
func (c *Config) Value(name string) (v string, ok bool) {
	s := c.state()
	if s.err != nil || !c.known(s, name) {
		return "", false
	}
	defer func() {
		if r := recover(); r != nil {
			_ = c.recovered(r, name, nil) // re-panics what is not ours
			v, ok = "", false
		}
	}()
	return c.lookup(s, name)
}

// Raw returns what postconf -c Dir -h name prints (without the newline):
// Value with white space runs folded to one space. ok is false when
// postconf prints nothing (unknown name, or Err set).
func (c *Config) Raw(name string) (string, bool) {
	v, ok := c.Value(name)
	return Normalize(v), ok
}

// Expand returns what postconf -c Dir -xh name prints (without the
// newline). An unknown name is ErrUnknownParameter; an expansion error is
// an *ExpandError. Raw parameters (FlagRaw) are not expanded, as with
// postconf.
func (c *Config) Expand(name string) (string, error) {
	v, err := c.ExpandValue(name)
	return Normalize(v), err
}

// ExpandValue is Expand without folding white space (postconf's rules
// otherwise: unknown names and start-up failures are errors): the value a
// daemon would see after $name expansion.
func (c *Config) ExpandValue(name string) (string, error) {
	s := c.state()
	if s.err != nil {
		return "", s.err
	}
	if !c.known(s, name) {
		return "", fmt.Errorf("%s: %s: %w", c.path(), name, ErrUnknownParameter)
	}
	raw := s.table.Flags(name)&FlagRaw != 0
	return c.expand(s, name, func() string {
		v, _ := c.lookup(s, name)
		if raw {
			return v
		}
		return c.expandDefault(s, name, v)
	})
}

// ExpandString expands $names in text as postconf -x expands a value.
func (c *Config) ExpandString(text string) (string, error) {
	s := c.state()
	if s.err != nil {
		return "", s.err
	}
	return c.expand(s, "", func() string { return c.expandValue(s, text) })
}

// expand runs f, which expands a value, turning a failure into an
// *ExpandError with the warnings it caused.
func (c *Config) expand(s *state, name string, f func() string) (out string, err error) {
	mark := len(s.warn)
	defer func() {
		w := append([]string(nil), s.warn[mark:]...)
		s.warn = s.warn[:mark]
		if r := recover(); r != nil {
			out, err = "", c.recovered(r, name, w)
		}
	}()
	return f(), nil
}

// Bool parses name's expanded value as a Postfix boolean: "yes" or "no" in
// any ASCII case (global/mail_conf_bool.c); anything else is a *BoolError
// worded like Postfix's fatal error.
func (c *Config) Bool(name string) (bool, error) {
	v, err := c.ExpandValue(name)
	if err != nil {
		return false, err
	}
	return ParseBool(c.path(), name, v)
}

// ParseBool parses value like Postfix parses a boolean parameter; path and
// name only word the error.
func ParseBool(path, name, value string) (bool, error) {
	switch {
	case asciiEqualFold(value, "yes"):
		return true, nil
	case asciiEqualFold(value, "no"):
		return false, nil
	}
	return false, &BoolError{Path: path, Name: name, Value: value}
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// SplitList splits a Postfix list value on commas and white space, as
// mystrtok(&cp, CHARS_COMMA_SP) does: empty elements vanish. (Postfix 3.7
// reads parameters such as multi_instance_directories this way; it does
// not group by parentheses or braces there.)
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
}

// Normalize folds white space like postconf's output does
// (postconf_print.c pcf_print_line): words separated by space, tab, CR or
// LF are joined with one space.
func Normalize(s string) string {
	if normalized(s) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}), " ")
}

// normalized reports whether Normalize(s) is s: no tab, CR or LF, no
// space at either end, no two spaces in a row.
func normalized(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\t', '\r', '\n':
			return false
		case ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		}
	}
	return true
}

// flagOverlay gives a plain Defaults the flags of the built-in table.
type flagOverlay struct {
	Defaults
	flags *Table
}

func (f flagOverlay) Flags(name string) ParamFlags { return f.flags.Flags(name) }

// processID is what postconf prints for process_id: its own PID.
var processID = strconv.Itoa(os.Getpid())

// dbmsConf names main.cf in postconf's warnings about unbalanced {} in
// map references: "main.cf" up to Postfix 3.7, its path in 3.10.
func dbmsConf(mainCf string) string {
	if postfixAtLeast(3, 10) {
		return mainCf
	}
	return "main.cf"
}
