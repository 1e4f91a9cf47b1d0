// Package maincf reads, expands and edits Postfix main.cf files with the
// exact semantics of postconf(1).
//
// A File keeps every byte of its input (comments, blank lines, continuation
// lines, CRLF, trailing white space) so that Bytes returns the input
// unchanged, and edits (Set, Remove, CommentOut) touch only the logical line
// they concern, landing where postconf -e, -X and -# put them.
//
// A Config layers a File over the compiled-in defaults (see Defaults) and
// answers what postconf -h (Raw) and postconf -xh (Expand) would print.
// Nothing here spawns a process: this is what lets the generator and the
// postmulti shim read a hundred instances in the time postconf starts once.
package maincf

// STUB: the API below is the contract other packages build against. The
// owner of this package replaces the bodies; signatures may grow but should
// not break callers without telling them.

import (
	"errors"
	"io/fs"
)

// ErrNotImplemented marks a stub.
var ErrNotImplemented = errors.New("maincf: not implemented")

// SyntaxError is a malformed main.cf line, reported like postconf does:
// the file, the line number and what is wrong.
type SyntaxError struct {
	Path string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return e.Path + ", line " + itoa(e.Line) + ": " + e.Msg }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// File is one main.cf, kept losslessly.
type File struct {
	Path string
	data []byte
}

// Parse parses main.cf bytes; path is used in error messages only.
func Parse(path string, data []byte) (*File, error) {
	return &File{Path: path, data: append([]byte(nil), data...)}, ErrNotImplemented
}

// ReadFile reads and parses name from fsys (an fs.FS rooted at "/", with
// name given without the leading slash, as io/fs requires).
func ReadFile(fsys fs.FS, name string) (*File, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	return Parse("/"+name, data)
}

// Bytes returns the file's contents; for an unedited File, the input.
func (f *File) Bytes() []byte { return append([]byte(nil), f.data...) }

// Lookup returns the raw (unexpanded) value of the last assignment to name.
func (f *File) Lookup(name string) (value string, ok bool) { return "", false }

// Set assigns value to name like postconf -e "name = value".
func (f *File) Set(name, value string) {}

// Remove deletes every assignment to name like postconf -X name.
func (f *File) Remove(name string) bool { return false }

// CommentOut comments out every assignment to name like postconf -# name.
func (f *File) CommentOut(name string) bool { return false }

// Defaults are compiled-in parameter defaults (postconf -d).
type Defaults interface {
	Default(name string) (value string, ok bool)
}

// BuiltinDefaults returns the defaults of the Postfix build we ship for.
func BuiltinDefaults() Defaults { return nil }

// Config is a main.cf over the compiled-in defaults, as postconf -c DIR sees it.
type Config struct {
	Dir      string // the config directory (postconf -c DIR)
	File     *File
	Defaults Defaults
}

// Raw returns what postconf -c Dir -h name prints.
func (c *Config) Raw(name string) (string, bool) { return "", false }

// Expand returns what postconf -c Dir -xh name prints.
func (c *Config) Expand(name string) (string, error) { return "", ErrNotImplemented }

// Bool parses name's expanded value as a Postfix boolean.
func (c *Config) Bool(name string) (bool, error) { return false, ErrNotImplemented }

// SplitList splits a Postfix list value on commas and white space.
func SplitList(s string) []string { return nil }
