package maincf

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// Every expectation below that describes postconf behaviour is also checked
// against the real postconf by TestOracleUnitCases, so none of them is
// folklore.

type valueCase struct {
	name   string
	mainCf string
	param  string
	raw    string // postconf -h
	x      string // postconf -xh
}

var valueCases = []valueCase{
	{"continuation keeps leading white space, output folds it", "a = one\n    two\n\tthree\nsmtpd_restriction_classes = a\n", "a", "one two three", "one two three"},
	{"comment inside continuation dropped", "a = x\n# c\n  y\nsmtpd_restriction_classes = a\n", "a", "x y", "x y"},
	{"blank line inside continuation dropped", "a = x\n\n  y\nsmtpd_restriction_classes = a\n", "a", "x y", "x y"},
	{"CRLF", "a = x\r\n  y\r\nsmtpd_restriction_classes = a\r\n", "a", "x y", "x y"},
	{"last assignment wins", "a = 1\na = 2\nsmtpd_restriction_classes = a\n", "a", "2", "2"},
	{"not a comment mid-line", "a = x # y\nsmtpd_restriction_classes = a\n", "a", "x # y", "x # y"},
	{"empty value", "a =\nsmtpd_restriction_classes = a\n", "a", "", ""},
	{"expansion forms", "b = B\ne =\na = $b ${b} $(b) $$b ${b?y} ${e?y} ${e:n} ${b?{T}:{F}} ${{$b}=={B}?{eq}:{ne}} ${{$b}!={B}?{ne}:{eq}}\nsmtpd_restriction_classes = a\n",
		"a", "$b ${b} $(b) $$b ${b?y} ${e?y} ${e:n} ${b?{T}:{F}} ${{$b}=={B}?{eq}:{ne}} ${{$b}!={B}?{ne}:{eq}}", "B B B $b y n T eq eq"},
	{"undefined expands to nothing", "a = [$nosuch]\nsmtpd_restriction_classes = a\n", "a", "[$nosuch]", "[]"},
	{"config_directory is -c DIR", "", "config_directory", "DIR", "DIR"},
	{"syslog_name follows multi_instance_name", "multi_instance_name = postfix-out\n", "syslog_name",
		"${multi_instance_name?{$multi_instance_name}:{postfix}}", "postfix-out"},
	{"queue_directory default", "", "queue_directory", "/var/spool/postfix", "/var/spool/postfix"},
	{"raw parameter not expanded", "", "default_rbl_reply",
		"$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}",
		"$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}"},
}

func configFor(t testing.TB, dir, mainCf string) *Config {
	t.Helper()
	f, err := Parse(dir+"/main.cf", []byte(mainCf))
	if err != nil {
		t.Fatal(err)
	}
	return NewConfig(dir, f, nil)
}

func TestValues(t *testing.T) {
	for _, tc := range valueCases {
		t.Run(tc.name, func(t *testing.T) {
			c := configFor(t, "DIR", tc.mainCf)
			if raw, ok := c.Raw(tc.param); !ok || raw != tc.raw {
				t.Errorf("Raw(%s) = %q, %v; want %q", tc.param, raw, ok, tc.raw)
			}
			if x, err := c.Expand(tc.param); err != nil || x != tc.x {
				t.Errorf("Expand(%s) = %q, %v; want %q", tc.param, x, err, tc.x)
			}
		})
	}
}

func TestOracleUnitCases(t *testing.T) {
	requirePostconf(t)
	for _, tc := range valueCases {
		dir := writeMainCf(t, []byte(tc.mainCf))
		if dir == "" {
			t.FailNow()
		}
		raw := strings.ReplaceAll(tc.raw, "DIR", dir)
		x := strings.ReplaceAll(tc.x, "DIR", dir)
		if o := runPostconf(t, dir, "-h", tc.param); o.Stdout != raw+"\n" {
			t.Errorf("%s: postconf -h %s printed %q, the test expects %q", tc.name, tc.param, o.Stdout, raw)
		}
		if o := runPostconf(t, dir, "-xh", tc.param); o.Stdout != x+"\n" {
			t.Errorf("%s: postconf -xh %s printed %q, the test expects %q", tc.name, tc.param, o.Stdout, x)
		}
	}
	for _, tc := range editUnitCases {
		dir := writeMainCf(t, []byte(tc.in))
		if dir == "" {
			t.FailNow()
		}
		for _, e := range tc.edits {
			runPostconf(t, dir, e.args()...)
		}
		got, err := os.ReadFile(filepath.Join(dir, "main.cf"))
		if err != nil {
			t.Fatal(err)
		}
		if want := unitOut(tc.in, tc.out); string(got) != want {
			t.Errorf("%s: postconf wrote %q, the test expects %q", tc.name, got, want)
		}
	}
}

