// Package instance builds the model of a host's Postfix instances: the
// default instance and, in multi_instance_directories order, every
// secondary one, each with its name, group, enable flag and directories.
//
// Load reads exactly what postmulti(1) reads, with the same meaning: the
// default main.cf, then for each directory listed in the default
// instance's multi_instance_directories the values of
// "postconf -xc DIR queue_directory data_directory multi_instance_name
// multi_instance_group multi_instance_enable", computed in-process. It
// applies postmulti's own checks (an unreadable or malformed main.cf, a
// multi_instance_enable that is neither yes nor no, a name or directory
// claimed by two instances, a secondary queue or data directory equal to a
// shared one) and some of ours that postmulti does not make but that a
// systemd unit needs (a directory listed twice or the default directory
// listed as a secondary, a relative path, a name without the "postfix-"
// prefix, a name or group that cannot stand in a unit name).
//
// Load never lets one bad instance hide the others: problems are collected
// per instance and returned beside the instances that are fine. Only a
// problem of the default instance, without which there is nothing to
// model, is an error.
package instance

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync"

	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// NamePrefix is the prefix postmulti requires of every instance name.
const NamePrefix = "postfix-"

// Parameter names.
const (
	paramConfigDir  = "config_directory"
	paramQueueDir   = "queue_directory"
	paramDataDir    = "data_directory"
	paramCommandDir = "command_directory"
	paramDaemonDir  = "daemon_directory"
	paramShlibDir   = "shlib_directory"
	paramDirs       = "multi_instance_directories"
	paramName       = "multi_instance_name"
	paramGroup      = "multi_instance_group"
	paramEnable     = "multi_instance_enable"
)

// Instance is one Postfix instance as postmulti sees it.
type Instance struct {
	// Name is multi_instance_name: "" for a nameless instance. The default
	// instance has Name "" and Default true; postmulti shows both as "-".
	// (A default instance that sets multi_instance_name has that name.)
	Name    string
	Group   string // multi_instance_group, "" when unset
	Enabled bool   // multi_instance_enable; always true for a lone default instance
	Default bool   // the instance in the default config directory

	// ConfigDir is the config directory exactly as listed in
	// multi_instance_directories (postmulti -l shows it so; it is absolute
	// once Load accepted the instance), or the default config directory.
	ConfigDir  string
	QueueDir   string // queue_directory, expanded
	DataDir    string // data_directory, expanded
	CommandDir string // command_directory, expanded
	DaemonDir  string // daemon_directory, expanded
	MainCF     string // the instance's main.cf, path.Join(ConfigDir, "main.cf")
	// Position is 0 for the default instance and the 1-based position of
	// the directory in multi_instance_directories otherwise; positions of
	// instances left out for problems leave gaps.
	Position int

	// Config is the instance's main.cf over the compiled-in defaults, as
	// postconf -c ConfigDir sees it.
	Config *maincf.Config
}

// Kind classifies a Problem.
type Kind int

// The kinds of problems. Postmulti refuses (stops with a fatal error) on
// Unreadable, BadValue and Conflict; Duplicate, RelativePath and BadName are
// ours: postmulti lists such instances and runs commands on them.
const (
	// Unreadable: main.cf is missing, unreadable or malformed, or one of
	// the values postmulti asks for cannot be expanded (a macro loop).
	Unreadable Kind = iota + 1
	// BadValue: multi_instance_enable is neither yes nor no.
	BadValue
	// Conflict: a name or directory already claimed by another instance,
	// or by another role in the same instance, compared as postmulti
	// compares them: as strings.
	Conflict
	// Duplicate: a config, queue or data directory that is another
	// instance's once "." and ".." elements and repeated or trailing
	// slashes are cleaned, which postmulti misses; in particular a
	// directory listed twice, or the default config directory listed in
	// multi_instance_directories.
	Duplicate
	// RelativePath: a relative config, queue or data directory. Postmulti
	// resolves it against its working directory; we refuse to guess.
	RelativePath
	// BadName: an instance name without the "postfix-" prefix (postmulti
	// only enforces it when it assigns names), or a name or group that
	// cannot stand, unescaped, in a systemd unit name.
	BadName
)

