// Package instance builds the model of a host's Postfix instances: the
// default instance and, in multi_instance_directories order, every
// secondary one, each with its name, group, enable flag and directories,
// and decides which of them can run under systemd and as which units.
//
// Load reads exactly what postmulti(1) reads, with the same meaning: the
// default main.cf, then for each directory listed in the default
// instance's multi_instance_directories the values of
// "postconf -xc DIR queue_directory data_directory multi_instance_name
// multi_instance_group multi_instance_enable", computed in-process. It
// applies postmulti's own checks of the list (an unreadable or malformed
// main.cf, a multi_instance_enable that is neither yes nor no, a name or
// directory claimed by two instances as the same string), then Resolve.
//
// Resolve is the one place that decides, for each instance, whether it
// can run under systemd, and its Spec: cleaned config, queue and data
// directories, unit, drop-in, PID file and group target (names from
// package unit). An instance that cannot run keeps its place in
// Set.Instances with the reason in Instance.Skip: the generator writes
// no unit for it, postmulti -p skips it with that reason, postmulti -e
// refuses to make an instance so. Set.Instances is the one list, runnable
// and skipped instances told apart (Instance.Runnable, Set.Runnable).
//
// Load never lets one bad instance hide the others: problems are collected
// per instance (Set.Problems, one per instance) beside the instances.
// Only a problem of the default instance on which postmulti itself
// stops, without which there is nothing to model, is an error.
//
// The postmulti shim (internal/postmulti) reads through LoadWith, which
// also makes postmulti's start-up check of the shared directories and
// keeps what the shim needs to say what postmulti says where it says it:
// which problems stop postmulti (Kind.Fatal; those of the shared
// directories first, Set.Shared) and their facts (Problem.Default,
// Param, Value, OwnerDir, OwnerParam, Cause), the warnings of the postconf
// runs with which postmulti reads each instance (Instance.Warnings,
// Problem.Warnings; Read), and -i/-g selection (Instance.Matches,
// Instance.InGroup). Postmulti's and postconf's messages, which
// instances postmulti lists, where it stops, and the claim table that
// -e create, import and assign extend are the shim's own.
package instance

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/postfix-systemd/postfix-instances/internal/maincf"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
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
	paramMetaDir    = "meta_directory"
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
	// Spec is the instance's units and cleaned directories when it can
	// run under systemd; Skip is why it cannot (then Spec is zero). Load
	// and Resolve set them; read them through Runnable.
	Spec Spec
	Skip *Problem

	// Warnings are what reading the instance warns about, without the
	// "PROGRAM: warning: " prefix. For the default instance, postmulti's
	// own reading of main.cf (mail_conf_read): duplicate and malformed
	// entries. For a secondary one, the postconf run with which postmulti
	// reads it: those, the undefined and unused parameters
	// (maincf.Config.Warnings) and a missing master.cf.
	Warnings []string
}

// Kind classifies a Problem.
type Kind int

// The kinds of problems. Postmulti refuses (stops with a fatal error) on
// Unreadable, BadValue, Conflict and BadDirectory; the others are Resolve's
// (the instance cannot run under systemd): postmulti lists such instances
// and runs commands on them.
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
	// Duplicate: a config directory, unit, queue or data directory that
	// is another instance's once cleaned (or as a file), which postmulti
	// misses; in particular a directory listed twice, or the default
	// config directory listed in multi_instance_directories.
	Duplicate
	// RelativePath: a relative config, queue or data directory. Postmulti
	// resolves it against its working directory; we refuse to guess.
	RelativePath
	// BadName: a name or group that cannot stand, unescaped, in a systemd
	// unit name (see package unit).
	BadName
	// BadDirectory: a shared directory (command_directory,
	// daemon_directory, meta_directory, shlib_directory) that does not
	// exist or is not a directory; checked only when asked for
	// (Options.CheckSharedDirs), as postmulti checks it at start-up.
	BadDirectory
	// BadPath: a config or queue directory that cannot be written into a
	// unit file as it is (a ".." element, white space, quotes, "%", …).
	BadPath
)

var kindNames = map[Kind]string{
	Unreadable: "unreadable", BadValue: "bad value", Conflict: "conflict",
	Duplicate: "duplicate", RelativePath: "relative path", BadName: "bad name",
	BadDirectory: "bad directory", BadPath: "bad path",
}

