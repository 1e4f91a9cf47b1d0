package pfinstances

import (
	"errors"
	"io/fs"
	"slices"
	"strings"

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
// which of them can run under systemd, and their units and files: it
// reads them through instance.Load and asks each instance
// (instance.Instance.Runnable, the single source of truth the generator
// and postmulti also use) for its Spec or the reason it cannot run. It
// decides none of that itself.
func loadModel(fsys fs.FS, configDir string) (*model, error) {
	set, err := instance.Load(fsys, configDir)
	if err != nil {
		return nil, err
	}
	m := &model{ConfigDir: configDir}
	read := map[int]bool{}
	for i := range set.Instances {
		in := &set.Instances[i]
		read[in.Position] = true
		e := fromInstance(in)
		spec, err := in.Runnable()
		if err != nil {
			e.Skip = skipOf(in.ConfigDir, err)
		} else {
			e.Unit, e.DropIn, e.PIDFile, e.GroupTarget = spec.Unit, spec.DropIn, spec.PIDFile, spec.GroupTarget
		}
		m.Entries = append(m.Entries, e)
	}
	// Instances that could not be read are only problems: the first
	// problem of each is its reason.
	for _, p := range set.Problems {
		if read[p.Position] {
			continue
		}
		read[p.Position] = true
		m.Entries = append(m.Entries, entry{Position: p.Position, ConfigDir: p.ConfigDir, Skip: skipOf(p.ConfigDir, p)})
	}
	slices.SortStableFunc(m.Entries, func(a, b entry) int { return a.Position - b.Position })
	return m, nil
}

// skipOf describes why an instance cannot run; err is an instance.Problem
// (or wraps one).
func skipOf(dir string, err error) *skip {
	s := &skip{Kind: "unknown", Reason: reason(dir, err)}
	var p instance.Problem
	if errors.As(err, &p) {
		s.Kind, s.File, s.Line = strings.ReplaceAll(p.Kind.String(), " ", "_"), p.Path, p.Line
	}
	return s
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
