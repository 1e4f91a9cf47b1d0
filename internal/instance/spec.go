package instance

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// Spec is what systemd needs to run one instance: its directories, cleaned
// once ("/etc//postfix-a/" is "/etc/postfix-a"), and its units (see
// package unit). Resolve makes it; every part that names an instance's unit
// or files (the generator, postmulti -p, postmulti -e) reads it here.
type Spec struct {
	ConfigDir string // config_directory, cleaned
	QueueDir  string // queue_directory, cleaned
	DataDir   string // data_directory, cleaned
	MainCF    string // ConfigDir/main.cf

	Unit    string // postfix@NAME.service, … (unit.Layout.ForInstance)
	DropIn  string // UNIT.d/50-instance.conf, relative to a generator output directory
	PIDFile string // QueueDir/pid/master.pid
	// GroupTarget is postfix-GROUP.target; "" without a
	// multi_instance_group, and for the default instance on the Debian13
	// layout, which joins no group target (unit.Layout.GroupMember).
	GroupTarget string
}

// Runnable returns the instance's Spec, or why it cannot run under
// systemd: the generator writes no unit for it, postmulti -p does not
// start one, postmulti -e refuses to make an instance so. An instance that
// did not go through Resolve (or Load) cannot run.
func (in *Instance) Runnable() (Spec, error) {
	switch {
	case in.Skip != nil:
		return Spec{}, *in.Skip
	case in.Spec.Unit == "":
		return Spec{}, fmt.Errorf("instance %s: not resolved", in.ConfigDir)
	}
	return in.Spec, nil
}

// Resolve decides, for every instance of list, whether it can run under
// systemd, and what its units and files are, named by layout's rules (see
// unit.Layout; Load detects it, Set.Layout): it sets each instance's Spec,
// or its Skip. list holds the instances in start order, the default
// instance first, as Set.Instances holds them. This is the one place where
// that is decided (Load calls it; so does postmulti -e, on the list it is
// about to write, before writing it).
//
// An instance cannot run when:
//
//   - its config, queue or data directory is relative (RelativePath);
//   - its config or queue directory, which go into unit files, holds a
//     ".." element or a byte that does not read the same in every unit
//     setting (BadPath): only letters, digits and "/._-+:@,=~" are written;
//   - its name or group cannot stand in a unit name, or its unit name is
//     too long (BadName, see package unit);
//   - it shares, with an instance before it in list, its config directory,
//     its unit, or any of its config, queue and data directories with any
//     directory of the other, shared directories of the default instance
//     (command_directory, daemon_directory, shlib_directory) included
//     (Duplicate). Directories are compared cleaned and, for the config
//     and queue directories when fsys is not nil and the directory exists
//     there, as files (a symlink or a bind mount is the directory it
//     shows). The first instance keeps what it holds.
//
// Each skipped instance gets one reason, the first of these: a Problem
// whose Err names the file (and line) at fault and wraps the reason
// itself (errors.Unwrap).
func Resolve(list []Instance, fsys fs.FS, layout unit.Layout) {
	if len(list) == 0 {
		return
	}
	r := &resolver{owners: make(map[claimKey]owner, 6*len(list)+4), fsys: fsys, def: &list[0], layout: layout}
	r.claimShared()
	for i := range list {
		in := &list[i]
		spec, p := r.check(in)
		if p == nil {
			p = r.claimAll(in, i, &spec)
		}
		in.Skip = p
		if p != nil {
			spec = Spec{}
		}
		in.Spec = spec
	}
}

// resolver holds what Resolve's instances have claimed so far.
type resolver struct {
	// owners maps what is claimed to who holds it; owner.position is the
	// index in the list (-1 for the shared directories).
	owners map[claimKey]owner
	fsys   fs.FS
	def    *Instance
	layout unit.Layout
}

// claimKey is one thing an instance holds: a config directory, a unit, a
// directory in any role (cleaned paths), or a directory as a file.
type claimKey struct {
	kind     keyKind
	s        string // the path or unit name
	dev, ino uint64 // for keyFile
}

type keyKind uint8

const (
	keyConfig keyKind = iota + 1
	keyUnit
	keyDir
	keyFile
)

