package maincf

import (
	"errors"
	"fmt"
	"strings"
)

// Edit errors, worded as postconf words them.
var (
	ErrMultiLine = errors.New("-e, -X, or -# accepts no multi-line input")
	ErrComment   = errors.New("-e, -X, or -# accepts no comment input")
	ErrBadName   = errors.New("invalid parameter name")
	ErrNoName    = errors.New("-X or -# requires non-blank parameter names")
	ErrNameValue = errors.New("-X or -# requires parameter names without value")
)

type editMode int

const (
	editSet editMode = iota
	editRemove
	editComment
)

// Set assigns value to name like postconf -e "name = value": every
// assignment to name is replaced in place by the single line
// "name = value" (its continuation lines are dropped; comment and blank
// lines among them stay), or, when name is not assigned, that line is
// appended at the end of the file. Like postconf, Set appends to a file
// whose last line has no newline without adding one first, and writes a
// replaced line with LF even in a CRLF file.
//
// value is trimmed like postconf trims it; a name that is empty or holds
// white space, '=' or a leading '#', and a value with a newline or NUL, are
// refused.
func (f *File) Set(name, value string) error {
	return f.SetAll(Assignment{name, value})
}

// Assignment is one "name = value" of SetAll.
type Assignment struct{ Name, Value string }

// SetAll is one postconf -e with several "name = value" arguments, as
// postmulti-script runs it (-e init sets multi_instance_wrapper and
// multi_instance_enable in one run): a single pass over the file that
// matches every line against every name, so that a line that a NUL byte
// cuts short (the text after the NUL and the newline are lost, as for
// postconf) has the same effect on each edit as with postconf, instead of
// joining with the next line before the next edit. Names not assigned are
// appended in the order given (postconf appends them in hash-table order,
// which varies). A name given twice takes its last value. Nothing changes
// when any assignment is refused (see Set).
func (f *File) SetAll(as ...Assignment) error {
	names, values := make([]string, len(as)), make([]string, len(as))
	for k, a := range as {
		if err := checkName(a.Name); err != nil {
			return fmt.Errorf("%s: set %q: %w", f.Path, a.Name, err)
		}
		if strings.ContainsAny(a.Value, "\n\x00") {
			return fmt.Errorf("%s: set %q: %w", f.Path, a.Name, ErrMultiLine)
		}
		v := []byte(a.Value)
		i, j := 0, len(v)
		for i < j && isSpace(v[i]) {
			i++
		}
		for j > i && isSpace(v[j-1]) {
			j--
		}
		names[k], values[k] = a.Name, string(v[i:j])
	}
	f.edit(editSet, names, values)
	return nil
}

// Remove deletes every assignment to name, with its continuation lines,
// like postconf -X name. It reports whether name was assigned.
func (f *File) Remove(name string) bool {
	if checkName(name) != nil {
		return false
	}
	return f.edit(editRemove, []string{name}, nil)
}

// CommentOut comments out every assignment to name like postconf -# name:
// the first line and each continuation line get a leading '#'. It reports
// whether name was assigned.
func (f *File) CommentOut(name string) bool {
	if checkName(name) != nil {
		return false
	}
	return f.edit(editComment, []string{name}, nil)
}

func checkName(name string) error {
	switch {
	case name == "":
		return ErrNoName
	case strings.ContainsAny(name, "\n"):
		return ErrMultiLine
	case name[0] == '#':
		return ErrComment
	case strings.ContainsRune(name, '='):
		return ErrNameValue
	}
	for i := 0; i < len(name); i++ {
		if isSpace(name[i]) || name[i] == 0 {
			return fmt.Errorf("%w: %q", ErrBadName, name)
		}
	}
	return nil
}

// edit rewrites f.data the way postconf/postconf_edit.c pcf_edit_main
// does, physical line by physical line, for every name in one pass
// (values[k] is names[k]'s new value with editSet), and re-parses the
// result. It reports whether any name was assigned.
func (f *File) edit(mode editMode, names, values []string) bool {
	var out strings.Builder
	grow := len(f.data)
	for k := range names {
		grow += len(names[k]) + 4
		if values != nil {
			grow += len(values[k])
		}
	}
	out.Grow(grow)
	interesting := false
	found := make([]int, len(names))
	// index is which name a line assigns: the last of equal names, so
	// that the last value given wins.
	index := func(n string) int {
		for k := len(names) - 1; k >= 0; k-- {
			if names[k] == n {
				return k
			}
		}
		return -1
	}
	data := f.data
	if postfixAtLeast(3, 10) && data != "" && data[len(data)-1] != '\n' {
		// Postfix 3.10's postconf ends an unterminated last line with
		// a newline whatever it edits; 3.7's appends right after it.
		data += "\n"
	}
	for len(data) > 0 {
		n := strings.IndexByte(data, '\n') + 1
		if n == 0 {
			n = len(data)
		}
		line := cstr(data[:n]) // postconf handles C strings
		data = data[n:]
		i := 0
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		switch {
		case i == len(line) || line[i] == '#':
			// Comment, blank or white-space-only line: always kept.
			out.WriteString(line)
		case i > 0:
			// Continuation line.
			switch {
			case !interesting:
				out.WriteString(line)
			case mode == editComment:
				out.WriteByte('#')
				out.WriteString(line)
			}
		default:
			k := 0
			for k < len(line) && !strings.ContainsRune(" \t\r\n=", rune(line[k])) {
				k++
			}
			x := index(line[:k])
			interesting = x >= 0
			switch {
			case !interesting:
				out.WriteString(line)
			case mode == editSet:
				found[x]++
				out.WriteString(names[x] + " = " + values[x] + "\n")
			case mode == editComment:
				found[x]++
				out.WriteByte('#')
				out.WriteString(line)
			default:
				found[x]++
			}
		}
	}
	assigned := false
	for k, n := range names {
		switch {
		case found[k] > 0:
			assigned = true
		case mode == editSet && index(n) == k:
			out.WriteString(n + " = " + values[k] + "\n")
		}
	}
	old := f.data
	f.data = out.String()
	if err := f.parse(); err != nil {
		// Cannot happen for a file that parsed before: an edit only
		// replaces or drops whole logical lines, or appends a valid one
		// (an unterminated last line may swallow it, as with postconf,
		// but stays "name = value..." shaped). Keep the old bytes.
		f.data = old
		_ = f.parse()
		return false
	}
	return assigned
}
