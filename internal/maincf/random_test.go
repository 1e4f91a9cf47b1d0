package maincf

import (
	"flag"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
)

var (
	randomCases = flag.Int("maincf.random", 60, "number of generated main.cf files compared with postconf")
	randomSeed  = flag.Int64("maincf.seed", 1, "seed of the generated main.cf files")
)

var (
	genNames    = []string{"u1", "u2", "u3", "u4"}
	genBuiltins = []string{"myhostname", "mydomain", "compatibility_level", "multi_instance_name", "syslog_name", "queue_directory"}
	genTokens   = []string{
		"x", "a b", "/var/spool", "one,two", "é", "☃", "#not-a-comment", "=", ",", " ", "  ", "\t", "\v",
		"$u1", "${u2}", "$(u3)", "$u4", "$$", "$", "${", "}", "{", "(", ")", "$nosuch", "${ u1 }",
		"${u1?yes}", "${u2:no}", "${u3?{T $u4}}", "${u4:{F}}", "${u1?{T}:{F}}", "${u2 ? {T} : {F}}",
		"${{$u1}=={x}?{eq}:{ne}}", "${{$u2} != {} ? {nonempty}}", "${{10}<{9}?{lt}:{ge}}",
		"${{$compatibility_level} <level {2} ? {old} : {new}}", "${{3.6}>=level{$u3}?{ge}}",
		"$myhostname", "${mydomain}", "$multi_instance_name", "${u1?$u2}", "$(u2:$(u3))",
		"${u1?{a}:{b}:{c}}", "${{a}}", "${{a}=={a}}", "${u1?{unbalanced}", "${{x} === {y}?{z}}",
		// Postfix 3.11's functions (syntax errors before).
		// Their arguments stay ASCII (IDNA, ICU in Postfix, is not
		// emulated) while still referring to names and nesting.
		"${domain_to_ascii{${u1?{a}:{b}}}}", "${domain_to_ascii { ${u2:x} } }", "${domain_to_ascii{}}",
		"${nosuch{x}}", "${domain_to_ascii{x}y}", "${domain_to_utf8{${u3?{$$}}}}",
	}
	genSeps  = []string{" = ", "=", " =", "= ", "\t=\t", "  =  "}
	genConts = []string{"\n  ", "\n\t", "\n# comment inside\n  ", "\n\n ", "\n \t", "\n#\n\t"}
)

// genMainCf writes a random main.cf in the spirit of real and broken ones.
func genMainCf(r *rand.Rand) []byte {
	eol := "\n"
	if r.Intn(8) == 0 {
		eol = "\r\n"
	}
	var b strings.Builder
	if r.Intn(10) == 0 {
		b.WriteString("  leading continuation" + eol)
	}
	if r.Intn(4) != 0 {
		b.WriteString("smtpd_restriction_classes = u1, u2 u3\tu4" + eol)
	}
	lines := 2 + r.Intn(7)
	for i := 0; i < lines; i++ {
		switch r.Intn(12) {
		case 0:
			b.WriteString("# comment" + eol)
		case 1:
			b.WriteString(eol)
		case 2:
			b.WriteString(" \t" + eol)
		}
		var name string
		if r.Intn(4) == 0 {
			name = genBuiltins[r.Intn(len(genBuiltins))]
		} else {
			name = genNames[r.Intn(len(genNames))]
		}
		if r.Intn(40) == 0 {
			b.WriteString(name + " no equals sign" + eol)
			continue
		}
		b.WriteString(name + genSeps[r.Intn(len(genSeps))])
		for n := r.Intn(5); n > 0; n-- {
			b.WriteString(genTokens[r.Intn(len(genTokens))])
			if r.Intn(6) == 0 {
				b.WriteString(strings.ReplaceAll(genConts[r.Intn(len(genConts))], "\n", eol))
			} else if r.Intn(2) == 0 {
				b.WriteString(" ")
			}
		}
		if r.Intn(5) == 0 {
			b.WriteString(" \t")
		}
		if i < lines-1 || r.Intn(6) != 0 {
			b.WriteString(eol)
		}
	}
	return []byte(b.String())
}

// TestOracleRandom feeds generated main.cf files to postconf and to this
// package and requires the same output, warnings and exit status; every
// fourth file is also edited by both (postconf -e, -X or -#).
func TestOracleRandom(t *testing.T) {
	requirePostconf(t)
	r := rand.New(rand.NewSource(*randomSeed))
	names := append(append([]string(nil), genNames...), genBuiltins...)
	var wg sync.WaitGroup
	for i := 0; i < *randomCases; i++ {
		data := genMainCf(r)
		label := fmt.Sprintf("seed %d case %d: %q", *randomSeed, i, data)
		var edit []editCase
		if _, err := Parse("main.cf", data); err == nil && i%4 == 0 {
			op := []string{"-e", "-X", "-#"}[r.Intn(3)]
			e := editCase{op: op, name: names[r.Intn(len(names))]}
			if op == "-e" {
				e.value = genTokens[r.Intn(len(genTokens))]
				if strings.ContainsAny(e.value, "\n") {
					e.value = "x"
				}
			}
			edit = []editCase{e}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			checkOracle(t, label, data, names)
			if edit != nil {
				checkEdits(t, label, data, edit, nil)
			}
		}()
	}
	wg.Wait()
}