var kindNames = map[Kind]string{
	Unreadable: "unreadable", BadValue: "bad value", Conflict: "conflict",
	Duplicate: "duplicate", RelativePath: "relative path", BadName: "bad name",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Problem is why one instance could not be modelled.
type Problem struct {
	ConfigDir string // the instance's config directory as listed
	Position  int    // its position in multi_instance_directories (1-based)
	Path      string // the file at fault, when there is one
	Line      int    // its line, when known
	Kind      Kind
	Err       error
	// Postmulti is the message (without "postmulti: fatal: ") with which
	// postmulti -l would stop at this problem, were it the first one it
	// met; "" when postmulti accepts what we refuse.
	Postmulti string
}

func (p Problem) Error() string { return p.Err.Error() }
func (p Problem) Unwrap() error { return p.Err }

// Set is the result of Load.
type Set struct {
	Instances []Instance // default first, then start order; bad ones left out
	Problems  []Problem  // in the order postmulti would meet them

	// Directories is multi_instance_directories of the default instance,
	// expanded and split, every entry as listed, bad ones included.
	Directories []string

	// listed is every instance postmulti would list so far: the good ones
	// and those with only problems of ours; nil at a relative config
	// directory, which we do not read.
	listed   []Instance
	unlisted *Problem
}

// PostmultiView returns the instances postmulti -l -a lists, in its order,
// with its values: the good instances and those that have only problems
// postmulti does not check (see Kind). When postmulti would stop instead,
// it returns that problem as the error; so it does for a relative config
// directory, which postmulti reads relative to its working directory and
// we do not read at all.
func (s *Set) PostmultiView() ([]Instance, error) {
	if p, ok := s.Refused(); ok {
		return nil, p
	}
	if s.unlisted != nil {
		return nil, *s.unlisted
	}
	return append([]Instance(nil), s.listed...), nil
}

// Default returns the default instance, which Load always models.
func (s *Set) Default() *Instance { return &s.Instances[0] }

// Refused returns the first problem on which postmulti itself would stop,
// and false when postmulti would accept the whole set.
func (s *Set) Refused() (Problem, bool) {
	for _, p := range s.Problems {
		if p.Postmulti != "" {
			return p, true
		}
	}
	return Problem{}, false
}

// ByName returns the instance named name (multi_instance_name).
func (s *Set) ByName(name string) (*Instance, bool) {
	for i := range s.Instances {
		if name != "" && s.Instances[i].Name == name {
			return &s.Instances[i], true
		}
	}
	return nil, false
}

// ByConfigDir returns the instance whose config directory is dir, compared
// after cleaning both ("/etc/postfix-a/" finds "/etc/postfix-a").
func (s *Set) ByConfigDir(dir string) (*Instance, bool) {
	for i := range s.Instances {
		if path.Clean(s.Instances[i].ConfigDir) == path.Clean(dir) {
			return &s.Instances[i], true
		}
	}
	return nil, false
}

// Select returns the instances postmulti -i sel selects, in start order:
// "-" is the default instance; a selector starting with "/", or any
// selector for a nameless instance, is compared with the config directory;
// otherwise with the name, or with the name less its "postfix-" prefix when
// sel itself lacks the prefix.
func (s *Set) Select(sel string) []Instance {
	var out []Instance
	for _, in := range s.Instances {
		if in.matches(sel) {
			out = append(out, in)
		}
	}
	return out
}

func (in Instance) matches(sel string) bool {
	if in.Default && sel == "-" {
		return true
	}
	var iname string
	switch {
	case strings.HasPrefix(sel, "/") || in.Name == "":
		iname = in.ConfigDir
	case !strings.HasPrefix(sel, NamePrefix) && strings.HasPrefix(in.Name, NamePrefix):
		iname = strings.TrimPrefix(in.Name, NamePrefix)
	default:
		iname = in.Name
	}
	return sel == iname
}

// SelectGroup returns the instances postmulti -g group selects, in start
// order.
func (s *Set) SelectGroup(group string) []Instance {
	var out []Instance
	for _, in := range s.Instances {
		if in.Group != "" && in.Group == group {
			out = append(out, in)
		}
	}
	return out
}

// Load reads the default config directory and every instance it lists,
// with the compiled-in defaults of maincf.BuiltinDefaults.
// fsys is rooted at "/" (os.DirFS("/") in production, a test tree in tests);
// paths are absolute as in main.cf. Secondary instances are read
// concurrently: fsys must allow that (os.DirFS and fstest.MapFS do). An
// error is returned only when the default instance itself cannot be read.
func Load(fsys fs.FS, defaultConfigDir string) (*Set, error) {
	return LoadWithDefaults(fsys, defaultConfigDir, maincf.BuiltinDefaults())
}

// LoadWithDefaults is Load with the given compiled-in defaults.
func LoadWithDefaults(fsys fs.FS, defaultConfigDir string, defaults maincf.Defaults) (*Set, error) {
	l := &loader{fsys: fsys, defaults: defaults, exact: map[string]owner{}, clean: map[string]owner{}}
	def, err := l.loadDefault(defaultConfigDir)
	if err != nil {
		return nil, err
	}
	set := &Set{Instances: []Instance{*def}}
	dirs, err := def.Config.ExpandValue(paramDirs)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", def.MainCF, paramDirs, err)
	}
	set.Directories = maincf.SplitList(dirs)
	if len(set.Directories) == 0 {
		set.Instances[0].Enabled = true // single-instance mode
	}
	set.listed = []Instance{set.Instances[0]}
	// Reading is independent per instance; claims are made in list order,
	// as postmulti makes them, so the result does not depend on timing.
	ins, probs := l.readAll(set.Directories)
	for i, in := range ins {
		var problems []Problem
		if probs[i] != nil {
			problems = []Problem{*probs[i]}
		} else {
			problems = append(l.claim(in, i+1, instanceClaims(in)), l.checkOurs(in)...)
		}
		set.Problems = append(set.Problems, problems...)
		if len(problems) == 0 {
			set.Instances = append(set.Instances, *in)
		}
		switch {
		case in != nil:
			set.listed = append(set.listed, *in)
		case len(problems) > 0 && problems[0].Postmulti == "" && set.unlisted == nil:
			set.unlisted = &problems[0]
		}
	}
	return set, nil
}

