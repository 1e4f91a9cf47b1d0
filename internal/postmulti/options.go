package postmulti

import "strings"

// mode is what postmulti was asked to do: one iterator mode (-l, -p, -x)
// or one life-cycle action (-e ACTION). The values mirror upstream's bit
// masks so that the argument checks read like the original.
type mode int

const (
	modeNone    mode = 0
	modePostfix mode = 1 << 0 // -p
	modeList    mode = 1 << 1 // -l
	modeGeneric mode = 1 << 2 // -x

	editCreate  mode = 1 << 4
	editImport  mode = 1 << 5
	editDestroy mode = 1 << 6
	editDeport  mode = 1 << 7
	editEnable  mode = 1 << 8
	editDisable mode = 1 << 9
	editAssign  mode = 1 << 10
	editInit    mode = 1 << 11

	iterMask       = modePostfix | modeList | modeGeneric
	editAdd        = editCreate | editImport
	editAssignMask = editAdd | editAssign
	editMask       = editAdd | editDestroy | editDeport | editEnable | editDisable | editAssign | editInit
)

// editActions lists the -e actions in the order upstream's error message
// names them.
var editActions = []struct {
	name string
	mode mode
}{
	{"create", editCreate}, {"destroy", editDestroy}, {"import", editImport},
	{"deport", editDeport}, {"enable", editEnable}, {"disable", editDisable},
	{"assign", editAssign}, {"init", editInit},
}

func (m mode) String() string {
	for _, a := range editActions {
		if a.mode == m {
			return a.name
		}
	}
	return ""
}

// selType is how instances are selected (-a, -g, -i).
type selType int

const (
	selNone  selType = iota // no selection option given
	selAll                  // -a
	selName                 // -i name|/config/dir|-
	selGroup                // -g group
)

// selection is the -a/-g/-i choice.
type selection struct {
	typ  selType
	name string
}

// Options is the parsed command line, before any file is read: what
// upstream's getopt loop and argument checks produce.
type Options struct {
	Mode      mode
	Selection selection
	// NewName and NewGroup are -I and -G; nil when absent, "" for "-".
	NewName, NewGroup *string
	Reverse           bool // -R, toggled by each occurrence
	Verbose           int  // number of -v
	Args              []string
}

// parseOptions runs upstream's option loop and argument checks over args
// (argv without argv[0]). Every error is a fatal error carrying upstream's
// wording; getopt's own diagnostic, when there is one, is returned in
// diag and precedes the usage message.
func parseOptions(prog string, args []string) (*Options, error) {
	o := &Options{}
	g := &getopt{prog: prog, args: args}
	selCount, modeCount := 0, 0
	for {
		op, ok, err := g.next()
		if err != nil {
			return nil, &fatalError{pre: err.Error(), msg: usage(prog)}
		}
		if !ok {
			break
		}
		switch op.ch {
		case 'a':
			if o.Selection.typ != selAll {
				selCount++
			}
			o.Selection.typ = selAll
		case 'e':
			code := modeNone
			for _, a := range editActions {
				if a.name == op.arg {
					code = a.mode
				}
			}
			if code == modeNone {
				return nil, fatalf("Invalid '-e' edit action '%s'. Specify '%s', '%s', '%s', '%s', '%s', '%s', '%s' or '%s'",
					op.arg, "create", "destroy", "import", "deport", "enable", "disable", "assign", "init")
			}
			if o.Mode != code {
				modeCount++
			}
			o.Mode = code
		case 'g':
			selCount++
			o.Selection = selection{selGroup, op.arg}
		case 'i':
			selCount++
			o.Selection = selection{selName, op.arg}
		case 'G':
			if o.NewGroup != nil {
				return nil, fatalf("Specify at most one '-G' option")
			}
			v := dashEmpty(op.arg)
			o.NewGroup = &v
		case 'I':
			if o.NewName != nil {
				return nil, fatalf("Specify at most one '-I' option")
			}
			v := dashEmpty(op.arg)
			o.NewName = &v
		case 'l', 'p', 'x':
			m := map[byte]mode{'l': modeList, 'p': modePostfix, 'x': modeGeneric}[op.ch]
			if o.Mode != m {
				modeCount++
			}
			o.Mode = m
		case 'R':
			o.Reverse = !o.Reverse
		case 'v':
			o.Verbose++
		}
	}
	o.Args = g.rest()

	switch {
	case selCount > 1:
		// Sic: upstream's message has this typo.
		return nil, fatalf("Specity no more than one of '-a', '-g', '-i'")
	case modeCount != 1:
		return nil, fatalf("Specify exactly one of '-e', '-l', '-p', '-x'")
	case o.Mode == modeList && len(o.Args) > 0:
		return nil, fatalf("Command not allowed with '-l'")
	case (o.Mode == modePostfix || o.Mode == modeGeneric) && len(o.Args) == 0:
		return nil, fatalf("Command required with '-p' or '-x' option")
	case (o.Mode == modePostfix || o.Mode&editMask != 0) && o.Reverse:
		return nil, fatalf("The '-p' and '-e' options preclude the use of '-R'")
	}
	if o.Mode&editAssignMask == 0 && (o.NewName != nil || o.NewGroup != nil) {
		if o.Mode&editMask == 0 {
			return nil, fatalf("Cannot assign instance name or group without '-e %s'", editAssign)
		}
		return nil, fatalf("Cannot assign instance name or group with '-e %s'", o.Mode)
	}
	if o.Mode&editMask != 0 {
		if o.Mode == editAssign && o.NewName == nil && o.NewGroup == nil {
			return nil, fatalf("Specify new instance name or group with '-e %s'", o.Mode)
		}
		if o.Mode&^editAdd != 0 && len(o.Args) > 0 {
			return nil, fatalf("Parameter overrides not valid with '-e %s'", o.Mode)
		}
	}
	return o, nil
}

// dashEmpty maps the command line's "-" (no name, no group) to "".
func dashEmpty(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// usage is upstream's one-line usage message.
func usage(prog string) string {
	p := prog
	return strings.Join([]string{
		"Usage:" + p + " -l [-v] [-a] [-g group] [-i instance]",
		p + " -p [-v] [-a] [-g group] [-i instance] command...",
		p + " -x [-v] [-a] [-i name] [-g group] command...",
		p + " -e action [-v] [-a] [-i name] [-g group] [-I name] [-G group] [param=value ...]",
	}, " | ")
}
