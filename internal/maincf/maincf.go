// Package maincf reads, expands and edits Postfix main.cf files with the
// exact semantics of postconf(1) of the installed Postfix: 3.7 (Debian
// 12), 3.10 (Debian 13) and 3.11 (sid), each checked against its own
// postconf inside a container of that release (releases_test.go). The
// installed version (version.go: from dpkg's status file) picks the
// compiled-in defaults and the few behaviours that changed: 3.10 warns
// about text after a NUL byte, ends an unterminated last line before an
// edit, names main.cf by its path in warnings about unbalanced {} and
// about a "#comment after other text" in map references, and does not
// walk nested {} of regexp:/pcre: tables; 3.11 expands ${name{text}}
// functions (domain_to_ascii, domain_to_utf8) and skips debug: like proxy:.
//
// A File keeps every byte of its input (comments, blank lines, continuation
// lines, CRLF, trailing white space) so that Bytes returns the input
// unchanged, and edits (Set, Remove, CommentOut) touch only the lines they
// concern, exactly as postconf -e, -X and -# do.
//
// A Config layers a File over the compiled-in defaults (see Defaults) and
// answers what postconf -c DIR -h (Raw) and postconf -c DIR -xh (Expand)
// would print, including postconf's notion of which parameter names are
// known at all. Nothing here spawns a process: this is what lets the
// generator and the postmulti shim read a hundred instances in the time
// postconf starts once. The built-in defaults are Go source generated
// from postconf -d (defaults_<series>_gen.go), not parsed at start-up. What
// postconf's start-up derives from the defaults alone (the scan of every
// default, the expansion of defaults that main.cf cannot affect) is
// computed once per process and Table, the scan of the built-in defaults
// at go generate time already; host facts (host name, interfaces) once
// per process at run time. Per main.cf, only what its own assignments can
// change is redone.
//
// The behaviour is checked against the real postconf by the differential
// tests of this package (oracle_test.go, random_test.go). What they taught,
// in short:
//
//   - A logical line is a line that starts with non-white-space text plus
//     the following lines that start with white space, joined without
//     their newlines (leading white space kept). Lines whose first
//     non-white-space character is '#', and blank lines, are dropped
//     wherever they are, even between a line and its continuation. Text
//     continuing nothing at the start of the file is ignored with a
//     warning. A line that is not "name = value" is fatal, with file and
//     line.
//   - postconf -h prints values with white space runs folded to one space
//     (Raw, Expand); daemons see the value unfolded (Value, ExpandValue).
//   - A user-defined parameter is known to postconf only when another
//     parameter refers to it as $name (or smtpd_restriction_classes lists
//     it); otherwise postconf -h says "unknown parameter" and exits 0.
//   - An undefined $name expands to nothing. A loop is "unreasonable macro
//     call nesting" and a fatal "macro processing error"; a loop through a
//     relational operand (${{$a} == {x}?...}) makes postconf die of
//     SIGSEGV. Values of built-in parameters in main.cf are expanded when
//     postconf starts, so one bad value makes every query fail.
//   - postconf -e replaces each assignment in place with "name = value\n"
//     (dropping its continuation lines, keeping comment lines among them)
//     or appends it at the end of the file, without first ending an
//     unterminated last line. Text after a NUL byte on a line is lost.
package maincf

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// SyntaxError is a malformed main.cf line, reported like postconf does:
// the file, the line number and what is wrong. postconf treats it as
// fatal; so do Parse and ReadFile.
type SyntaxError struct {
	Path string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return e.Path + ", line " + strconv.Itoa(e.Line) + ": " + e.Msg
}

// Entry is one name = value assignment: a logical line of main.cf.
type Entry struct {
	Name  string
	Value string // as Postfix stores it: continuation lines joined, ends trimmed
	Line  int    // the physical line where the logical line starts (1-based)
}