// owner is who claimed a name or directory: postmulti's "requestor", a
// config directory and a parameter name, plus the listing position so that
// a directory listed twice is told apart from itself.
type owner struct {
	configDir string
	param     string
	position  int
}

func (o owner) String() string { return o.configDir + ", " + o.param }

type claim struct {
	param, value string
}

type loader struct {
	fsys     fs.FS
	defaults maincf.Defaults
	// exact holds postmulti's claims, keyed by the value as a string;
	// clean holds ours, keyed by the cleaned value for directories.
	exact, clean map[string]owner
	defaultCF    string
	defaultFile  *maincf.File
}

// readConfig reads dir/main.cf through the loader's file system.
func (l *loader) readConfig(dir string) (*maincf.Config, string, error) {
	mainCF := path.Join(dir, "main.cf")
	f, err := maincf.ReadFile(l.fsys, strings.TrimPrefix(mainCF, "/"))
	if err != nil {
		var se *maincf.SyntaxError
		var pe *fs.PathError
		switch {
		case errors.As(err, &se):
		case errors.As(err, &pe):
			// Name the file as main.cf does, not as fsys does.
			err = &fs.PathError{Op: pe.Op, Path: mainCF, Err: pe.Err}
		default:
			err = fmt.Errorf("%s: %w", mainCF, err)
		}
		return nil, mainCF, err
	}
	return maincf.NewConfig(dir, f, l.defaults), mainCF, nil
}

