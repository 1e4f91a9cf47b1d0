package postmulti

import "strings"

// optstring is upstream's getopt(3) specification, "+ae:g:i:G:I:lpRvx":
// the leading "+" (Postfix's GETOPT macro on Linux) stops option parsing at
// the first non-option argument, so that
//
//	postmulti -i postfix-out -x postconf -e "a = b"
//
// hands "-e" to postconf rather than reading it as postmulti's own.
const optstring = "ae:g:i:G:I:lpRvx"

// getopt is a byte-for-byte model of glibc getopt(3) in REQUIRE_ORDER mode
// with the short options of optstring. It is deliberately not pflag: pflag
// knows long options, "=" syntax and reordering, none of which postmulti
// accepts.
type getopt struct {
	prog string   // program name used in diagnostics (basename of argv[0])
	args []string // argv without argv[0]
	ind  int      // index into args of the next argument to scan (optind-1)
	pos  int      // position inside a clustered argument ("-lav"), 0 = none
}

// opt is one parsed option: its letter and, for e, g, i, G, I, its argument.
type opt struct {
	ch  byte
	arg string
}

// getoptError is what glibc prints to stderr before returning '?'.
type getoptError struct{ msg string }

func (e *getoptError) Error() string { return e.msg }

// next returns the next option; ok is false once parsing has stopped
// (end of arguments, "--", "-" or the first non-option). A non-nil error
// carries glibc's diagnostic, printed without regard to the tty.
func (g *getopt) next() (o opt, ok bool, err error) {
	if g.pos == 0 {
		if g.ind >= len(g.args) {
			return opt{}, false, nil
		}
		a := g.args[g.ind]
		if a == "--" {
			g.ind++
			return opt{}, false, nil
		}
		if len(a) < 2 || a[0] != '-' {
			return opt{}, false, nil
		}
		g.pos = 1
	}
	a := g.args[g.ind]
	c := a[g.pos]
	g.pos++
	i := strings.IndexByte(optstring, c)
	if i < 0 || c == ':' {
		if g.pos >= len(a) {
			g.ind++
			g.pos = 0
		}
		return opt{}, false, &getoptError{g.prog + ": invalid option -- '" + string(c) + "'"}
	}
	if i+1 < len(optstring) && optstring[i+1] == ':' {
		if g.pos < len(a) {
			o = opt{c, a[g.pos:]}
			g.ind++
			g.pos = 0
			return o, true, nil
		}
		g.ind++
		g.pos = 0
		if g.ind >= len(g.args) {
			return opt{}, false, &getoptError{g.prog + ": option requires an argument -- '" + string(c) + "'"}
		}
		o = opt{c, g.args[g.ind]}
		g.ind++
		return o, true, nil
	}
	if g.pos >= len(a) {
		g.ind++
		g.pos = 0
	}
	return opt{ch: c}, true, nil
}

// rest returns the operands left after option parsing stopped.
func (g *getopt) rest() []string { return g.args[g.ind:] }
