package maincf

// Macro expansion with the semantics of Postfix 3.7's util/mac_parse.c and
// util/mac_expand.c (3.10's are the same; 3.11 adds ${name{text}}
// functions, see parseFunction), plus the "level" relational operators of
// global/compat_level.c that postconf registers. The structure follows
// Postfix closely on purpose: the order of warnings, what is skipped after
// an error and the nesting counter all show in postconf's output.

import (
	"fmt"
	"strings"
)

const (
	macParseError = 1 << 0 // MAC_PARSE_ERROR
	macParseUndef = 1 << 1 // MAC_PARSE_UNDEF

	macRecurse = 1 << 0 // MAC_EXP_FLAG_RECURSE
	macScan    = 1 << 1 // MAC_EXP_FLAG_SCAN

	modeUse  = 0 // $name: use the value
	modeTest = 1 // ${name?...} or ${name:...}: test the value

	macWhitespace = " \t\r\n" // CHARS_SPACE
	maxNesting    = 100       // mac_expand's "unreasonable macro call nesting"

	// maxExpandDepth bounds nested expansions of relational operands.
	// Postfix has no bound there: a loop through a relational operand
	// (a = ${{$a} == {x}?{y}}) overflows the C stack and postconf dies
	// with SIGSEGV. We report that as a *CrashError instead.
	maxExpandDepth = 200

	// maxSteps and maxResult bound the work of one expansion. Postfix
	// has no such bound: "a = $b$b$b$b", "b = $c$c$c$c", ... grows
	// exponentially and postconf runs until it is killed or out of
	// memory. A generator must not hang at boot, so we give up instead.
	maxSteps  = 1 << 20 // real files take hundreds; this is ~1 s
	maxResult = 16 << 20
)

// lookupFunc returns a parameter value, or ok=false when undefined.
type lookupFunc func(name string, mode int) (value string, ok bool)

// fatal is raised (panicked) for Postfix's msg_fatal() inside expansion
// and recovered by Config; crash likewise for a Postfix segfault.
type fatal struct{ msg string }
type crash struct{ msg string }

// macEngine holds what one postconf invocation shares between nested
// expansions: where warnings go and how deep relational operands nest.
type macEngine struct {
	warn func(string)
	fns  map[string]namedFn // ${name{text}} functions; nil before Postfix 3.11

	midnaASCII, midnaUTF8 midnaCache // midna's caches (per process)
	depth                 int
	steps                 int
	maxDepth              int // the highest depth reached (for fixedExp)
}

// fixedFunc returns the precomputed expansion of name's value, or nil,
// for a name that the lookupFunc of the same expansion resolves to a
// default that main.cf cannot affect (see fixedExp).
type fixedFunc func(name string) *fixedExp

type macCtx struct {
	e      *macEngine
	result strings.Builder
	flags  int
	lookup lookupFunc
	fixed  fixedFunc // nil: none
	status int
	level  int
	maxOld int // the highest nesting counter seen (for fixedExp)
}

// expand is mac_expand(): it returns the expansion and the MAC_PARSE_*
// status bits.
func (e *macEngine) expand(pattern string, flags int, lookup lookupFunc) (string, int) {
	out, st, _ := e.expandWith(pattern, flags, lookup, nil)
	return out, st
}

// expandWith is expand where, with MAC_EXP_FLAG_RECURSE, the recursive
// expansion of a $name's value can be replaced by fixed's result, and
// which also returns the context of the expansion.
func (e *macEngine) expandWith(pattern string, flags int, lookup lookupFunc, fixed fixedFunc) (string, int, *macCtx) {
	if e.depth == 0 {
		e.steps = 0
	}
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxExpandDepth {
		panic(crash{"unbounded recursion in relational expression operands (postconf crashes with SIGSEGV)"})
	}
	if e.depth > e.maxDepth {
		e.maxDepth = e.depth
	}
	mc := &macCtx{e: e, flags: flags, lookup: lookup, fixed: fixed}
	st := e.parse(pattern, mc.callback)
	return mc.result.String(), st, mc
}