// expandAll expands the parameters postmulti asks postconf for, plus the
// command and daemon directories (informational: their failure is ignored,
// as postmulti never asks for them). Secondary instances' values are read
// as postmulti reads them, from postconf -x output, with white space
// folded; the default instance's as postmulti reads its own main.cf.
func expandAll(cfg *maincf.Config, in *Instance) (failed string, err error) {
	expand := cfg.Expand
	if in.Default {
		expand = cfg.ExpandValue
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{
		{paramQueueDir, &in.QueueDir}, {paramDataDir, &in.DataDir},
		{paramName, &in.Name}, {paramGroup, &in.Group},
	} {
		if *p.dst, err = expand(p.name); err != nil {
			return p.name, err
		}
	}
	in.CommandDir, _ = expand(paramCommandDir)
	in.DaemonDir, _ = expand(paramDaemonDir)
	return "", nil
}

// parseEnable parses a multi_instance_enable value as postmulti does:
// "yes" or "no" in any ASCII case, nothing else.
func parseEnable(value string) (enabled, ok bool) {
	enabled, err := maincf.ParseBool("", paramEnable, value)
	return enabled, err == nil
}

// lineOf returns the line of name's last assignment in f, 0 when f does
// not assign it.
func lineOf(f *maincf.File, name string) int {
	if f == nil {
		return 0
	}
	line := 0
	for _, e := range f.Entries() {
		if e.Name == name {
			line = e.Line
		}
	}
	return line
}

func (l *loader) loadDefault(dir string) (*Instance, error) {
	cfg, mainCF, err := l.readConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("default instance: %w", err)
	}
	in := &Instance{Default: true, ConfigDir: dir, MainCF: mainCF, Config: cfg}
	l.defaultCF, l.defaultFile = mainCF, cfg.File
	if p, err := expandAll(cfg, in); err != nil {
		return nil, fmt.Errorf("default instance: %s: %s: %w", mainCF, p, err)
	}
	value, err := cfg.ExpandValue(paramEnable)
	if err != nil {
		return nil, fmt.Errorf("default instance: %s: %s: %w", mainCF, paramEnable, err)
	}
	var ok bool
	if in.Enabled, ok = parseEnable(value); !ok {
		return nil, fmt.Errorf("default instance: %s: bad boolean configuration: %s = %s", l.position(cfg.File, mainCF, paramEnable), paramEnable, value)
	}
	// The directories every instance shares (postmulti's
	// check_shared_dir_status; meta_directory is exempt there too).
	var claims []claim
	for _, p := range []string{paramCommandDir, paramDaemonDir, paramShlibDir} {
		v, err := cfg.ExpandValue(p)
		if err == nil && strings.HasPrefix(v, "/") {
			claims = append(claims, claim{p, v})
		}
	}
	claims = append(claims, instanceClaims(in)...)
	if problems := l.claim(in, 0, claims); len(problems) > 0 {
		return nil, fmt.Errorf("default instance: %w", problems[0].Err)
	}
	return in, nil
}

// instanceClaims lists what postmulti's claim_instance_attributes claims,
// in its order.
func instanceClaims(in *Instance) []claim {
	var c []claim
	if in.Name != "" {
		c = append(c, claim{paramName, in.Name})
	}
	return append(c, claim{paramConfigDir, in.ConfigDir}, claim{paramQueueDir, in.QueueDir}, claim{paramDataDir, in.DataDir})
}

func (l *loader) position(f *maincf.File, mainCF, param string) string {
	if n := lineOf(f, param); n > 0 {
		return fmt.Sprintf("%s, line %d", mainCF, n)
	}
	return mainCF
}