// File is one main.cf, kept losslessly.
type File struct {
	Path string

	data     string // names and values of one-line assignments are parts of it
	entries  []Entry
	prev     []int          // for each entry, the index of the previous assignment of its name, or -1
	last     map[string]int // name -> index of its last assignment in entries
	warnings []string
	lwarn    int // warnings[:lwarn] are about logical lines, the rest about duplicates
	gen      int // incremented by every edit, so a Config can tell
}

// Parse parses main.cf bytes as Postfix's dict_load_fp does; path is used
// in messages only. A malformed logical line is a *SyntaxError (postconf
// exits with "fatal: PATH, line N: ..."). Non-fatal findings (see
// Warnings) do not make Parse fail.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, data: string(data)}
	if err := f.parse(); err != nil {
		return nil, err
	}
	return f, nil
}

// ReadFile reads and parses name from fsys (an fs.FS rooted at "/", with
// name given without the leading slash, as io/fs requires).
func ReadFile(fsys fs.FS, name string) (*File, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read main.cf: %w", err)
	}
	return Parse("/"+name, data)
}

// Bytes returns the file's contents; for an unedited File, the input.
func (f *File) Bytes() []byte { return []byte(f.data) }

// Lookup returns the raw (unexpanded) value of the last assignment to name,
// exactly as Postfix daemons see it (white space inside the value kept).
func (f *File) Lookup(name string) (value string, ok bool) {
	i, ok := f.last[name]
	if !ok {
		return "", false
	}
	return f.entries[i].Value, true
}

// Entries returns every assignment in file order, duplicates included.
func (f *File) Entries() []Entry { return append([]Entry(nil), f.entries...) }

// Names returns the assigned parameter names in order of first appearance.
func (f *File) Names() []string {
	var names []string
	for i, e := range f.entries {
		if f.prev[i] < 0 {
			names = append(names, e.Name)
		}
	}
	return names
}

// Warnings returns what postconf warns about while reading this file
// (continuation text at the start of the file, overridden duplicates),
// worded as postconf words them, without the "postconf: warning: " prefix.
func (f *File) Warnings() []string { return append([]string(nil), f.warnings...) }

// isSpace is Postfix's ISSPACE: ASCII isspace() in the C locale.
func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// cstr cuts s at its first NUL byte, as C string functions see it.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// parse fills entries, last and warnings from data, following
// util/readlline.c (logical lines) and util/dict.c dict_load_fp with
// util/split_nameval.c (name = value).
func (f *File) parse() error {
	n := assignments(f.data)
	f.entries = make([]Entry, 0, n)
	f.prev = make([]int, 0, n)
	f.last = make(map[string]int, n)
	f.warnings = nil
	f.gen++
	r := lineReader{data: f.data}
	var lwarn, dwarn []string
	defer func() {
		f.warnings = append(lwarn, dwarn...)
		f.lwarn = len(lwarn)
	}()
	for {
		buf, first, ok := r.logical(f.Path, &lwarn)
		if !ok {
			return nil
		}
		line := cstr(buf)
		np, ne, vp, ve, msg := splitNamevalAt(line)
		if msg != "" {
			return &SyntaxError{Path: f.Path, Line: first, Msg: msg + ": \"" + line + "\""}
		}
		name, value := line[np:ne], line[vp:ve]
		prev := -1
		if i, dup := f.last[name]; dup {
			prev = i
			if f.entries[i].Value != value {
				dwarn = append(dwarn, fmt.Sprintf("%s, line %d: overriding earlier entry: %s=%s",
					f.Path, first, name, f.entries[i].Value))
			}
		}
		f.prev = append(f.prev, prev)
		f.last[name] = len(f.entries)
		f.entries = append(f.entries, Entry{Name: name, Value: value, Line: first})
	}
}