// fitsTop reports whether x can stand for a new top-level or nested
// expand() of the value it was computed from, without a budget of the
// engine running out in between (then the real expansion must run, to
// fail as it fails); if so, it accounts for x's steps.
func (e *macEngine) fitsTop(x *fixedExp) bool {
	steps := e.steps
	if e.depth == 0 {
		steps = 0
	}
	if steps+x.steps > maxSteps || e.depth+1+x.depth > maxExpandDepth {
		return false
	}
	e.steps = steps + x.steps
	return true
}

// fitsNested is fitsTop for x standing for mc's recursive parse of the
// value inside a callback: the nesting counter continues from mc.level,
// the result from what mc has so far.
func (mc *macCtx) fitsNested(x *fixedExp) bool {
	e := mc.e
	if e.steps+x.steps > maxSteps || e.depth+x.depth > maxExpandDepth ||
		mc.level+x.maxOld > maxNesting || mc.result.Len()+len(x.out) > maxResult {
		return false
	}
	e.steps += x.steps
	return true
}

func (e *macEngine) warnf(format string, args ...any) {
	if e.warn != nil {
		e.warn(fmt.Sprintf(format, args...))
	}
}

const (
	macLiteral = 1 // MAC_PARSE_LITERAL
	macExpr    = 2 // MAC_PARSE_EXPR
)

// parse is mac_parse(): it splits value into literal text and $name,
// ${text} or $(text) references and calls action for each. The text
// passed to action is a part of value, except literal text holding "$$".
func (e *macEngine) parse(value string, action func(typ int, buf string) int) int {
	if i := strings.IndexByte(value, 0); i >= 0 {
		value = value[:i]
	}
	// The pending literal text is value[ls:vp], or folded once it holds
	// a "$$" (folded to "$").
	var folded []byte
	status := 0
	ls, vp := 0, 0
	for vp < len(value) {
		if value[vp] != '$' {
			if folded != nil {
				folded = append(folded, value[vp])
			}
			vp++
			continue
		}
		if vp+1 < len(value) && value[vp+1] == '$' { // $$ becomes $
			if folded == nil {
				folded = append(make([]byte, 0, len(value)-ls), value[ls:vp]...)
			}
			folded = append(folded, '$')
			vp += 2
			continue
		}
		if folded != nil {
			status |= action(macLiteral, string(folded))
			folded = nil
		} else if vp > ls {
			status |= action(macLiteral, value[ls:vp])
		}
		vp++
		var name string
		if vp < len(value) && (value[vp] == '{' || value[vp] == '(') {
			open, closing := value[vp], byte('}')
			if open == '(' {
				closing = ')'
			}
			vp++
			level := 1
			ep := vp
			for level > 0 {
				if ep >= len(value) {
					e.warnf("truncated macro reference: \"%s\"", value)
					status |= macParseError
					break
				}
				if value[ep] == open {
					level++
				}
				if value[ep] == closing {
					level--
				}
				ep++
			}
			if status&macParseError != 0 {
				break
			}
			name = value[vp : ep-1]
			vp = ep
		} else {
			ep := vp
			for ep < len(value) && (isAlnum(value[ep]) || value[ep] == '_') {
				ep++
			}
			name = value[vp:ep]
			vp = ep
		}
		if name == "" {
			status |= macParseError
			e.warnf("empty macro name: \"%s\"", value)
			break
		}
		status |= action(macExpr, name)
		ls = vp
	}
	if status&macParseError == 0 {
		if folded != nil {
			status |= action(macLiteral, string(folded))
		} else if vp > ls {
			status |= action(macLiteral, value[ls:vp])
		}
	}
	return status
}

func spanWS(s string, i int) int {
	n := 0
	for i+n < len(s) && isMacSpace(s[i+n]) {
		n++
	}
	return n
}

// isMacSpace reports whether c is in macWhitespace.
func isMacSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// findLeftCurly is MAC_EXP_FIND_LEFT_CURLY: the index of a '{' after
// optional white space at i, or -1.
func findLeftCurly(s string, i int) int {
	j := i + spanWS(s, i)
	if j < len(s) && s[j] == '{' {
		return j
	}
	return -1
}

