package check

import (
	"path"
	"strings"
)

// masterCF is what the checks read of a master.cf: its services, in file
// order, each once (a later entry with the same name and type replaces an
// earlier one, as master(8) does on start and reload).
type masterCF struct {
	Path     string
	Services []service
}

// service is one master.cf entry.
type service struct {
	Name, Type string
	Command    string            // the command's base name ("smtpd", "smtp")
	Options    map[string]string // -o name=value, the last of each name
	OptLine    map[string]int    // the physical line of each -o
	Line       int               // the line where the entry starts
}

// parseMasterCF reads master.cf as master(8) reads it (readlline):
// blank lines and lines whose first non-blank character is "#" are
// skipped anywhere, a line that starts with white space continues the
// entry before it. Fields are separated by blanks; "{ … }" groups an
// argument that holds blanks (Postfix 3.0). Entries with too few fields
// are skipped: master would refuse to start, which "postfix check" says.
func parseMasterCF(name string, data []byte) *masterCF {
	m := &masterCF{Path: name}
	type logical struct {
		words []string
		lines []int // the physical line of each word
		first int
	}
	var cur *logical
	var all []*logical
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		trimmed := strings.TrimLeft(raw, " \t\r\n\f\v")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if cur == nil || trimmed == raw {
			cur = &logical{first: n}
			all = append(all, cur)
		}
		for _, w := range splitMasterWords(raw) {
			cur.words = append(cur.words, w)
			cur.lines = append(cur.lines, n)
		}
	}
	index := map[string]int{}
	for _, l := range all {
		if len(l.words) < 8 {
			continue
		}
		s := service{Name: l.words[0], Type: l.words[1], Command: path.Base(l.words[7]), Line: l.first,
			Options: map[string]string{}, OptLine: map[string]int{}}
		args := l.words[8:]
		for j := 0; j < len(args); j++ {
			a := args[j]
			var opt string
			switch {
			case a == "-o" && j+1 < len(args):
				j++
				opt = args[j]
			case strings.HasPrefix(a, "-o") && len(a) > 2:
				opt = a[2:]
			default:
				continue
			}
			opt = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(opt, "{"), "}"))
			k, v, ok := strings.Cut(opt, "=")
			if !ok {
				continue
			}
			k = strings.TrimSpace(k)
			s.Options[k] = strings.TrimSpace(v)
			s.OptLine[k] = l.lines[8+j]
		}
		key := s.Name + "/" + s.Type
		if i, ok := index[key]; ok {
			m.Services[i] = s
			continue
		}
		index[key] = len(m.Services)
		m.Services = append(m.Services, s)
	}
	return m
}

// splitMasterWords splits a line into blank-separated words, keeping a
// "{ … }" group as one word.
func splitMasterWords(s string) []string {
	var words []string
	for i := 0; i < len(s); {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		if s[i] == '{' {
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '{' {
					depth++
				} else if s[i] == '}' {
					depth--
					if depth == 0 {
						i++
						break
					}
				}
			}
		} else {
			for i < len(s) && !isBlank(s[i]) {
				i++
			}
		}
		words = append(words, s[start:i])
	}
	return words
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// serviceTypes are master.cf's service types.
var serviceTypes = []string{"inet", "unix", "unix-dgram", "fifo", "pass"}

// disabled reports whether master_service_disable (split) disables the
// service, as match_service_match does: the first matching pattern
// decides, "!pattern" excludes; a pattern is a service type, or
// "name/type" (also the older "name.type").
func disabled(patterns []string, name, typ string) bool {
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		var match bool
		switch {
		case strings.Contains(p, "/"):
			i := strings.LastIndexByte(p, '/')
			match = strings.EqualFold(p[:i], name) && strings.EqualFold(p[i+1:], typ)
		case isType(p):
			match = strings.EqualFold(p, typ)
		default:
			i := strings.LastIndexByte(p, '.')
			match = i > 0 && strings.EqualFold(p[:i], name) && strings.EqualFold(p[i+1:], typ)
		}
		if match {
			return !neg
		}
	}
	return false
}

func isType(p string) bool {
	for _, t := range serviceTypes {
		if strings.EqualFold(p, t) {
			return true
		}
	}
	return false
}

// lookup returns the service name/typ.
func (m *masterCF) lookup(name, typ string) (service, bool) {
	if m == nil {
		return service{}, false
	}
	for _, s := range m.Services {
		if s.Name == name && s.Type == typ {
			return s, true
		}
	}
	return service{}, false
}
