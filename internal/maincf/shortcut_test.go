package maincf

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// TestShortcuts requires the same answers from a Config with and without
// its shortcuts (noShortcuts): the precomputed expansions of defaults that
// main.cf cannot affect (fixedExp) and the values skipped for having no
// '$' or '{'. The main.cf files are those of TestOracleRandom plus ones
// that reference every built-in parameter, assign the names defaults
// depend on, and bring the engine's budgets (nesting, relational depth,
// steps) to their limits around a precomputed expansion. Every answer is
// compared: Err, Warnings, and Known, Raw and Expand of every parameter.
func TestShortcuts(t *testing.T) {
	r := rand.New(rand.NewSource(*randomSeed))
	names := builtin().Names()
	cases := 4 * *randomCases
	if testing.Short() {
		cases /= 10
	}
	for i := 0; i < cases; i++ {
		var data []byte
		if i%3 == 0 {
			data = genMainCf(r)
		} else {
			data = genShortcutMainCf(r, names)
		}
		dir := []string{"", "/d"}[r.Intn(2)]
		query := append(append([]string(nil), names...), genNames...)
		for j := 0; j < 210; j++ {
			query = append(query, fmt.Sprintf("c%d", j))
		}
		r.Shuffle(len(query), func(a, b int) { query[a], query[b] = query[b], query[a] })
		fast := answers(t, dir, data, query, false)
		slow := answers(t, dir, data, query, true)
		if !reflect.DeepEqual(fast, slow) {
			for j := range fast {
				if fast[j] != slow[j] {
					t.Fatalf("seed %d case %d, config directory %q: %q\nwith shortcuts:    %s\nwithout shortcuts: %s",
						*randomSeed, i, dir, data, fast[j], slow[j])
				}
			}
		}
	}
}

func answers(t *testing.T, dir string, data []byte, query []string, slow bool) []string {
	noShortcuts = slow
	defer func() { noShortcuts = false }()
	f, err := Parse("/x/main.cf", data)
	if err != nil {
		return []string{err.Error()}
	}
	c := NewConfig(dir, f, nil)
	out := []string{fmt.Sprint(c.Err()), strings.Join(c.Warnings(), "\n")}
	for _, n := range query {
		v, ok := c.Raw(n)
		x, err := c.Expand(n)
		out = append(out, fmt.Sprintf("%s: known %v, raw %q %v, expand %q %v", n, c.Known(n), v, ok, x, err))
	}
	x, err := c.ExpandString("$queue_directory ${config_directory} $mail_name $u1 ${{$compatibility_level} <level {2} ? {a}}")
	return append(out, x, fmt.Sprint(err), strings.Join(c.Warnings(), "\n"))
}

// shortcutNames are parameters that defaults depend on, or that are
// host-dependent, read-only, raw or legacy.
var shortcutNames = []string{"config_directory", "compatibility_level", "data_directory", "queue_directory",
	"mail_name", "myhostname", "mydomain", "inet_interfaces", "inet_protocols", "mynetworks_style",
	"command_directory", "daemon_directory", "process_id", "process_name", "mail_version", "myorigin",
	"mydestination", "relay_domains", "smtp_tls_security_level", "mynetworks", "forward_path",
	"smtputf8_enable", "virtual_maps", "default_transport", "home", "extension"}

// genShortcutMainCf writes a main.cf that exercises fixedExp.
func genShortcutMainCf(r *rand.Rand, builtins []string) []byte {
	pick := func(l []string) string { return l[r.Intn(len(l))] }
	// tok is a token of TestOracleRandom, or a reference to a built-in
	// parameter in one of the forms expansion treats differently.
	tok := func() string {
		if r.Intn(3) != 0 {
			return pick(genTokens)
		}
		n := pick(builtins)
		if r.Intn(2) == 0 {
			n = pick(shortcutNames)
		}
		switch r.Intn(4) {
		case 0:
			return "${" + n + "}"
		case 1:
			return "${" + n + "?{T}:{F}}"
		case 2:
			return "${{$" + n + "} == {x} ? {y} : {z}}"
		}
		return "$" + n
	}
	var b strings.Builder
	if r.Intn(3) == 0 {
		b.WriteString("smtpd_restriction_classes = u1, u2 u3\tu4 c0\n")
	}
	ends := []string{"$mynetworks_style", "$append_dot_mydomain", "$smtp_tls_dane_insecure_mx_policy",
		"$smtpd_relay_restrictions", "$relay_domains", "$parent_domain_matches_subdomains", "$mail_name", "$proxy_read_maps"}
	switch r.Intn(6) {
	case 0: // $name nesting near its limit, ending in a default
		k := 85 + r.Intn(25)
		for i := 0; i < k; i++ {
			fmt.Fprintf(&b, "c%d = $c%d\n", i, i+1)
		}
		fmt.Fprintf(&b, "c%d = %s\n", k, pick(ends))
	case 1: // relational operands nesting near their limit
		k := 190 + r.Intn(15)
		for i := 0; i < k; i++ {
			fmt.Fprintf(&b, "c%d = ${{$c%d} == {x} ? {y}}\n", i, i+1)
		}
		fmt.Fprintf(&b, "c%d = %s\n", k, pick(ends))
		b.WriteString("smtpd_restriction_classes = c0\n")
	case 2: // near the step budget
		fmt.Fprintf(&b, "c0 =%s\n", strings.Repeat(" $c1", 1+r.Intn(400)))
		for i := 1; i < 6; i++ {
			fmt.Fprintf(&b, "c%d = $c%d$c%d$c%d$c%d\n", i, i+1, i+1, i+1, i+1)
		}
		fmt.Fprintf(&b, "c6 = %s\n", pick(ends))
		b.WriteString("smtpd_restriction_classes = c0\n")
	}
	for n := 1 + r.Intn(8); n > 0; n-- {
		switch r.Intn(3) {
		case 0:
			b.WriteString(pick(builtins))
		case 1:
			b.WriteString(pick(shortcutNames))
		default:
			b.WriteString(pick(genNames))
		}
		b.WriteString(" = ")
		for k := r.Intn(4); k > 0; k-- {
			b.WriteString(tok() + pick([]string{"", " ", ", "}))
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}
