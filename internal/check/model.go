package check

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// This file is where the checks meet the instance model: which instances
// can run, what their units are called and where their generated drop-in
// lives (instance.Spec, decided by instance.Resolve), and how the
// loader's problems read.

// inst is one instance that can run, as the checks see it.
type inst struct {
	*instance.Instance
	spec  instance.Spec // its units and cleaned directories
	label string        // how findings name it
	order int           // its start-order position (0 for the default)

	master    *masterCF // nil when master.cf cannot be read
	listeners []listener
}

type checker struct {
	ctx      context.Context
	in       Input
	fsys     fs.FS
	insts    []*inst
	findings []Finding
	notes    []string
	env      env // name and port resolution, set by listen
}

// load keeps the instances that can run (instance.Resolve decided, in
// Load); those that cannot are reported by problems.
func (c *checker) load() {
	if c.in.Set == nil {
		return
	}
	for i := range c.in.Set.Instances {
		in := &c.in.Set.Instances[i]
		spec, err := in.Runnable()
		if err != nil {
			continue
		}
		c.insts = append(c.insts, &inst{Instance: in, spec: spec, label: label(in), order: in.Position})
	}
}

// label names an instance in findings: its name, "-" for the default
// instance, its config directory when it has no name.
func label(in *instance.Instance) string {
	switch {
	case in.Default && in.Name == "":
		return "-"
	case in.Name == "":
		return in.ConfigDir
	}
	return in.Name
}

// generatorDir is the generator's output directory.
const generatorDir = "/run/systemd/generator"

// dropInPath is where the generator writes the instance's drop-in.
func (x *inst) dropInPath() string { return generatorDir + "/" + x.spec.DropIn }

func (c *checker) add(f Finding) { c.findings = append(c.findings, f) }

func (c *checker) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// paramLine is the line of main.cf that sets name, 0 when none does.
func paramLine(in *instance.Instance, name string) int {
	if in.Config == nil || in.Config.File == nil {
		return 0
	}
	line := 0
	for _, e := range in.Config.File.Entries() {
		if e.Name == name {
			line = e.Line
		}
	}
	return line
}

// expand is the instance's expanded value of a main.cf parameter, "" when
// it cannot be expanded.
func expand(in *instance.Instance, name string) string {
	v, err := in.Config.Expand(name)
	if err != nil {
		return ""
	}
	return v
}

// problems reports the instances the loader left out, and why.
func (c *checker) problems() {
	if c.in.Set == nil {
		return
	}
	for _, p := range c.in.Set.Problems {
		// Named by its config directory: its name may be the problem.
		f := Finding{Severity: Error, Instance: p.ConfigDir, File: p.Path, Line: p.Line, order: p.Position,
			Message: problemText(p)}
		switch p.Kind {
		case instance.Conflict, instance.Duplicate:
			switch problemParam(p) {
			case "queue_directory":
				f.Check = CheckSharedQueue
				f.Fix = "give each instance a queue_directory of its own: postconf -c " + p.ConfigDir + " -e queue_directory=/var/spool/NAME"
			case "data_directory":
				f.Check = CheckSharedData
				f.Fix = "give each instance a data_directory of its own: postconf -c " + p.ConfigDir + " -e data_directory=/var/lib/NAME"
			case "multi_instance_name":
				f.Check = CheckDuplicateName
				f.Fix = "rename one of them: postconf -c " + p.ConfigDir + " -e multi_instance_name=postfix-NEWNAME"
			default:
				f.Check = CheckDuplicateDir
				f.Fix = "list each config directory once in multi_instance_directories"
			}
		case instance.BadName:
			f.Check = CheckUnitName
			if strings.Contains(f.Message, "group") {
				f.Fix = "use a group of letters, digits and \"-_.:\" only: postconf -c " + p.ConfigDir + " -e multi_instance_group=NEWGROUP"
			} else {
				f.Fix = "use a name of letters, digits and \"-_.:\" only: postconf -c " + p.ConfigDir + " -e multi_instance_name=postfix-NEWNAME"
			}
		case instance.BadPath:
			f.Check = CheckUnitName
			f.Fix = "use directories of letters, digits and \"/._-+:@,=~\" only, without \"..\""
		default:
			f.Check = CheckUnreadable
			f.Fix = "correct the file; until then no unit runs this instance"
		}
		f.Message += " (the instance gets no unit)"
		c.add(f)
	}
}

// problemText is the problem's message without its "FILE, line N: "
// prefix (the finding carries both).
func problemText(p instance.Problem) string {
	msg := p.Err.Error()
	for _, prefix := range []string{fmt.Sprintf("%s, line %d: ", p.Path, p.Line), p.Path + ": ", "instance " + p.ConfigDir + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

// problemParam is the parameter a Conflict or Duplicate problem is about:
// the first one its message names.
func problemParam(p instance.Problem) string {
	msg := problemText(p)
	if strings.Contains(msg, "multi_instance_directories lists") {
		return "config_directory"
	}
	best, at := "", len(msg)
	for _, param := range []string{"queue_directory", "data_directory", "multi_instance_name", "config_directory"} {
		if i := strings.Index(msg, param); i >= 0 && i < at {
			best, at = param, i
		}
	}
	return best
}

// readText reads a file of fsys by its absolute path.
func readText(fsys fs.FS, name string) ([]byte, error) {
	return fs.ReadFile(fsys, fsPath(name))
}

// fsPath turns an absolute path into an fs.FS name.
func fsPath(name string) string {
	p := strings.TrimPrefix(path.Clean("/"+name), "/")
	if p == "" {
		return "."
	}
	return p
}