func TestUnknownAndErrors(t *testing.T) {
	c := configFor(t, "/d", "lonely = 1\nloop = $loop\nsmtpd_restriction_classes = loop\n")
	if _, ok := c.Raw("lonely"); ok {
		t.Error("an unreferenced user parameter is unknown to postconf")
	}
	if _, err := c.Expand("lonely"); !errors.Is(err, ErrUnknownParameter) {
		t.Errorf("Expand(lonely) error = %v, want ErrUnknownParameter", err)
	}
	_, err := c.Expand("loop")
	var ee *ExpandError
	if !errors.As(err, &ee) || ee.Fatal != "macro processing error" || len(ee.Warnings) == 0 ||
		ee.Warnings[0] != `unreasonable macro call nesting: "loop"` {
		t.Errorf("Expand(loop) error = %#v", err)
	}
	if !strings.Contains(err.Error(), "/d/main.cf: expand loop: macro processing error") {
		t.Errorf("error text %q does not name the file and parameter", err)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("/etc/postfix-x/main.cf", []byte("a = 1\n\nnot an assignment\n  continued\n"))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *SyntaxError", err)
	}
	want := `/etc/postfix-x/main.cf, line 3: missing '=' after attribute name: "not an assignment  continued"`
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q (postconf's fatal text)", err, want)
	}
}

func TestBytesRoundTrip(t *testing.T) {
	for name, data := range corpus(t) {
		f, err := Parse(name, data)
		if err != nil {
			continue
		}
		if got := f.Bytes(); !bytes.Equal(got, data) {
			t.Errorf("%s: Bytes() differs from the input", name)
		}
	}
}

func TestReadFile(t *testing.T) {
	fsys := fstest.MapFS{"etc/postfix/main.cf": {Data: []byte("multi_instance_enable = yes\n")}}
	f, err := ReadFile(fsys, "etc/postfix/main.cf")
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != "/etc/postfix/main.cf" {
		t.Errorf("Path = %q", f.Path)
	}
	if v, ok := f.Lookup("multi_instance_enable"); !ok || v != "yes" {
		t.Errorf("Lookup = %q, %v", v, ok)
	}
	if _, err := ReadFile(fsys, "etc/postfix-none/main.cf"); err == nil {
		t.Error("missing file: no error")
	}
}

type editUnitCase struct {
	name  string
	in    string
	edits []editCase
	out   string
}

var editUnitCases = []editUnitCase{
	{"replace drops continuation, keeps comment lines", "a = 1\n  cont\n# keep\n  cont2\nb = 2\n",
		[]editCase{{"-e", "a", "new"}}, "a = new\n# keep\nb = 2\n"},
	{"append at end", "a = 1\n", []editCase{{"-e", "z", "  v  "}}, "a = 1\nz = v\n"},
	{"append to unterminated last line", "a = 1", []editCase{{"-e", "z", "v"}}, "a = 1z = v\n"}, // 3.10: see unitOut
	{"CRLF line replaced with LF", "a = 1\r\nb = 2\r\n", []editCase{{"-e", "a", "x"}}, "a = x\nb = 2\r\n"},
	{"duplicates all replaced", "a = 1\nb = 2\na = 3\n", []editCase{{"-e", "a", "x"}}, "a = x\nb = 2\na = x\n"},
	{"remove with continuation", "a = 1\n  c\nb = 2\n", []editCase{{"-X", "a", ""}}, "b = 2\n"},
	{"comment out with continuation", "a = 1\n  c\nb = 2\n", []editCase{{"-#", "a", ""}}, "#a = 1\n#  c\nb = 2\n"},
	{"name prefix does not match", "ab = 1\na= 2\n", []editCase{{"-X", "a", ""}}, "ab = 1\n"},
}

