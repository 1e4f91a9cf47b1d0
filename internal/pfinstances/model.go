package pfinstances

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/postfix-systemd/postfix-instances/generator"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// entry is one instance as the verbs show it: what postmulti -l -a shows
// of it, and whether it can run under systemd, with its units and files,
// or why not.
type entry struct {
	Position int // 0 for the default instance, else its place in multi_instance_directories (1-based)
	Default  bool
	// Read is whether its main.cf could be read: Name, Group, Enabled,
	// QueueDir and DataDir are known only then.
	Read      bool
	Name      string // multi_instance_name, "" for none
	Group     string // multi_instance_group, "" for none
	Enabled   bool
	ConfigDir string // as listed in multi_instance_directories
	QueueDir  string
	DataDir   string
	MainCF    string

	// Set when the instance is runnable (Skip is nil).
	Unit        string // postfix@NAME.service
	DropIn      string // UNIT.d/50-instance.conf, relative to a generator directory
	PIDFile     string // the master's PID file
	GroupTarget string // postfix-GROUP.target, "" without a group

	Skip *skip // why the generator writes no unit for it; nil when runnable
}

// skip is why an instance cannot run under systemd.
type skip struct {
	Kind   string // instance.Kind in words, underscores for spaces
	Reason string // the message, naming the file and line
	File   string
	Line   int
}

// label names the entry as postmulti -l does: "-" for no name.
func (e *entry) label() string {
	if e.Name == "" {
		return "-"
	}
	return e.Name
}

// instance returns the entry as an instance.Instance for -i and -g
// selection (instance.Instance.Matches, InGroup).
func (e *entry) instance() *instance.Instance {
	return &instance.Instance{Name: e.Name, Group: e.Group, Default: e.Default, ConfigDir: e.ConfigDir}
}

// model is every instance of the host, in start order.
type model struct {
	ConfigDir string // the default config directory
	Entries   []entry
}

// loadModel is the one place this package learns which instances exist,
// which of them can run under systemd, and their units and files. It
// asks the instance model and the generator's own rules (it decides
// nothing itself): the instances Load models and Plan accepts are
// runnable; the others are listed with the first reason given for them.
func loadModel(fsys fs.FS, configDir string) (*model, error) {
	set, err := instance.Load(fsys, configDir)
	if err != nil {
		return nil, err
	}
	_, errs := generator.Plan(set, generator.Options{})
	planned := map[string]error{}
	for _, err := range errs {
		var ie *generator.InstanceError
		if errors.As(err, &ie) {
			if _, ok := planned[ie.ConfigDir]; !ok {
				planned[ie.ConfigDir] = ie.Err
			}
		}
	}
	m := &model{ConfigDir: configDir}
	for i := range set.Instances {
		in := &set.Instances[i]
		e := fromInstance(in)
		if err, ok := planned[in.ConfigDir]; ok {
			e.Skip = &skip{Kind: "unit", Reason: err.Error(), File: in.MainCF}
		} else {
			e.Unit, _ = in.UnitName()
			e.DropIn = e.Unit + ".d/" + generator.DropInName
			e.PIDFile = path.Join(path.Clean(in.QueueDir), "pid/master.pid")
			if in.Group != "" {
				e.GroupTarget = "postfix-" + in.Group + ".target"
			}
		}
		m.Entries = append(m.Entries, e)
	}
	// Instances Load left out: the first problem of each is its reason.
	seen := map[int]bool{}
	for _, p := range set.Problems {
		if p.Position == 0 || seen[p.Position] {
			continue
		}
		seen[p.Position] = true
		e := entry{Position: p.Position, ConfigDir: p.ConfigDir}
		if in, _, err := set.Read(p.ConfigDir); err == nil && strings.HasPrefix(p.ConfigDir, "/") {
			e = fromInstance(in)
			e.Position = p.Position
		}
		e.Skip = &skip{Kind: strings.ReplaceAll(p.Kind.String(), " ", "_"), Reason: reason(p.ConfigDir, p.Err), File: p.Path, Line: p.Line}
		m.Entries = append(m.Entries, e)
	}
	slices.SortStableFunc(m.Entries, func(a, b entry) int { return a.Position - b.Position })
	return m, nil
}

func fromInstance(in *instance.Instance) entry {
	return entry{
		Position: in.Position, Default: in.Default, Read: true,
		Name: in.Name, Group: in.Group, Enabled: in.Enabled,
		ConfigDir: in.ConfigDir, QueueDir: in.QueueDir, DataDir: in.DataDir, MainCF: in.MainCF,
	}
}

// reason returns err's message without a leading "instance DIR: ", which
// the output already carries.
func reason(dir string, err error) string {
	return strings.TrimPrefix(err.Error(), "instance "+dir+": ")
}