// readSecondary reads the instance listed at pos as postmulti's
// load_instance does (one postconf -xc DIR run): it touches nothing but
// the file system, so instances are read concurrently.
func (l *loader) readSecondary(dir string, pos int) (*Instance, *Problem) {
	if !strings.HasPrefix(dir, "/") {
		p := Problem{ConfigDir: dir, Position: pos, Path: l.defaultCF, Line: lineOf(l.defaultFile, paramDirs), Kind: RelativePath}
		p.Err = fmt.Errorf("%s: %s lists a relative config directory %q", l.where(p), paramDirs, dir)
		return nil, &p
	}
	// What postmulti says for anything that stops postconf.
	pmFailed := fmt.Sprintf("Failed to obtain all required %s/main.cf parameters", dir)
	cfg, mainCF, err := l.readConfig(dir)
	if err != nil {
		p := Problem{ConfigDir: dir, Position: pos, Path: mainCF, Kind: Unreadable, Postmulti: pmFailed}
		var se *maincf.SyntaxError
		if errors.As(err, &se) {
			p.Path, p.Line = se.Path, se.Line
		}
		p.Err = fmt.Errorf("instance %s: %w", dir, err)
		return nil, &p
	}
	in := &Instance{ConfigDir: dir, MainCF: mainCF, Position: pos, Config: cfg}
	param, err := expandAll(cfg, in)
	var value string
	if err == nil {
		param = paramEnable
		value, err = cfg.Expand(paramEnable)
	}
	if err != nil {
		p := Problem{ConfigDir: dir, Position: pos, Path: mainCF, Line: lineOf(cfg.File, param), Kind: Unreadable, Postmulti: pmFailed}
		p.Err = fmt.Errorf("%s: cannot expand %s: %w", l.where(p), param, err)
		return nil, &p
	}
	enabled, ok := parseEnable(value)
	if !ok {
		p := Problem{ConfigDir: dir, Position: pos, Path: mainCF, Line: lineOf(cfg.File, paramEnable), Kind: BadValue,
			Postmulti: fmt.Sprintf("Unexpected %s/main.cf entry: %s = %s", dir, paramEnable, value)}
		p.Err = fmt.Errorf("%s: %s = %s is neither yes nor no", l.where(p), paramEnable, value)
		return nil, &p
	}
	in.Enabled = enabled
	return in, nil
}

// readAll runs readSecondary for every listed directory, on as many
// goroutines as there are CPUs; the results are in list order.
func (l *loader) readAll(dirs []string) ([]*Instance, []*Problem) {
	ins, probs := make([]*Instance, len(dirs)), make([]*Problem, len(dirs))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(dirs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ins[i], probs[i] = l.readSecondary(dirs[i], i+1)
			}
		}()
	}
	for i := range dirs {
		work <- i
	}
	close(work)
	wg.Wait()
	return ins, probs
}

func (l *loader) where(p Problem) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s, line %d", p.Path, p.Line)
	}
	return p.Path
}

// claim registers in's claims, postmulti's way (exact strings, owner
// "config_directory, parameter", Conflict problems) and ours (cleaned
// directories and listing positions, Duplicate problems). Postmulti's
// claims are kept unless one of them conflicts, as postmulti would have
// kept them; ours only for an instance without a conflict, so that the
// first owner keeps what it owns.
func (l *loader) claim(in *Instance, pos int, claims []claim) []Problem {
	var exactP, cleanP []Problem
	exact, clean := map[string]owner{}, map[string]owner{}
	lookup := func(m, local map[string]owner, k string) (owner, bool) {
		if o, ok := local[k]; ok {
			return o, true
		}
		o, ok := m[k]
		return o, ok
	}
	for _, c := range claims {
		me := owner{configDir: in.ConfigDir, param: c.param, position: pos}
		p := l.problemAt(in, pos, c.param)
		if o, ok := lookup(l.exact, exact, c.value); ok && o.String() != me.String() {
			p.Kind = Conflict
			p.Postmulti = fmt.Sprintf("instance %s, %s=%s conflicts with instance %s=%s", in.ConfigDir, c.param, c.value, o, c.value)
			p.Err = fmt.Errorf("%s: %s", l.where(p), p.Postmulti)
			exactP = append(exactP, p)
			continue
		}
		exact[c.value] = me
		if c.param == paramConfigDir {
			continue // see below
		}
		key := c.value
		if c.param != paramName {
			key = "dir:" + path.Clean(c.value)
		}
		if o, ok := lookup(l.clean, clean, key); ok && (o.position != me.position || o.param != me.param) {
			p.Kind = Duplicate
			whose := "instance " + o.configDir
			switch o.position {
			case 0:
				whose = "the default instance"
			case pos:
				whose = "this instance"
			}
			p.Err = fmt.Errorf("%s: %s %s is also the %s of %s", l.where(p), c.param, c.value, o.param, whose)
			cleanP = append(cleanP, p)
			continue
		}
		clean[key] = me
	}
	// A config directory listed twice, under any spelling: the cause of
	// every other clash of this instance, so the only one reported.
	dirKey := "config:" + path.Clean(in.ConfigDir)
	if o, ok := l.clean[dirKey]; ok {
		p := l.problemAt(in, pos, paramConfigDir)
		p.Kind = Duplicate
		if o.position == 0 {
			p.Err = fmt.Errorf("%s: %s lists the default config directory %s", l.where(p), paramDirs, in.ConfigDir)
		} else {
			p.Err = fmt.Errorf("%s: %s lists %s twice (at positions %d and %d)", l.where(p), paramDirs, in.ConfigDir, o.position, pos)
		}
		cleanP = []Problem{p}
	}
	if len(exactP) == 0 {
		for k, o := range exact {
			l.exact[k] = o
		}
	}
	if len(exactP) == 0 && len(cleanP) == 0 {
		for k, o := range clean {
			l.clean[k] = o
		}
		l.clean[dirKey] = owner{configDir: in.ConfigDir, param: paramConfigDir, position: pos}
	}
	return append(exactP, cleanP...)
}