// Fatal reports whether a problem of kind k is one at which postmulti
// itself stops reading the instance list (Unreadable, BadValue,
// Conflict, BadDirectory); the other kinds are only Resolve's.
func (k Kind) Fatal() bool {
	switch k {
	case Unreadable, BadValue, Conflict, BadDirectory:
		return true
	}
	return false
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
	// Default is set, for the kinds at which postmulti stops (Kind.Fatal),
	// when the problem is the default instance's: its main.cf, or its
	// shared directories.
	Default bool
	// Param and Value are, for the kinds at which postmulti stops
	// (Kind.Fatal), the parameter at fault and its value: the parameter
	// whose value could not be expanded (Unreadable, Value ""; Param is
	// "" when main.cf itself could not be read), the
	// multi_instance_enable that is neither yes nor no (BadValue), the
	// name or directory already claimed (Conflict), the shared directory
	// that is missing or no directory (BadDirectory).
	Param, Value string
	// OwnerDir and OwnerParam are, for a Conflict, who claimed Value
	// first: that instance's config directory (as listed) and the
	// parameter under which it claimed it.
	OwnerDir, OwnerParam string
	// Warnings are what reading the file warned about before the problem
	// (see Instance.Warnings).
	Warnings []string
	// Cause is, for an Unreadable problem, the error at which reading the
	// instance stopped, as maincf or the file system gave it (a
	// *fs.PathError naming main.cf as Postfix names it, a
	// *maincf.SyntaxError, a *maincf.ExpandError, …), before Err wraps it;
	// for a BadDirectory problem, the error of the directory's stat when
	// it is missing (nil when it is no directory); nil for the other
	// kinds.
	Cause error
}

func (p Problem) Error() string { return p.Err.Error() }
func (p Problem) Unwrap() error { return p.Err }

// Set is the result of Load.
type Set struct {
	// Instances are the instances read, the default first, then in
	// start order: those that can run under systemd and those that
	// cannot (Instance.Skip, Runnable), told apart by Resolve. An instance
	// whose main.cf cannot be read is only a Problem.
	Instances []Instance
	// Problems are why instances cannot run or be read, in the order
	// postmulti would meet them.
	Problems []Problem

	// Directories is multi_instance_directories of the default instance,
	// expanded and split, every entry as listed, bad ones included.
	Directories []string

	// Shared is how many of Problems come from the check of the shared
	// directories (Options.CheckSharedDirs, and their claims): they come
	// first, before those of the default instance.
	Shared int

	// Layout is the unit naming in force (unit.DetectLayout, from the
	// postfix package's units in the file system Load read): every
	// instance's Spec follows it, and whoever resolves a changed list
	// again (postmulti -e) passes it to Resolve.
	Layout unit.Layout

	l *loader
}

// Read reads the config directory dir as postmulti's load_instance does
// when postmulti -e import adopts it: one postconf -xc dir run, whose
// warnings are the instance's (Instance.Warnings). The error is a Problem
// (Unreadable, BadValue), with the run's warnings and the error it
// stopped at (Problem.Warnings, Problem.Cause). Only for a Set that Load
// made.
func (s *Set) Read(dir string) (*Instance, error) {
	in, p := s.l.readSecondary(dir, 0)
	if p != nil {
		return nil, *p
	}
	return in, nil
}

// Default returns the default instance, which Load always models.
func (s *Set) Default() *Instance { return &s.Instances[0] }