// assignments returns how many logical lines data has at most: the lines
// that start with neither white space nor '#' (to size what parse fills).
func assignments(data string) int {
	n := 0
	for i := 0; i < len(data); {
		if c := data[i]; c != '#' && !isSpace(c) {
			n++
		}
		j := strings.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return n
}

// lineReader reads logical lines the way readllines() does.
type lineReader struct {
	data   string
	pos    int
	lineno int
}

// logical returns the next logical line (physical lines joined without
// their newlines, leading white space of continuation lines kept, comment
// and blank lines anywhere dropped), the number of its first non-blank
// physical line, and false at the end of input. A logical line that is
// one physical line is a part of data, not a copy.
func (r *lineReader) logical(path string, warnings *[]string) (string, int, bool) {
	for {
		var line string
		var joined []byte // line, once it spans physical lines
		first := 0
		gotNull, cFirst := false, 0 // readllines' got_null and *first_line
		for {
			start := r.pos
			if i := strings.IndexByte(r.data[start:], '\n'); i >= 0 {
				r.pos = start + i
			} else {
				r.pos = len(r.data)
			}
			phys := r.data[start:r.pos]
			eof := r.pos >= len(r.data)
			if !eof {
				r.pos++ // the newline
			}
			if !eof || len(phys) > 0 {
				r.lineno++
			}
			if strings.IndexByte(phys, 0) >= 0 {
				gotNull = true
			}
			if line == "" {
				cFirst = r.lineno
			}
			i := 0
			for i < len(phys) && isSpace(phys[i]) {
				i++
			}
			if i < len(phys) && phys[i] != '#' {
				switch {
				case line == "":
					first = r.lineno
					line = phys
				case joined == nil:
					joined = append(append(make([]byte, 0, len(line)+len(phys)), line...), phys...)
				default:
					joined = append(joined, phys...)
				}
			}
			if eof {
				break
			}
			if line != "" {
				if r.pos >= len(r.data) {
					break
				}
				if next := r.data[r.pos]; next != '#' && !isSpace(next) {
					break
				}
			}
		}
		if joined != nil {
			line = string(joined)
		}
		if gotNull && postfixAtLeast(3, 10) {
			// Postfix 3.10 readllines(): text after a NUL byte.
			if cFirst == r.lineno {
				*warnings = append(*warnings, fmt.Sprintf("%s, line %d: text after null byte may be ignored", path, r.lineno))
			} else {
				*warnings = append(*warnings, fmt.Sprintf("%s, line %d-%d: text after null byte may be ignored", path, cFirst, r.lineno))
			}
		}
		if line != "" && isSpace(line[0]) {
			// Continuation text without a preceding logical line:
			// readllines() warns and ignores it.
			c := cstr(line)
			if len(c) > 30 {
				c = c[:30]
			}
			more := ""
			if len(line) > 30 {
				more = "..."
			}
			*warnings = append(*warnings, fmt.Sprintf("%s: logical line must not start with whitespace: \"%s%s\"",
				path, c, more))
			continue
		}
		return line, first, line != ""
	}
}

// splitNameval splits "name = value" like util/split_nameval.c; msg is
// postconf's complaint when the text is malformed.
func splitNameval(buf []byte) (name, value, msg string) {
	np, ne, vp, ve, msg := splitNamevalAt(buf)
	if msg != "" {
		return "", "", msg
	}
	return string(buf[np:ne]), string(buf[vp:ve]), ""
}

// splitNamevalAt is splitNameval returning where the name and the value
// are in buf: buf[np:ne] and buf[vp:ve].
func splitNamevalAt[T ~string | ~[]byte](buf T) (np, ne, vp, ve int, msg string) {
	i := 0
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	if i == len(buf) || buf[i] == '=' {
		return 0, 0, 0, 0, "missing attribute name"
	}
	np = i
	for i < len(buf) && !isSpace(buf[i]) && buf[i] != '=' {
		i++
	}
	ne = i
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	if i == len(buf) || buf[i] != '=' {
		return 0, 0, 0, 0, "missing '=' after attribute name"
	}
	i++
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	end := len(buf)
	for end > i && isSpace(buf[end-1]) {
		end--
	}
	return np, ne, i, end, ""
}