// problemAt starts a problem about param of in: in its main.cf at the
// line that sets it, or for the config directory in the default main.cf
// at multi_instance_directories.
func (l *loader) problemAt(in *Instance, pos int, param string) Problem {
	p := Problem{ConfigDir: in.ConfigDir, Position: pos, Path: in.MainCF}
	switch {
	case param == paramConfigDir && !in.Default:
		p.Path, p.Line = l.defaultCF, lineOf(l.defaultFile, paramDirs)
	case param != paramConfigDir:
		p.Line = lineOf(in.Config.File, param)
	}
	return p
}

// checkOurs makes the checks postmulti -l does not make but a unit needs.
func (l *loader) checkOurs(in *Instance) []Problem {
	var problems []Problem
	add := func(kind Kind, param string, err error) {
		p := Problem{ConfigDir: in.ConfigDir, Position: in.Position, Path: in.MainCF, Line: lineOf(in.Config.File, param), Kind: kind}
		p.Err = fmt.Errorf("%s: %w", l.where(p), err)
		problems = append(problems, p)
	}
	for _, d := range []struct{ param, value string }{{paramQueueDir, in.QueueDir}, {paramDataDir, in.DataDir}} {
		if !strings.HasPrefix(d.value, "/") {
			add(RelativePath, d.param, fmt.Errorf("%s %q is not an absolute path", d.param, d.value))
		}
	}
	if in.Name != "" {
		if !strings.HasPrefix(in.Name, NamePrefix) {
			add(BadName, paramName, fmt.Errorf("%s %q does not start with %q", paramName, in.Name, NamePrefix))
		} else if err := ValidateName(in.Name); err != nil {
			add(BadName, paramName, err)
		} else if _, err := in.UnitName(); err != nil {
			add(BadName, paramName, err)
		}
	} else if _, err := in.UnitName(); err != nil {
		add(BadName, paramName, err)
	}
	if in.Group != "" {
		if err := ValidateGroup(in.Group); err != nil {
			add(BadName, paramGroup, err)
		}
	}
	return problems
}

// ValidateGroup checks that group can stand, unescaped, in the group target
// postfix-GROUP.target: letters, digits and ":-_." only, and short enough.
func ValidateGroup(group string) error {
	if group == "" {
		return fmt.Errorf("empty instance group")
	}
	for _, c := range []byte(group) {
		if !isAlnum(c) && !strings.ContainsRune(":-_.", rune(c)) {
			return fmt.Errorf("instance group %q contains %q, which a systemd unit name cannot carry", group, c)
		}
	}
	if len("postfix-"+group+".target") > maxUnitName {
		return fmt.Errorf("instance group %q is too long for a unit name", group)
	}
	return nil
}