func TestEdits(t *testing.T) {
	for _, tc := range editUnitCases {
		f, err := Parse("main.cf", []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tc.edits {
			if err := e.apply(f); err != nil {
				t.Fatal(err)
			}
		}
		if got := string(f.Bytes()); got != unitOut(tc.in, tc.out) {
			t.Errorf("%s: got %q, want %q", tc.name, got, unitOut(tc.in, tc.out))
		}
	}
}

func TestEditRefusals(t *testing.T) {
	f, _ := Parse("main.cf", []byte("a = 1\n"))
	for _, tc := range []struct{ name, value string }{
		{"", "x"}, {"a b", "x"}, {"a=b", "x"}, {"#a", "x"}, {"a", "x\ny"},
	} {
		if err := f.Set(tc.name, tc.value); err == nil {
			t.Errorf("Set(%q, %q) accepted", tc.name, tc.value)
		}
	}
	if f.Remove("") || f.CommentOut("a b") {
		t.Error("Remove/CommentOut accepted a bad name")
	}
	if string(f.Bytes()) != "a = 1\n" {
		t.Errorf("refused edits changed the file: %q", f.Bytes())
	}
}

func TestConfigSeesEdits(t *testing.T) {
	c := configFor(t, "/d", "multi_instance_name = postfix-a\n")
	if v, _ := c.Expand("syslog_name"); v != "postfix-a" {
		t.Fatalf("syslog_name = %q", v)
	}
	if err := c.File.Set("multi_instance_name", "postfix-b"); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Expand("syslog_name"); v != "postfix-b" {
		t.Errorf("after Set, syslog_name = %q", v)
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList(" /etc/postfix-a,/etc/postfix-b ,, \t/etc/postfix-c\r\n/etc/postfix-d,")
	want := []string{"/etc/postfix-a", "/etc/postfix-b", "/etc/postfix-c", "/etc/postfix-d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SplitList = %q, want %q", got, want)
	}
	if got := SplitList(" , "); len(got) != 0 {
		t.Errorf("SplitList of separators = %q", got)
	}
}

func TestBool(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
		ok    bool
	}{
		{"yes", true, true}, {"YES", true, true}, {"Yes", true, true}, {"no", false, true}, {"NO", false, true},
		{"true", false, false}, {"1", false, false}, {"y", false, false}, {"", false, false}, {"yes ", false, false},
		{"yeſ", false, false}, // not ASCII: strcasecmp does not fold it
	} {
		got, err := ParseBool("/d/main.cf", "multi_instance_enable", tc.value)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseBool(%q) = %v, %v", tc.value, got, err)
		}
		if err != nil && err.Error() != "/d/main.cf: bad boolean configuration: multi_instance_enable = "+tc.value {
			t.Errorf("error text %q", err)
		}
	}
	c := configFor(t, "/d", "multi_instance_enable = ${{a}=={a}?{YES}:{no}}\n")
	if b, err := c.Bool("multi_instance_enable"); !b || err != nil {
		t.Errorf("Bool after expansion = %v, %v", b, err)
	}
}