// claimShared claims the default instance's shared directories.
func (r *resolver) claimShared() {
	if r.def.Config == nil {
		return
	}
	for _, param := range []string{paramCommandDir, paramDaemonDir, paramShlibDir} {
		v, err := r.def.Config.ExpandValue(param)
		if err != nil || !strings.HasPrefix(v, "/") {
			continue
		}
		o := owner{configDir: r.def.ConfigDir, param: param, position: -1}
		var buf [2]claimKey
		for _, k := range appendDirKeys(buf[:0], r.fsys, v) {
			if _, ok := r.owners[k]; !ok {
				r.owners[k] = o
			}
		}
	}
}

// problem starts a problem about param of in: in its main.cf at the line
// that sets it, or, for the config directory of a secondary instance, in
// the default main.cf at multi_instance_directories.
func (r *resolver) problem(in *Instance, param string, kind Kind, format string, a ...any) *Problem {
	p := &Problem{ConfigDir: in.ConfigDir, Position: in.Position, Path: in.MainCF, Kind: kind}
	if p.Path == "" {
		p.Path = postfixName(in.ConfigDir, "main.cf")
	}
	switch {
	case param == paramConfigDir && !in.Default:
		if r.def.Config != nil {
			p.Path, p.Line = r.def.Config.File.Path, lineOf(r.def.Config.File, paramDirs)
		} else {
			p.Path = postfixName(r.def.ConfigDir, "main.cf")
		}
	case param != paramConfigDir && in.Config != nil:
		p.Line = lineOf(in.Config.File, param)
	}
	where := p.Path
	if p.Line > 0 {
		where = fmt.Sprintf("%s, line %d", p.Path, p.Line)
	}
	p.Err = fmt.Errorf("%s: %w", where, fmt.Errorf(format, a...))
	return p
}

// check makes the checks of one instance on its own.
func (r *resolver) check(in *Instance) (Spec, *Problem) {
	var s Spec
	for _, d := range []struct {
		param, value string
		dst          *string
		unitFile     bool // written into unit files
	}{
		{paramConfigDir, in.ConfigDir, &s.ConfigDir, true},
		{paramQueueDir, in.QueueDir, &s.QueueDir, true},
		{paramDataDir, in.DataDir, &s.DataDir, false},
	} {
		if !strings.HasPrefix(d.value, "/") {
			if d.param == paramConfigDir {
				return s, r.problem(in, d.param, RelativePath, "%s lists a relative config directory %q", paramDirs, d.value)
			}
			return s, r.problem(in, d.param, RelativePath, "%s %q is not an absolute path", d.param, d.value)
		}
		if d.unitFile {
			if err := unit.CheckPath(d.value); err != nil {
				return s, r.problem(in, d.param, BadPath, "%s %q %v", d.param, d.value, err)
			}
		}
		*d.dst = path.Clean(d.value)
	}
	s.MainCF = s.ConfigDir + "/main.cf"
	if s.ConfigDir == "/" {
		s.MainCF = "/main.cf"
	}
	s.PIDFile = unit.PIDFile(s.QueueDir)
	var err error
	if s.Unit, err = r.layout.ForInstance(in.Default, in.Name, s.ConfigDir); err != nil {
		return s, r.problem(in, paramName, BadName, "%v", err)
	}
	s.DropIn = unit.DropIn(s.Unit)
	if in.Group != "" && r.layout.GroupMember(in.Default) {
		if s.GroupTarget, err = unit.ForGroup(in.Group); err != nil {
			return s, r.problem(in, paramGroup, BadName, "%v", err)
		}
	}
	return s, nil
}