// first20 is printf's "%.20s".
func first20(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func (mc *macCtx) parseError(format string, args ...any) int {
	mc.e.warnf(format, args...)
	mc.status |= macParseError
	return mc.status
}

// extractCurly takes the {}-balanced payload that starts with the '{' at
// s[i], and returns it with the index after the '}' and any white space.
func (mc *macCtx) extractCurly(s string, i int) (payload string, next int, ok bool) {
	level := 1
	k := i + 1
	for ; ; k++ {
		if k >= len(s) {
			mc.parseError("unbalanced {} in attribute expression: \"%s\"", s[i:])
			return "", 0, false
		}
		if s[k] == '{' {
			level++
		} else if s[k] == '}' {
			level--
			if level <= 0 {
				break
			}
		}
	}
	payload = s[i+1 : k]
	k++
	return payload, k + spanWS(s, k), true
}

// Relational operators.
const (
	opNone = iota
	opEQ
	opNE
	opLT
	opLE
	opGE
	opGT
)

var opTable = map[string]int{"==": opEQ, "!=": opNE, "<": opLT, "<=": opLE, ">=": opGE, ">": opGT}

const opAny = `"==" or "!="" or "<"" or "<="" or ">="" or ">"`

const (
	opResFalse = iota
	opResTrue
	opResError
)

func opResult(delta int64, tok int) int {
	var b bool
	switch tok {
	case opEQ:
		b = delta == 0
	case opNE:
		b = delta != 0
	case opLT:
		b = delta < 0
	case opLE:
		b = delta <= 0
	case opGE:
		b = delta >= 0
	case opGT:
		b = delta > 0
	}
	if b {
		return opResTrue
	}
	return opResFalse
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// macExpEval is mac_exp_eval(): numeric comparison when both sides are all
// digits, byte-wise string comparison otherwise.
func macExpEval(left string, tok int, right string) int {
	if allDigits(left) && allDigits(right) {
		l, _, lerr := strtol(left)
		if lerr {
			panic(fatal{"mac_exp_eval: bad conversion: " + left})
		}
		r, _, rerr := strtol(right)
		if rerr {
			panic(fatal{"mac_exp_eval: bad conversion: " + right})
		}
		return opResult(l-r, tok)
	}
	return opResult(int64(strings.Compare(left, right)), tok)
}

// compatRelopEval is compat_level.c's compat_relop_eval().
func (e *macEngine) compatRelopEval(left string, tok int, right string) int {
	l := e.compatLevelFromString(left)
	if l < 0 {
		return opResError
	}
	r := e.compatLevelFromString(right)
	if r < 0 {
		return opResError
	}
	return opResult(l-r, tok)
}

const (
	compatPatchWidth = 10
	compatMinorWidth = 10
	compatMinorShift = compatPatchWidth
	compatMajorShift = compatMinorShift + compatMinorWidth
	compatBits       = 0x3ff
)

// compatLevelFromString is compat_level_from_string() with msg_warn.
func (e *macEngine) compatLevelFromString(str string) int64 {
	if major, rest, erange := strtol(str); len(rest) < len(str) && (rest == "" || rest[0] == '.') &&
		!erange && major >= 0 && major <= (1<<63-1)>>compatMajorShift {
		res := major << compatMajorShift
		if rest == "" {
			return res
		}
		s := rest[1:]
		if minor, rest, erange := strtol(s); len(rest) < len(s) && (rest == "" || rest[0] == '.') &&
			!erange && minor >= 0 && minor <= compatBits {
			res |= minor << compatMinorShift
			if rest == "" {
				return res
			}
			s := rest[1:]
			if patch, rest, erange := strtol(s); len(rest) < len(s) && rest == "" && !erange &&
				patch >= 0 && patch <= compatBits {
				return res | patch
			}
		}
	}
	e.warnf("malformed compatibility level syntax: \"%s\"", str)
	return -1
}

// strtol is C strtol(s, &end, 10) on a 64-bit long: it returns the value,
// the unparsed rest (s itself when no digits were found) and whether the
// value was out of range (ERANGE).
func strtol(s string) (int64, string, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v uint64
	over := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if !over {
			if v > (1<<64-1-d)/10 {
				over = true
			} else {
				v = v*10 + d
			}
		}
		i++
	}
	if !neg && v > 1<<63-1 || neg && v > 1<<63 {
		over = true
	}
	if i == start {
		return 0, s, false
	}
	switch {
	case over && neg:
		return -1 << 63, s[i:], true
	case over:
		return 1<<63 - 1, s[i:], true
	case neg:
		return -int64(v), s[i:], false
	}
	return int64(v), s[i:], false
}

// parseRelational is mac_exp_parse_relational(). On success it returns the
// fake lookup result ("true" or "", or undefined when scanning) and the
// index after the right operand.
func (mc *macCtx) parseRelational(s string, i int) (lookup string, defined bool, next int, ok bool) {
	left, i, ok := mc.extractCurly(s, i)
	if !ok {
		return "", false, 0, false
	}
	opPos := i
	opLen := 0
	for i+opLen < len(s) && strings.IndexByte("<>!=?+-*/~&|%", s[i+opLen]) >= 0 {
		opLen++
	}
	op := s[opPos : opPos+opLen]
	tok, known := opTable[op]
	if !known {
		mc.parseError("%s expected at: \"...%s}>>>%s\"", opAny, left, first20(s[i:]))
		return "", false, 0, false
	}
	i += opLen
	relop := func(l string, t int, r string) int { return macExpEval(l, t, r) }
	if i < len(s) && isAlnum(s[i]) {
		typePos := i
		typeLen := 1
		for i+typeLen < len(s) && isAlnum(s[i+typeLen]) {
			typeLen++
		}
		i += typeLen
		if s[typePos:typePos+typeLen] != "level" {
			mc.parseError("bad operator suffix at: \"...%s>>>%s\"", op, s[typePos:typePos+typeLen])
			return "", false, 0, false
		}
		relop = mc.e.compatRelopEval
	}
	j := findLeftCurly(s, i)
	if j < 0 {
		mc.parseError("\"{expression}\" expected at: \"...{%s} %s>>>%s\"", left, op, first20(s[i:]))
		return "", false, 0, false
	}
	right, i, ok := mc.extractCurly(s, j)
	if !ok {
		return "", false, 0, false
	}
	l, st, _ := mc.e.expandWith(left, mc.flags, mc.lookup, mc.fixed)
	mc.status |= st
	r, st, _ := mc.e.expandWith(right, mc.flags, mc.lookup, mc.fixed)
	mc.status |= st
	res := opResFalse
	if mc.flags&macScan == 0 {
		if res = relop(l, tok, r); res == opResError {
			mc.status |= macParseError
		}
	}
	if mc.status&macParseError != 0 {
		return "", false, 0, false
	}
	if mc.flags&macScan != 0 {
		return "", false, i, true
	}
	if res == opResTrue {
		return "true", true, i, true
	}
	return "", true, i, true
}

// callback is mac_expand_callback().
func (mc *macCtx) callback(typ int, buf string) int {
	if mc.e.steps++; mc.e.steps > maxSteps || mc.result.Len() > maxResult {
		panic(crash{"expansion too large (postconf would run until killed or out of memory)"})
	}
	old := mc.level
	mc.level++
	if old > mc.maxOld {
		mc.maxOld = old
	}
	if old > maxNesting {
		mc.parseError("unreasonable macro call nesting: \"%s\"", buf)
	}
	if mc.status&macParseError != 0 {
		return mc.status
	}
	if typ != macExpr {
		if mc.flags&macScan == 0 {
			mc.result.WriteString(buf)
		}
		mc.level--
		return mc.status
	}

	var (
		lookup  string
		defined bool
		ch      byte
		cp      int
		name    string // of a named parameter
	)
	if j := findLeftCurly(buf, 0); j >= 0 {
		// Relational expression.
		var ok bool
		lookup, defined, cp, ok = mc.parseRelational(buf, j)
		if !ok {
			return mc.status
		}
		if cp < len(buf) {
			ch = buf[cp]
			if ch != '?' && ch != ':' {
				return mc.parseError("\"?\" or \":\" expected at: \"...}>>>%s\"", first20(buf[cp:]))
			}
			cp++
		}
	} else {
		// Named parameter, optionally with ? or :.
		cp = spanWS(buf, 0)
		start := cp
		mode := modeUse
		for ; ; cp++ {
			tmp := spanWS(buf, cp)
			if cp+tmp >= len(buf) {
				name = buf[start:cp]
				ch = 0
				cp = len(buf)
				break
			}
			if c := buf[cp+tmp]; c == '?' || c == ':' {
				ch = c
				name = buf[start:cp]
				cp += 1 + tmp
				mode = modeTest
				break
			}
			if buf[cp+tmp] == '{' && mc.e.fns != nil {
				return mc.parseFunction(buf, start, cp, cp+tmp)
			}
			if c := buf[cp]; !isAlnum(c) && c != '_' {
				return mc.parseError("attribute name syntax error at: \"...%s>>>%s\"", buf[:cp], first20(buf[cp:]))
			}
		}
		lookup, defined = mc.lookup(name, mode)
	}

	scan := mc.flags&macScan != 0
	switch ch {
	case '?':
		var iftrue string
		if j := findLeftCurly(buf, cp); j >= 0 {
			var ok bool
			if iftrue, cp, ok = mc.extractCurly(buf, j); !ok {
				return mc.status
			}
		} else {
			iftrue, cp = buf[cp:], len(buf)
		}
		if defined && lookup != "" || scan {
			mc.status |= mc.e.parse(iftrue, mc.callback)
		}
		if cp >= len(buf) {
			break
		}
		if buf[cp] != ':' {
			return mc.parseError("\":\" expected at: \"...%s}>>>%s\"", iftrue, first20(buf[cp:]))
		}
		cp++
		fallthrough
	case ':':
		var iffalse string
		if j := findLeftCurly(buf, cp); j >= 0 {
			var ok bool
			if iffalse, cp, ok = mc.extractCurly(buf, j); !ok {
				return mc.status
			}
		} else {
			iffalse, cp = buf[cp:], len(buf)
		}
		if !defined || lookup == "" || scan {
			mc.status |= mc.e.parse(iffalse, mc.callback)
		}
		if cp < len(buf) {
			return mc.parseError("unexpected input at: \"...%s}>>>%s\"", iffalse, first20(buf[cp:]))
		}
	case 0:
		switch {
		case !defined:
			mc.status |= macParseUndef
		case lookup == "" || scan:
		case mc.flags&macRecurse != 0:
			if mc.fixed != nil && name != "" {
				if x := mc.fixed(name); x != nil && mc.fitsNested(x) {
					mc.result.WriteString(x.out)
					mc.status |= x.status
					break
				}
			}
			mc.status |= mc.e.parse(lookup, mc.callback)
		default:
			mc.result.WriteString(lookup)
		}
	}
	mc.level--
	return mc.status
}

// namedFn is a function called as ${name{text}} (Postfix 3.11's
// mac_expand_add_named_fn): it gets the expanded text and returns its
// output, or false after a warning (MAC_PARSE_ERROR).
type namedFn func(e *macEngine, in string) (string, bool)

// postconfFns are the functions postconf 3.11 registers (mac_midna).
var postconfFns = map[string]namedFn{
	"domain_to_ascii": fnDomainToASCII,
	"domain_to_utf8":  fnDomainToUTF8,
}

// allASCII is Postfix's allascii(): false for the empty string.
func allASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// fnDomainToASCII passes ASCII through, as Postfix does without asking
// ICU. The empty string goes to midna_domain_to_ascii(), which fails
// (UIDNA_ERROR_EMPTY_LABEL, cached, so warned once). The conversion of a
// non-ASCII domain (ICU's UTS #46 mapping and Punycode) is not
// reproduced: it is refused with Postfix's warning for a domain it
// cannot convert.
func fnDomainToASCII(e *macEngine, in string) (string, bool) {
	if allASCII(in) {
		return in, true
	}
	if in == "" {
		if _, ok := e.midnaASCII[in]; !ok {
			e.warnf("midna_domain_to_ascii_create: Problem translating domain \"%s\" to ASCII form: %s", in, "UIDNA_ERROR_EMPTY_LABEL")
			if e.midnaASCII == nil {
				e.midnaASCII = midnaCache{}
			}
			e.midnaASCII[in] = midnaResult{}
		}
	}
	e.warnf("bad domain argument in: '%s{%s}'", "domain_to_ascii", in)
	return "", false
}

// fnDomainToUTF8 passes non-ASCII (and the empty string) through, as
// Postfix does. ASCII goes to midna_domain_to_utf8(): see midnaToUTF8.
func fnDomainToUTF8(e *macEngine, in string) (string, bool) {
	if !allASCII(in) {
		return in, true
	}
	out, ok := e.midnaToUTF8(in)
	if !ok {
		e.warnf("bad domain argument in: '%s{%s}'", "domain_to_utf8", in)
	}
	return out, ok
}

// midnaCache is midna's per-process cache of conversions; a failure is
// cached too, so that its warning comes once.
type midnaCache map[string]midnaResult

type midnaResult struct {
	out string
	ok  bool
}

// idnaErrors are ICU's UIDNA_ERROR_* bits, in midna_domain_strerror's
// order (how several are listed).
var idnaErrors = []string{"UIDNA_ERROR_EMPTY_LABEL", "UIDNA_ERROR_LABEL_TOO_LONG", "UIDNA_ERROR_DOMAIN_NAME_TOO_LONG",
	"UIDNA_ERROR_LEADING_HYPHEN", "UIDNA_ERROR_TRAILING_HYPHEN", "UIDNA_ERROR_HYPHEN_3_4"}

const (
	idnaEmptyLabel = 1 << iota
	idnaLabelTooLong
	idnaDomainTooLong
	idnaLeadingHyphen
	idnaTrailingHyphen
	idnaHyphen34
)

func idnaErrorText(bits int) string {
	var names []string
	for i, n := range idnaErrors {
		if bits&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// uts46ASCII is ICU's UTS #46 processing (non-transitional, without the
// STD3 rules, as Postfix opens it) of an ASCII name without A-labels:
// the mapping lowercases; the label checks give the error bits. toASCII
// also checks the lengths.
func uts46ASCII(name string, toASCII bool) (string, int) {
	out := strings.ToLower(name)
	bits := 0
	labels := strings.Split(out, ".")
	for i, l := range labels {
		switch {
		case l == "":
			if i != len(labels)-1 || len(labels) == 1 { // a trailing root label is no error
				bits |= idnaEmptyLabel
			}
			continue
		case toASCII && len(l) > 63:
			bits |= idnaLabelTooLong
		}
		if l[0] == '-' {
			bits |= idnaLeadingHyphen
		}
		if l[len(l)-1] == '-' {
			bits |= idnaTrailingHyphen
		}
		if len(l) >= 4 && l[2] == '-' && l[3] == '-' {
			bits |= idnaHyphen34
		}
	}
	if toASCII {
		n := len(out)
		if strings.HasSuffix(out, ".") {
			n--
		}
		if n > 253 {
			bits |= idnaDomainTooLong
		}
	}
	return out, bits
}

// hasALabel reports an "xn--" label, which ICU would decode (Punycode):
// not emulated.
func hasALabel(name string) bool {
	for _, l := range strings.Split(name, ".") {
		if len(l) >= 4 && strings.EqualFold(l[:4], "xn--") {
			return true
		}
	}
	return false
}

// midnaToUTF8 is midna_domain_to_utf8() of an ASCII name: ICU's
// toUnicode, then midna_domain_to_ascii() of the result to validate it.
// Names with A-labels are refused (their decoding is not emulated), with
// the warning Postfix gives for a label ICU rejects.
func (e *macEngine) midnaToUTF8(name string) (string, bool) {
	if r, ok := e.midnaUTF8[name]; ok {
		return r.out, r.ok
	}
	res := func() midnaResult {
		if hasALabel(name) {
			e.warnf("midna_domain_to_utf8_create: Problem translating domain \"%s\" to UTF8 form: %s", first100(name), "UIDNA_ERROR_PUNYCODE")
			return midnaResult{}
		}
		out, bits := uts46ASCII(name, false)
		if bits != 0 {
			e.warnf("midna_domain_to_utf8_create: Problem translating domain \"%s\" to UTF8 form: %s", first100(name), idnaErrorText(bits))
			return midnaResult{}
		}
		if _, ok := e.midnaToASCII(out); !ok {
			return midnaResult{}
		}
		return midnaResult{out, true}
	}()
	if e.midnaUTF8 == nil {
		e.midnaUTF8 = midnaCache{}
	}
	e.midnaUTF8[name] = res
	return res.out, res.ok
}

// midnaToASCII is midna_domain_to_ascii() of an ASCII name (cached):
// ICU's toASCII, then valid_hostname() of the result.
func (e *macEngine) midnaToASCII(name string) (string, bool) {
	if r, ok := e.midnaASCII[name]; ok {
		return r.out, r.ok
	}
	res := func() midnaResult {
		out, bits := uts46ASCII(name, true)
		if bits != 0 {
			e.warnf("midna_domain_to_ascii_create: Problem translating domain \"%s\" to ASCII form: %s", first100(name), idnaErrorText(bits))
			return midnaResult{}
		}
		if out == "" || !validHostname(out) {
			e.warnf("midna_domain_to_ascii_create: Problem translating domain \"%s\" to ASCII form: %s", first100(name), "malformed ASCII label(s)")
			return midnaResult{}
		}
		return midnaResult{out, true}
	}()
	if e.midnaASCII == nil {
		e.midnaASCII = midnaCache{}
	}
	e.midnaASCII[name] = res
	return res.out, res.ok
}

// validHostname is util/valid_hostname.c valid_hostname() without
// wildcards, as Debian builds it (no SLOPPY_VALID_HOSTNAME).
func validHostname(name string) bool {
	if name == "" {
		return false
	}
	labelLen, nonNumeric := 0, false
	for i := 0; i < len(name); i++ {
		ch := name[i]
		switch {
		case isAlnum(ch) || ch == '_':
			labelLen++
			if labelLen > 63 {
				return false
			}
			if ch < '0' || ch > '9' {
				nonNumeric = true
			}
		case ch == '.':
			if labelLen == 0 || i+1 == len(name) {
				return false
			}
			labelLen = 0
		case ch == '-':
			nonNumeric = true
			labelLen++
			if labelLen == 1 || i+1 == len(name) || name[i+1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return nonNumeric && len(name) <= 255
}

// first100 is printf's "%.100s".
func first100(s string) string {
	if len(s) > 100 {
		return s[:100]
	}
	return s
}

// parseFunction is mac_exp_parse_function: buf[start:nameEnd] is the
// function's name and buf[brace] the '{' of its argument, which is
// expanded by a new mac_expand() with the same flags and lookup; the
// function's output is appended unless scanning. Like Postfix, it
// returns without undoing the callback's nesting count.
func (mc *macCtx) parseFunction(buf string, start, nameEnd, brace int) int {
	k := brace + 1
	k += spanWS(buf, k)
	argStart := k
	for level := 1; ; k++ {
		if k >= len(buf) {
			return mc.parseError("unbalanced {} in attribute expression: \"%s\"", buf[brace:])
		}
		if buf[k] == '{' {
			level++
		} else if buf[k] == '}' {
			if level--; level <= 0 {
				break
			}
		}
	}
	arg := strings.TrimRight(buf[argStart:k], " \t\n\r\v\f") // trimblanks
	next := k + 1
	next += spanWS(buf, next)
	if next < len(buf) {
		return mc.parseError("unexpected input at: \"...%s}>>>%s\"", arg, first20(buf[next:]))
	}
	name := buf[start:nameEnd]
	fn, ok := mc.e.fns[name]
	if !ok {
		return mc.parseError("unknown function \"%s\" at\"...>>>%s{%s}\"", name, name, arg)
	}
	out, st, _ := mc.e.expandWith(arg, mc.flags, mc.lookup, mc.fixed)
	mc.status |= st
	if mc.flags&macScan == 0 && mc.status&macParseError == 0 {
		if r, ok := fn(mc.e, out); ok {
			mc.result.WriteString(r)
		} else {
			mc.status |= macParseError
		}
	}
	return mc.status
}