// Matches reports whether postmulti -i sel selects in: "-" is the default
// instance; a selector starting with "/", or any selector for a nameless
// instance, is compared with the config directory (as a string, as
// postmulti compares it); otherwise with the name, or with the name less
// its "postfix-" prefix when sel itself lacks the prefix.
func (in *Instance) Matches(sel string) bool {
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

// InGroup reports whether postmulti -g group selects in.
func (in *Instance) InGroup(group string) bool { return in.Group != "" && in.Group == group }

// Load reads the default config directory and every instance it lists,
// with the compiled-in defaults of maincf.BuiltinDefaults.
// fsys is rooted at "/" (DirFS("/") in production, a test tree in tests);
// paths are absolute as in main.cf. An
// error is returned only when the default instance itself cannot be
// modelled (a problem on which postmulti itself would stop); it is a
// Problem. A default instance that cannot run under systemd is only
// skipped, as any other.
func Load(fsys fs.FS, defaultConfigDir string) (*Set, error) {
	return LoadWithDefaults(fsys, defaultConfigDir, nil)
}

// LoadWithDefaults is Load with the given compiled-in defaults (nil:
// maincf.BuiltinDefaults), for the generator, which reads those of the
// Postfix installed under its --root (maincf.InstalledDefaults).
func LoadWithDefaults(fsys fs.FS, defaultConfigDir string, defaults maincf.Defaults) (*Set, error) {
	set, err := LoadWith(fsys, defaultConfigDir, Options{Defaults: defaults})
	if err != nil {
		return nil, err
	}
	for _, p := range set.Problems {
		if p.Position == 0 && p.Kind.Fatal() {
			return nil, fmt.Errorf("default instance: %w", p)
		}
	}
	return set, nil
}

// Options are LoadWith's settings. The zero value reads as postmulti
// does.
type Options struct {
	// Defaults are the compiled-in defaults; nil means
	// maincf.BuiltinDefaults.
	Defaults maincf.Defaults
	// MainCF, when not nil, is the content of the default main.cf, read
	// by the caller (postmulti -e reads it under its edit lock).
	MainCF []byte
	// CheckSharedDirs checks, as postmulti does at start-up, that the
	// shared directories exist and are directories (BadDirectory).
	CheckSharedDirs bool
	// WorkDir, when not "", is the absolute directory against which a
	// relative config directory is read, as postmulti's postconf runs
	// read it against their working directory. The instance is then
	// read, and skipped with a RelativePath problem; without WorkDir it
	// is not read at all (only its RelativePath problem is in Problems).
	WorkDir string
	// CheckInterfaces reads every main.cf as postconf and postmulti
	// read it, failing on an inet_interfaces address that no local
	// interface has (maincf.Config.CheckInterfaces). The postmulti shim
	// sets it; the generator must not (interfaces are not up at boot).
	CheckInterfaces bool
}

// LoadWith is Load for a caller that reproduces postmulti: the Set comes
// back also when the default instance has problems (they have Position 0
// and come first in Problems, those of the shared directories first of
// all), so that the caller can report them where postmulti does. The
// error, a Problem, is what postmulti's reading of the default main.cf
// dies of: the file cannot be read or parsed, a parameter postmulti
// reads from it cannot be expanded, or multi_instance_enable is not a
// boolean.
func LoadWith(fsys fs.FS, defaultConfigDir string, opts Options) (*Set, error) {
	if opts.Defaults == nil {
		opts.Defaults = maincf.BuiltinDefaults()
	}
	l := &loader{fsys: fsys, defaults: opts.Defaults, workDir: opts.WorkDir, checkIfaces: opts.CheckInterfaces}
	def, dirs, err := l.readDefault(defaultConfigDir, opts.MainCF)
	if err != nil {
		return nil, err
	}
	// Every instance claims up to four names and directories.
	claims := 4*(len(dirs)+1) + 4
	l.exact = make(map[string]owner, claims)
	set := &Set{Instances: make([]Instance, 1, len(dirs)+1), Directories: dirs, l: l, Layout: unit.DetectLayout(fsys)}
	set.Instances[0] = *def
	set.Problems = l.claimShared(def, opts.CheckSharedDirs)
	set.Shared = len(set.Problems)
	defConflicts := l.claim(def, 0, instanceClaims(def))
	if len(set.Directories) == 0 {
		set.Instances[0].Enabled = true // single-instance mode
	}
	// Reading is independent per instance; claims are made in list order,
	// as postmulti makes them, so the result does not depend on timing.
	ins, probs := l.readAll(set.Directories)
	conflicts := make([][]Problem, 1, len(ins)+1)
	conflicts[0] = defConflicts
	for i, in := range ins {
		if in == nil {
			continue
		}
		set.Instances = append(set.Instances, *in)
		conflicts = append(conflicts, l.claim(in, i+1, instanceClaims(in)))
	}
	Resolve(set.Instances, fsys, set.Layout)
	// Problems in list order, one per instance (postmulti's conflicts
	// first: they say it in postmulti's words); skipped instances get the
	// first as their reason.
	k := 0
	for pos := 0; pos <= len(ins); pos++ {
		if pos > 0 && probs[pos-1] != nil {
			p := *probs[pos-1]
			set.Problems = append(set.Problems, p)
			continue
		}
		in := &set.Instances[k]
		if c := conflicts[k]; len(c) > 0 {
			set.Problems = append(set.Problems, c...)
			in.Skip, in.Spec = &c[0], Spec{}
		} else if in.Skip != nil {
			set.Problems = append(set.Problems, *in.Skip)
		}
		k++
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
	workDir  string
	// exact holds postmulti's claims, keyed by the value as a string.
	exact       map[string]owner
	defaultCF   string
	defaultFile *maincf.File
	checkIfaces bool // Options.CheckInterfaces
}

// postfixName names dir/file as Postfix's messages name it.
func postfixName(dir, file string) string {
	return strings.TrimSuffix(dir, "/") + "/" + file
}

// fsName is the name of the absolute path p in the loader's file system.
func fsName(p string) string {
	if p = strings.TrimPrefix(path.Clean(p), "/"); p == "" {
		return "."
	}
	return p
}

// Strerror words an error as the C library's strerror(3) does ("No such
// file or directory"): Go's messages for an errno are the same text with
// a lower-case first letter.
func Strerror(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		if s != "" && s[0] >= 'a' && s[0] <= 'z' {
			s = string(s[0]-'a'+'A') + s[1:]
		}
		return s
	}
	return err.Error()
}

// readConfig reads the main.cf of dir, found at where (dir itself unless
// dir is relative) in the loader's file system, or parses data when it
// is not nil. Only a regular file of at most MaxFileSize bytes is read
// (ReadRegular). Errors name the file as Postfix does.
func (l *loader) readConfig(dir, where string, data []byte) (*maincf.Config, error) {
	name := postfixName(dir, "main.cf")
	if data == nil {
		var err error
		if data, err = ReadRegular(l.fsys, fsName(where+"/main.cf")); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				return nil, &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
			}
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
	}
	f, err := maincf.Parse(name, data)
	if err != nil {
		return nil, err
	}
	cfg := maincf.NewConfig(dir, f, l.defaults)
	cfg.CheckInterfaces = l.checkIfaces
	return cfg, nil
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

// readDefault is postmulti's mail_conf_read: the default main.cf (data,
// when not nil, is its content), the parameters postmulti reads from it,
// and multi_instance_directories split. Its error is a Problem (Default)
// on which postmulti dies.
func (l *loader) readDefault(dir string, data []byte) (*Instance, []string, error) {
	mainCF := path.Join(dir, "main.cf")
	fail := func(p Problem, err error) (*Instance, []string, error) {
		p.ConfigDir, p.Default, p.Err = dir, true, fmt.Errorf("default instance: %w", err)
		if p.Kind == 0 {
			p.Kind = Unreadable
		}
		if p.Path == "" {
			p.Path = mainCF
		}
		return nil, nil, p
	}
	cfg, err := l.readConfig(dir, dir, data)
	if err != nil {
		p := Problem{Cause: err}
		var se *maincf.SyntaxError
		if errors.As(err, &se) {
			p.Path, p.Line = se.Path, se.Line
		}
		return fail(p, err)
	}
	in := &Instance{Default: true, ConfigDir: dir, MainCF: mainCF, Config: cfg, Warnings: cfg.File.Warnings()}
	l.defaultCF, l.defaultFile = mainCF, cfg.File
	expandErr := func(param string, err error) (*Instance, []string, error) {
		p := Problem{Warnings: in.Warnings, Cause: err}
		var ee *maincf.ExpandError
		if errors.As(err, &ee) {
			// A start-up failure names the parameter at fault, whichever
			// was asked for.
			if ee.Name != "" {
				param = ee.Name
			}
			// postmulti's own reading (mail_conf_eval): each of
			// mac_expand's warnings once, then dict_eval's fatal error.
			var more []string
			for _, w := range ee.Warnings {
				if !slices.Contains(in.Warnings, w) && !slices.Contains(more, w) {
					more = append(more, w)
				}
			}
			p.Warnings = append(slices.Clip(in.Warnings), more...)
			msg := ee.Fatal
			if len(more) > 0 {
				msg += ": " + strings.Join(more, "; ")
			}
			err = errors.New(msg)
		}
		p.Param, p.Line = param, lineOf(cfg.File, param)
		return fail(p, fmt.Errorf("%s: %s: %w", mainCF, param, err))
	}
	if p, err := expandAll(cfg, in); err != nil {
		return expandErr(p, err)
	}
	// postmulti's own mail_params_init checks the host's addresses
	// whether or not main.cf sets mynetworks (Options.CheckInterfaces).
	if l.checkIfaces {
		if err := cfg.CheckLocalInterfaces(); err != nil {
			return expandErr("inet_interfaces", err)
		}
	}
	value, err := cfg.ExpandValue(paramEnable)
	if err != nil {
		return expandErr(paramEnable, err)
	}
	var ok bool
	if in.Enabled, ok = parseEnable(value); !ok {
		p := Problem{Line: lineOf(cfg.File, paramEnable), Warnings: in.Warnings, Kind: BadValue, Param: paramEnable, Value: value}
		return fail(p, fmt.Errorf("%s: bad boolean configuration: %s = %s", l.position(cfg.File, mainCF, paramEnable), paramEnable, value))
	}
	dirs, err := cfg.ExpandValue(paramDirs)
	if err != nil {
		return expandErr(paramDirs, err)
	}
	return in, maincf.SplitList(dirs), nil
}

// claimShared is postmulti's check_shared_dir_status: each absolute
// shared directory exists and is a directory (when check is set), and
// belongs to the default instance (meta_directory excepted, as there).
func (l *loader) claimShared(def *Instance, check bool) []Problem {
	var problems []Problem
	for _, param := range []string{paramCommandDir, paramDaemonDir, paramMetaDir, paramShlibDir} {
		v, err := def.Config.ExpandValue(param)
		if err != nil || !strings.HasPrefix(v, "/") {
			continue
		}
		if check {
			msg := ""
			st, err := fs.Stat(l.fsys, fsName(v))
			if err != nil {
				msg = fmt.Sprintf("%s = '%s': directory not found: %s", param, v, Strerror(err))
			} else if !st.IsDir() {
				msg = fmt.Sprintf("%s = '%s' is not a directory", param, v)
			}
			if msg != "" {
				p := l.problemAt(def, 0, param)
				p.Kind, p.Default, p.Param, p.Value, p.Cause = BadDirectory, true, param, v, err
				p.Err = fmt.Errorf("%s: %s", l.where(p), msg)
				problems = append(problems, p)
				continue
			}
		}
		if param != paramMetaDir {
			problems = append(problems, l.claim(def, 0, []claim{{param, v}})...)
		}
	}
	return problems
}

// instanceClaims lists what postmulti's claim_instance_attributes claims,
// in its order.
func instanceClaims(in *Instance) []claim {
	c := make([]claim, 0, 4)
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
	where := dir
	if !strings.HasPrefix(dir, "/") {
		if l.workDir == "" {
			p := Problem{ConfigDir: dir, Position: pos, Path: l.defaultCF, Line: lineOf(l.defaultFile, paramDirs), Kind: RelativePath}
			p.Err = fmt.Errorf("%s: %s lists a relative config directory %q", l.where(p), paramDirs, dir)
			return nil, &p
		}
		where = path.Join(l.workDir, dir)
	}
	mainCF := path.Join(dir, "main.cf")
	cfg, err := l.readConfig(dir, where, nil)
	if err != nil {
		p := Problem{ConfigDir: dir, Position: pos, Path: mainCF, Kind: Unreadable, Cause: err}
		var se *maincf.SyntaxError
		if errors.As(err, &se) {
			p.Path, p.Line = se.Path, se.Line
		}
		p.Err = fmt.Errorf("instance %s: %w", dir, err)
		return nil, &p
	}
	in := &Instance{ConfigDir: dir, MainCF: mainCF, Position: pos, Config: cfg, Warnings: cfg.Warnings()}
	// postconf reads master.cf too, and warns when it cannot.
	if _, err := fs.Stat(l.fsys, fsName(where+"/master.cf")); err != nil {
		in.Warnings = append(in.Warnings, "open "+postfixName(dir, "master.cf")+": "+Strerror(err))
	}
	param, err := expandAll(cfg, in)
	var value string
	if err == nil {
		param = paramEnable
		value, err = cfg.Expand(paramEnable)
	}
	if err != nil {
		p := Problem{ConfigDir: dir, Position: pos, Path: mainCF, Line: lineOf(cfg.File, param), Kind: Unreadable, Param: param, Warnings: in.Warnings, Cause: err}
		var ee *maincf.ExpandError
		if errors.As(err, &ee) {
			// Reading main.cf may have said them already: postconf
			// says each once.
			p.Warnings = append([]string(nil), p.Warnings...)
			for _, w := range ee.Warnings {
				if !slices.Contains(p.Warnings, w) {
					p.Warnings = append(p.Warnings, w)
				}
			}
		}
		p.Err = fmt.Errorf("%s: cannot expand %s: %w", l.where(p), param, err)
		return nil, &p
	}
	enabled, ok := parseEnable(value)
	if !ok {
		p := Problem{ConfigDir: dir, Position: pos, Path: mainCF, Line: lineOf(cfg.File, paramEnable), Kind: BadValue,
			Param: paramEnable, Value: value, Warnings: in.Warnings}
		p.Err = fmt.Errorf("%s: %s = %s is neither yes nor no", l.where(p), paramEnable, value)
		return nil, &p
	}
	in.Enabled = enabled
	return in, nil
}

// readAll runs readSecondary for every listed directory, in list order.
func (l *loader) readAll(dirs []string) ([]*Instance, []*Problem) {
	ins, probs := make([]*Instance, len(dirs)), make([]*Problem, len(dirs))
	for i, dir := range dirs {
		ins[i], probs[i] = l.readSecondary(dir, i+1)
	}
	return ins, probs
}

func (l *loader) where(p Problem) string {
	if p.Line > 0 {
		return fmt.Sprintf("%s, line %d", p.Path, p.Line)
	}
	return p.Path
}

// claim registers in's claims postmulti's way (exact strings, owner
// "config_directory, parameter"), and returns the Conflict problems.
// Postmulti's claims are kept unless one of them conflicts, as postmulti
// would have kept them.
func (l *loader) claim(in *Instance, pos int, claims []claim) []Problem {
	var exactP []Problem
	// This instance's claims so far, entered into l.exact at the end: a
	// few, looked up before that table.
	type held struct {
		key string
		o   owner
	}
	exact := make([]held, 0, len(claims))
	lookup := func(k string) (owner, bool) {
		for _, h := range exact {
			if h.key == k {
				return h.o, true
			}
		}
		o, ok := l.exact[k]
		return o, ok
	}
	for _, c := range claims {
		me := owner{configDir: in.ConfigDir, param: c.param, position: pos}
		if o, ok := lookup(c.value); ok && o.String() != me.String() {
			p := l.problemAt(in, pos, c.param)
			p.Kind, p.Default = Conflict, in.Default
			p.Param, p.Value, p.OwnerDir, p.OwnerParam = c.param, c.value, o.configDir, o.param
			p.Err = fmt.Errorf("%s: instance %s, %s=%s conflicts with instance %s=%s", l.where(p), in.ConfigDir, c.param, c.value, o, c.value)
			exactP = append(exactP, p)
			continue
		}
		exact = append(exact, held{c.value, me})
	}
	if len(exactP) == 0 {
		for _, h := range exact {
			l.exact[h.key] = h.o
		}
	}
	return exactP
}

// problemAt starts a problem about param of in: in its main.cf at the
// line that sets it, or for the config directory in the default main.cf
// at multi_instance_directories. An instance that joins the set (Claim)
// has no main.cf yet: its problems name the one it will have.
func (l *loader) problemAt(in *Instance, pos int, param string) Problem {
	p := Problem{ConfigDir: in.ConfigDir, Position: pos, Path: in.MainCF}
	switch {
	case in.Config == nil:
		p.Path = path.Join(in.ConfigDir, "main.cf")
	case param == paramConfigDir && !in.Default:
		p.Path, p.Line = l.defaultCF, lineOf(l.defaultFile, paramDirs)
	case param != paramConfigDir:
		p.Line = lineOf(in.Config.File, param)
	}
	return p
}