// claimAll claims the instance's config directory, unit and directories,
// in that order; the first clash is the problem, and then the instance
// claims nothing.
func (r *resolver) claimAll(in *Instance, pos int, s *Spec) *Problem {
	type key struct {
		k     claimKey
		param string
	}
	keys := make([]key, 0, 8)
	keys = append(keys, key{claimKey{kind: keyConfig, s: s.ConfigDir}, paramConfigDir}, key{claimKey{kind: keyUnit, s: s.Unit}, paramName})
	for _, d := range []struct {
		param, value string
		asFile       bool
	}{{paramConfigDir, s.ConfigDir, true}, {paramQueueDir, s.QueueDir, true}, {paramDataDir, s.DataDir, false}} {
		if !d.asFile {
			keys = append(keys, key{claimKey{kind: keyDir, s: d.value}, d.param})
			continue
		}
		var buf [2]claimKey
		for _, k := range appendDirKeys(buf[:0], r.fsys, d.value) {
			keys = append(keys, key{k, d.param})
		}
	}
	for i, k := range keys {
		o, ok := r.owners[k.k]
		if !ok {
			for _, m := range keys[:i] {
				if m.k == k.k {
					o, ok = owner{configDir: in.ConfigDir, param: m.param, position: pos}, true
					break
				}
			}
		}
		if !ok || o.position == pos && o.param == k.param {
			continue // free, or the same directory under two spellings of one role
		}
		return r.clash(in, pos, k.k, k.param, o)
	}
	for _, k := range keys {
		if _, ok := r.owners[k.k]; !ok {
			r.owners[k.k] = owner{configDir: in.ConfigDir, param: k.param, position: pos}
		}
	}
	return nil
}

// clash is the Duplicate problem of in's param, held as key by o.
func (r *resolver) clash(in *Instance, pos int, key claimKey, param string, o owner) *Problem {
	whose := "instance " + o.configDir
	switch o.position {
	case 0, -1:
		whose = "the default instance"
	case pos:
		whose = "this instance"
	}
	value := map[string]string{paramConfigDir: in.ConfigDir, paramQueueDir: in.QueueDir, paramDataDir: in.DataDir}[param]
	switch {
	case key.kind == keyConfig && o.position == 0:
		return r.problem(in, paramConfigDir, Duplicate, "%s lists the default config directory %s", paramDirs, in.ConfigDir)
	case key.kind == keyConfig:
		return r.problem(in, paramConfigDir, Duplicate, "%s lists %s twice (also as %s)", paramDirs, in.ConfigDir, o.configDir)
	case key.kind == keyUnit:
		return r.problem(in, paramName, Duplicate, "unit %s is already that of %s (duplicate %s)", key.s, whose, paramName)
	case key.kind == keyFile:
		return r.problem(in, param, Duplicate, "%s %s is the same directory as the %s of %s", param, value, o.param, whose)
	}
	return r.problem(in, param, Duplicate, "%s %s is also the %s of %s", param, value, o.param, whose)
}

// SameDir reports whether a and b are one directory by the rule with
// which Resolve compares config and queue directories (and postmulti -e
// an instance's config directory with the others'): equal once cleaned,
// or, when both are absolute and exist in fsys (when not nil), the same
// file (a symlink or a bind mount is the directory it shows).
func SameDir(fsys fs.FS, a, b string) bool {
	var bufA, bufB [2]claimKey
	kb := appendDirKeys(bufB[:0], fsys, b)
	for _, k := range appendDirKeys(bufA[:0], fsys, a) {
		if slices.Contains(kb, k) {
			return true
		}
	}
	return false
}

// appendDirKeys appends to keys those under which a directory is
// claimed: its cleaned path and, when it exists in fsys, the file. Two
// directories are one (SameDir) when they share a key.
func appendDirKeys(keys []claimKey, fsys fs.FS, dir string) []claimKey {
	keys = append(keys, claimKey{kind: keyDir, s: path.Clean(dir)})
	if k, ok := fileKey(fsys, dir); ok {
		keys = append(keys, k)
	}
	return keys
}

// fileKey is the key of dir as a file, when fsys is set and dir, an
// absolute path, exists there.
func fileKey(fsys fs.FS, dir string) (claimKey, bool) {
	if fsys == nil || !strings.HasPrefix(dir, "/") {
		return claimKey{}, false
	}
	var st syscall.Stat_t
	switch f := fsys.(type) {
	case dirFS:
		// What os.DirFS's Stat does, without its allocations.
		if err := f.stat(fsName(dir), &st); err != nil {
			return claimKey{}, false
		}
	default:
		fi, err := fs.Stat(fsys, fsName(dir))
		if err != nil {
			return claimKey{}, false
		}
		sys, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return claimKey{}, false
		}
		st = *sys
	}
	return claimKey{kind: keyFile, dev: st.Dev, ino: st.Ino}, true
}

// Runnable returns the instances that can run, in start order.
func (s *Set) Runnable() []Instance {
	out := make([]Instance, 0, len(s.Instances))
	for _, in := range s.Instances {
		if in.Skip == nil {
			out = append(out, in)
		}
	}
	return out
}