func TestDefaultsOverride(t *testing.T) {
	rpm, err := ParseDefaults(strings.NewReader("daemon_directory = /usr/libexec/postfix\nconfig_directory = /etc/postfix\nmail_version = 3.5.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewConfig("", nil, rpm)
	if v, ok := c.Raw("daemon_directory"); !ok || v != "/usr/libexec/postfix" {
		t.Errorf("daemon_directory = %q, %v", v, ok)
	}
	if v, ok := c.Raw("virtual_maps"); !ok || v != "" {
		t.Errorf("legacy virtual_maps = %q, %v", v, ok)
	}
	b := builtin().With("daemon_directory", "/usr/libexec/postfix")
	if v, _ := b.Default("daemon_directory"); v != "/usr/libexec/postfix" {
		t.Errorf("With: %q", v)
	}
	if v, _ := builtin().Default("daemon_directory"); v != "/usr/lib/postfix/sbin" {
		t.Errorf("With changed the built-in table: %q", v)
	}
}

func TestHostDefaults(t *testing.T) {
	oldH, oldI := hostname, interfaces
	defer func() { hostname, interfaces = oldH, oldI }()
	hostname = func() (string, error) { return "box", nil }
	interfaces = func() ([]ifaceAddr, error) { return nil, nil }
	c := configFor(t, "/d", "mydomain = example.org\n")
	if v, _ := c.Expand("myhostname"); v != "box.example.org" {
		t.Errorf("myhostname = %q", v)
	}
	c = configFor(t, "/d", "myhostname = mx.example.net\n")
	if v, _ := c.Expand("mydomain"); v != "example.net" {
		t.Errorf("mydomain = %q", v)
	}
	if v, _ := c.Expand("myorigin"); v != "mx.example.net" {
		t.Errorf("myorigin = %q", v)
	}
}

// TestMynetworksLazy: postconf fails at start-up when inet_interfaces
// names an address no interface has; we fail only when mynetworks is
// asked for, so that the other parameters stay readable (a deliberate
// difference: interfaces may not be up when the generator runs).
func TestMynetworksLazy(t *testing.T) {
	oldI, oldH := interfaces, hostsFile
	defer func() { interfaces, hostsFile = oldI, oldH }()
	lo := netip.MustParseAddr("127.0.0.1")
	interfaces = func() ([]ifaceAddr, error) { return []ifaceAddr{{lo, 8}}, nil }
	hostsFile = filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hostsFile, []byte("127.0.0.1 localhost box # comment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := configFor(t, "/d", "inet_interfaces = 192.0.2.99\n")
	if v, err := c.Expand("queue_directory"); err != nil || v != "/var/spool/postfix" {
		t.Errorf("queue_directory = %q, %v", v, err)
	}
	if _, err := c.Expand("mynetworks"); err == nil || !strings.Contains(err.Error(), "parameter inet_interfaces: no local interface found for 192.0.2.99") {
		t.Errorf("mynetworks error = %v", err)
	}
	if _, ok := c.Raw("mynetworks"); ok {
		t.Error("Raw(mynetworks) printed a value postconf cannot compute")
	}
	c = configFor(t, "/d", "inet_interfaces = box\nmynetworks_style = host\n")
	if v, err := c.Expand("mynetworks"); err != nil || v != "127.0.0.1/32" {
		t.Errorf("mynetworks via /etc/hosts = %q, %v", v, err)
	}
	c = configFor(t, "/d", "inet_interfaces = nosuch.invalid\n")
	if _, err := c.Expand("mynetworks"); err == nil || !strings.Contains(err.Error(), "host not found: nosuch.invalid") {
		t.Errorf("mynetworks error = %v", err)
	}
}

// TestCheckInterfaces: with CheckInterfaces, mynetworks's default is
// computed at start-up as postconf computes it, so that an inet_interfaces
// address that no interface has fails whatever is asked, in postconf's
// words (checked against postconf 3.7.11: "postconf -c DIR -xh
// queue_directory" exits 1 with "fatal: parameter inet_interfaces: no
// local interface found for 192.0.2.77"; fine with 127.0.0.1,
// loopback-only, all, or an explicit mynetworks).
func TestCheckInterfaces(t *testing.T) {
	oldI, oldH := interfaces, hostsFile
	defer func() { interfaces, hostsFile = oldI, oldH }()
	lo := netip.MustParseAddr("127.0.0.1")
	interfaces = func() ([]ifaceAddr, error) { return []ifaceAddr{{lo, 8}}, nil }
	hostsFile = filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hostsFile, []byte("127.0.0.1 localhost box\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Host names are resolved as postconf resolves them (DNS too): a
	// name /etc/hosts does not know is not refused for that.
	oldR := resolveHost
	defer func() { resolveHost = oldR }()
	resolveHost = func(name string) []netip.Addr {
		switch name {
		case "box", "mx.example":
			return []netip.Addr{lo}
		case "far.example":
			return []netip.Addr{netip.MustParseAddr("192.0.2.98")}
		}
		return nil
	}
	for _, tc := range []struct{ mainCf, fatal string }{
		{"inet_interfaces = mx.example\n", ""},
		{"inet_interfaces = ALL\n", "config variable inet_interfaces: host not found: ALL"},
		{"inet_interfaces = Loopback-Only\n", "config variable inet_interfaces: host not found: Loopback-Only"},
		{"inet_interfaces = far.example\n", "parameter inet_interfaces: no local interface found for 192.0.2.98"},
		{"inet_interfaces = 192.0.2.99\n", "parameter inet_interfaces: no local interface found for 192.0.2.99"},
		{"inet_interfaces = 127.0.0.1, 192.0.2.99\n", "parameter inet_interfaces: no local interface found for 192.0.2.99"},
		{"inet_interfaces = 192.0.2.99\ninet_protocols = ipv6\n", "config variable inet_interfaces: host not found: 192.0.2.99"},
		{"inet_interfaces = nosuch.invalid\n", "config variable inet_interfaces: host not found: nosuch.invalid"},
		{"inet_interfaces = 192.0.2.99\nmynetworks = 127.0.0.0/8\n", ""},
		{"inet_interfaces = 127.0.0.1\n", ""},
		{"inet_interfaces = loopback-only\n", ""},
		{"inet_interfaces = all\n", ""},
		{"inet_interfaces = box\n", ""},
		{"proxy_interfaces = 192.0.2.99\n", ""},
	} {
		c := configFor(t, "/d", tc.mainCf)
		c.CheckInterfaces = true
		_, err := c.Expand("queue_directory")
		var ee *ExpandError
		switch {
		case tc.fatal == "" && err != nil:
			t.Errorf("%q: %v", tc.mainCf, err)
		case tc.fatal != "" && (!errors.As(err, &ee) || ee.Fatal != tc.fatal):
			t.Errorf("%q: error %v, want fatal %q", tc.mainCf, err, tc.fatal)
		}
		// Without CheckInterfaces, only mynetworks itself fails.
		c.CheckInterfaces = false
		if _, err := c.Expand("queue_directory"); err != nil {
			t.Errorf("%q without CheckInterfaces: %v", tc.mainCf, err)
		}
	}
}

func TestBuildOverrides(t *testing.T) {
	tb := builtin().With("x_probe", "")
	applyOverrides(tb, "daemon_directory=/usr/libexec/postfix; shlib_directory = /usr/lib64/postfix;;bogus")
	for name, want := range map[string]string{
		"daemon_directory": "/usr/libexec/postfix",
		"shlib_directory":  "/usr/lib64/postfix",
		"queue_directory":  "/var/spool/postfix",
	} {
		if v, _ := tb.Default(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
}

// TestBuiltinScanFree: the built-in table skips the start-up scan of its
// defaults (Table.scanFree) because none needs it; a copy that is scanned
// must find the same, and an override must bring the scan back.
func TestBuiltinScanFree(t *testing.T) {
	for _, series := range Series() {
		b, _ := SelectDefaults(series)
		t.Run(series, func(t *testing.T) { checkScanFree(t, b) })
	}
	checkScanFree(t, builtin())
}

func checkScanFree(t *testing.T, b *Table) {
	if !b.scanFree {
		t.Fatal("the built-in table is scanned at run time")
	}
	scanned := b.With("config_directory", "/etc/postfix") // the same value, scanned
	if scanned.scanFree {
		t.Fatal("With kept scanFree")
	}
	got, want := b.prep(), scanned.prep()
	if len(want.scanNames) != 0 || len(got.scanNames) != 0 {
		t.Errorf("defaults that need the start-up scan: %v; regenerate defaults_*_gen.go and let prep scan them", want.scanNames)
	}
	if !reflect.DeepEqual(got.host, want.host) || !reflect.DeepEqual(got.host, []string{"mydomain", "myhostname", "mynetworks", "process_id"}) {
		t.Errorf("host parameters %v, scanned %v", got.host, want.host)
	}
	tb := builtin().With("x_probe", "")
	tb.scanFree = true
	applyOverrides(tb, "daemon_directory=/usr/libexec/postfix")
	if tb.scanFree {
		t.Error("applyOverrides kept scanFree")
	}
}

// TestExpansionBudget: an exponential expansion, on which postconf runs
// until killed, ends in an error instead of hanging a generator.
func TestExpansionBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("smtpd_restriction_classes = p0\n")
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "p%d = $p%d$p%d$p%d$p%d\n", i, i+1, i+1, i+1, i+1)
	}
	b.WriteString("p12 = x\n")
	c := configFor(t, "/d", b.String())
	_, err := c.Expand("p0")
	var ee *ExpandError
	if !errors.As(err, &ee) || !ee.Crash {
		t.Errorf("err = %v, want an *ExpandError with Crash set", err)
	}
	if v, err := c.Expand("queue_directory"); err != nil || v != "/var/spool/postfix" {
		t.Errorf("queue_directory = %q, %v", v, err)
	}
}

// unitOut is an edit case's expected output for the installed Postfix:
// from 3.10 on, postconf first ends an unterminated last line.
func unitOut(in, out string) string {
	if postfixAtLeast(3, 10) && in == "a = 1" && out == "a = 1z = v\n" {
		return "a = 1\nz = v\n"
	}
	return out
}

// setAllCases are one postconf -e run with several assignments; the
// expected bytes are postconf 3.7.11's (TestOracleSetAll checks them). A
// NUL byte cuts its line short, newline included, and the next physical
// line is still matched on its own (postmulti -e init on such a file
// replaces multi_instance_enable in place).
var setAllCases = []struct {
	name, in string
	as       []Assignment
	out      string
}{
	{"two replaced", "a = 1\nb = 2\n", []Assignment{{"a", "x"}, {"b", "y"}}, "a = x\nb = y\n"},
	{"one replaced, one appended", "b = 2\n", []Assignment{{"a", "x"}, {"b", "y"}}, "b = y\na = x\n"},
	{"a name twice: the last value", "b = 0\na = 0\n", []Assignment{{"a", "1"}, {"c", "x"}, {"a", "2"}}, "b = 0\na = 2\nc = x\n"},
	{"NUL in a comment line", "# comment\x00\nmulti_instance_enable = no\n",
		[]Assignment{{"multi_instance_wrapper", "${command_directory}/postmulti -p --"}, {"multi_instance_enable", "yes"}},
		"# commentmulti_instance_enable = yes\nmulti_instance_wrapper = ${command_directory}/postmulti -p --\n"},
	{"NUL in the line replaced", "multi_instance_enable = no\x00junk\n",
		[]Assignment{{"multi_instance_wrapper", "${command_directory}/postmulti -p --"}, {"multi_instance_enable", "yes"}},
		"multi_instance_enable = yes\nmulti_instance_wrapper = ${command_directory}/postmulti -p --\n"},
	{"NUL in another parameter", "biff = no\x00\nmulti_instance_enable = no\n",
		[]Assignment{{"multi_instance_wrapper", "w"}, {"multi_instance_enable", "yes"}},
		"biff = nomulti_instance_enable = yes\nmulti_instance_wrapper = w\n"},
}

func TestSetAll(t *testing.T) {
	for _, tc := range setAllCases {
		f, err := Parse("main.cf", []byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := f.SetAll(tc.as...); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := string(f.Bytes()); got != tc.out {
			t.Errorf("%s: SetAll wrote %q, want %q", tc.name, got, tc.out)
		}
	}
}

func TestOracleSetAll(t *testing.T) {
	requirePostconf(t)
	for _, tc := range setAllCases {
		dir := writeMainCf(t, []byte(tc.in))
		if dir == "" {
			t.FailNow()
		}
		args := []string{"-e"}
		for _, a := range tc.as {
			args = append(args, a.Name+" = "+a.Value)
		}
		if o := runPostconf(t, dir, args...); o.Code != 0 {
			t.Errorf("%s: postconf %q: %s", tc.name, args, o)
		}
		got, err := os.ReadFile(filepath.Join(dir, "main.cf"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.out {
			t.Errorf("%s: postconf wrote %q, the test expects %q", tc.name, got, tc.out)
		}
	}
}

// TestNetSettingsErrors: inet_protocols and mynetworks_style are checked
// at start-up, as postconf 3.7.11 checks them when it computes
// mynetworks's default (not when main.cf sets mynetworks, nor for
// mynetworks_style when inet_protocols is empty); the messages are
// postconf's. Interfaces play no part, so the lenient reading fails too.
func TestNetSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ mainCf, fatal string }{
		{"inet_protocols = bogus\n", `unknown inet_protocols value "bogus" in "bogus"`},
		{"inet_protocols = ipv4, bogus\n", `unknown inet_protocols value "bogus" in "ipv4, bogus"`},
		{"inet_protocols = IPv4\n", `unknown inet_protocols value "IPv4" in "IPv4"`},
		{"inet_protocols =\n", ""},
		{"inet_protocols = all ipv4\n", ""},
		{"mynetworks_style = bogus\n", `unknown mynetworks mask style value "bogus" in "bogus"`},
		{"mynetworks_style = HOST\n", `unknown mynetworks mask style value "HOST" in "HOST"`},
		{"mynetworks_style = host subnet\n", "bad mynetworks_style value: host subnet; specify exactly one value"},
		{"mynetworks_style =\n", "bad mynetworks_style value: ; specify exactly one value"},
		{"mynetworks_style = host,\n", ""},
		{"inet_protocols =\nmynetworks_style = bogus\n", ""},
		{"inet_protocols = ipv4 bogus\nmynetworks_style = bogus\n", `unknown inet_protocols value "bogus" in "ipv4 bogus"`},
		{"mynetworks_style = bogus\nmynetworks = 127.0.0.0/8\n", ""},
		{"inet_protocols = bogus\nmynetworks = 127.0.0.0/8\n", ""},
	} {
		for _, check := range []bool{false, true} {
			c := configFor(t, "/d", tc.mainCf)
			c.CheckInterfaces = check
			_, err := c.Expand("queue_directory")
			var ee *ExpandError
			switch {
			case tc.fatal == "" && err != nil:
				t.Errorf("%q (CheckInterfaces %v): %v", tc.mainCf, check, err)
			case tc.fatal != "" && (!errors.As(err, &ee) || ee.Fatal != tc.fatal):
				t.Errorf("%q (CheckInterfaces %v): error %v, want fatal %q", tc.mainCf, check, err, tc.fatal)
			}
		}
	}
}

// TestCheckLocalInterfaces: what mail_params_init checks in every Postfix
// program but postconf (postmulti 3.7.11 on its default main.cf):
// inet_protocols and the inet_interfaces addresses, mynetworks set or
// not; mynetworks_style only when mynetworks is computed.
func TestCheckLocalInterfaces(t *testing.T) {
	oldI, oldR := interfaces, resolveHost
	defer func() { interfaces, resolveHost = oldI, oldR }()
	lo := netip.MustParseAddr("127.0.0.1")
	interfaces = func() ([]ifaceAddr, error) { return []ifaceAddr{{lo, 8}}, nil }
	resolveHost = func(string) []netip.Addr { return nil }
	for _, tc := range []struct{ mainCf, name, fatal string }{
		{"inet_interfaces = 192.0.2.77\nmynetworks = 127.0.0.0/8\n", "inet_interfaces", "parameter inet_interfaces: no local interface found for 192.0.2.77"},
		{"inet_interfaces = 192.0.2.77\ninet_protocols = ipv6\nmynetworks = 127.0.0.0/8\n", "inet_interfaces", "config variable inet_interfaces: host not found: 192.0.2.77"},
		{"inet_protocols = bogus\nmynetworks = 127.0.0.0/8\n", "inet_protocols", `unknown inet_protocols value "bogus" in "bogus"`},
		{"mynetworks_style = bogus\nmynetworks = 127.0.0.0/8\n", "", ""},
		{"inet_interfaces = 192.0.2.77\ninet_protocols =\n", "", ""},
		{"inet_interfaces = 127.0.0.1\n", "", ""},
	} {
		err := configFor(t, "/d", tc.mainCf).CheckLocalInterfaces()
		var ee *ExpandError
		switch {
		case tc.fatal == "" && err != nil:
			t.Errorf("%q: %v", tc.mainCf, err)
		case tc.fatal != "" && (!errors.As(err, &ee) || ee.Fatal != tc.fatal || ee.Name != tc.name):
			t.Errorf("%q: error %#v, want fatal %q about %s", tc.mainCf, err, tc.fatal, tc.name)
		}
	}
}
