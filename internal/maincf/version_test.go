package maincf

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"
)

func TestUpstreamVersion(t *testing.T) {
	for in, want := range map[string]string{
		"3.7.11-0+deb12u1":  "3.7.11",
		"3.10.13-0+deb13u1": "3.10.13",
		"3.11.7-1":          "3.11.7",
		"1:3.12.0-2":        "3.12.0",
		"3.11.0~rc1-1":      "3.11.0",
		"3.9":               "3.9",
	} {
		if got := upstreamVersion(in); got != want {
			t.Errorf("upstreamVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

const statusFile = `Package: postfix-lmdb
Status: install ok installed
Depends: postfix (= 3.10.13-0+deb13u1)
Version: 3.10.13-0+deb13u1

Package: postfix
Status: install ok installed
Priority: optional
Version: 3.10.13-0+deb13u1
Description: High-performance mail transport agent
 Package: postfix
 Version: 9.9

Package: zzz
Version: 1
`

func TestPostfixFromStatus(t *testing.T) {
	if v, err := postfixFromStatus([]byte(statusFile)); err != nil || v != "3.10.13" {
		t.Errorf("got %q, %v; want 3.10.13", v, err)
	}
	removed := strings.Replace(statusFile, "Status: install ok installed\nPriority", "Status: deinstall ok config-files\nPriority", 1)
	if v, err := postfixFromStatus([]byte(removed)); err == nil {
		t.Errorf("removed postfix (config-files) gave %q", v)
	}
	if v, err := postfixFromStatus([]byte("Package: postfix-mysql\nStatus: install ok installed\nVersion: 3.7.11-0+deb12u1\n")); err == nil {
		t.Errorf("postfix-mysql taken for postfix: %q", v)
	}
	first := "Package: postfix\nStatus: install ok unpacked\nVersion: 3.11.7-1\n"
	if v, err := postfixFromStatus([]byte(first)); err != nil || v != "3.11.7" {
		t.Errorf("stanza at the start, unpacked: %q, %v", v, err)
	}
}

func TestSelectDefaults(t *testing.T) {
	for _, tc := range []struct {
		version, series string
		exact           bool
		mailVersion     string
	}{
		{"3.7.11", "3.7", true, "3.7.11"},
		{"3.7.12", "3.7", true, "3.7.12"},
		{"3.10.13", "3.10", true, "3.10.13"},
		{"3.11.7", "3.11", true, "3.11.7"},
		{"3.11", "3.11", true, ""}, // no patch level: the table's own
		{"3.8.6", "3.7", false, ""},
		{"3.9.1", "3.7", false, ""},
		{"3.12.0", "3.11", false, ""},
		{"4.0.1", "3.11", false, ""},
		{"3.5.18", "3.7", false, ""},
		{"", "3.7", false, ""},
		{"junk", "3.7", false, ""},
	} {
		tab, sel := SelectDefaults(tc.version)
		if sel.Series != tc.series || sel.Exact != tc.exact {
			t.Errorf("%q: series %s exact %v, want %s %v", tc.version, sel.Series, sel.Exact, tc.series, tc.exact)
		}
		if (sel.Warning() == "") != tc.exact {
			t.Errorf("%q: warning %q", tc.version, sel.Warning())
		}
		want := tc.mailVersion
		if want == "" {
			want = seriesParam(t, tc.series, "mail_version")
		}
		if got, _ := tab.Default("mail_version"); got != want {
			t.Errorf("%q: mail_version = %q, want %q", tc.version, got, want)
		}
	}
	// The tables are each their own: sid's meta_directory and map types.
	t11, _ := SelectDefaults("3.11.7")
	t7, _ := SelectDefaults("3.7.11")
	for name, want := range map[string][2]string{
		"meta_directory":        {"/etc/postfix", "/usr/share/postfix"},
		"default_database_type": {"hash", "cdb"},
	} {
		a, _ := t7.Default(name)
		b, _ := t11.Default(name)
		if a != want[0] || b != want[1] {
			t.Errorf("%s: 3.7 %q, 3.11 %q; want %q", name, a, b, want)
		}
	}
}

func seriesParam(t *testing.T, series, name string) string {
	for _, s := range builtinSeries {
		if s.series == series {
			for _, p := range s.params {
				if p.name == name {
					return p.value
				}
			}
		}
	}
	t.Fatalf("series %s has no %s", series, name)
	return ""
}

func TestInstalledDefaults(t *testing.T) {
	fsys := fstest.MapFS{"var/lib/dpkg/status": {Data: []byte(statusFile)}}
	tab, sel := InstalledDefaults(fsys)
	if !sel.Exact || sel.Series != "3.10" || sel.Installed != "3.10.13" || sel.Source != "/var/lib/dpkg/status" {
		t.Errorf("selection %+v", sel)
	}
	if v, _ := tab.Default("mail_version"); v != "3.10.13" {
		t.Errorf("mail_version %q", v)
	}
	// No dpkg (an RPM system, a test tree): the oldest table, with a warning.
	_, sel = InstalledDefaults(fstest.MapFS{})
	if sel.Exact || sel.Series != "3.7" || !strings.Contains(sel.Warning(), "cannot tell which Postfix is installed") {
		t.Errorf("without dpkg: %+v %q", sel, sel.Warning())
	}
	// A newer Postfix than any table: the newest, with a warning.
	newer := strings.ReplaceAll(statusFile, "3.10.13-0+deb13u1", "3.12.1-1")
	_, sel = InstalledDefaults(fstest.MapFS{"var/lib/dpkg/status": {Data: []byte(newer)}})
	if sel.Exact || sel.Series != "3.11" || !strings.Contains(sel.Warning(), "no compiled-in defaults for Postfix 3.12.1") {
		t.Errorf("3.12.1: %+v %q", sel, sel.Warning())
	}
}

// TestBuiltinIsInstalled: the process's built-in table is the installed
// Postfix's own, and says the same mail_version as its postconf.
func TestBuiltinIsInstalled(t *testing.T) {
	requirePostconf(t)
	sel := BuiltinSelection()
	if !sel.Exact {
		t.Fatalf("built-in table is not the installed Postfix's: %s", sel.Warning())
	}
	out, err := exec.Command(postconfPath, "-dh", "mail_version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(out))
	if got, _ := BuiltinDefaults().Default("mail_version"); got != want {
		t.Errorf("built-in mail_version %q, postconf -d says %q", got, want)
	}
	if sel.Installed != want {
		t.Errorf("detected version %q from %s, postconf says %q", sel.Installed, sel.Source, want)
	}
}

func BenchmarkInstalledVersion(b *testing.B) {
	fsys := os.DirFS("/")
	if _, _, err := InstalledVersion(fsys); err != nil {
		b.Skip(err)
	}
	for i := 0; i < b.N; i++ {
		if _, _, err := InstalledVersion(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBehaviour310: the Postfix 3.10 behaviours main.cf reading and
// editing follow when 3.10 or later is installed (checked against the
// real postconf 3.10 and 3.11 by TestReleases).
func TestBehaviour310(t *testing.T) {
	defer func(s string) { behaviourSeries = s }(behaviourSeries)
	for _, series := range []string{"3.7", "3.10"} {
		behaviourSeries = series
		f, err := Parse("/d/main.cf", []byte("a = 1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Set("z", "v"); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"3.7": "a = 1z = v\n", "3.10": "a = 1\nz = v\n"}[series]
		if got := string(f.Bytes()); got != want {
			t.Errorf("%s: append to unterminated line: %q, want %q", series, got, want)
		}
		f, err = Parse("/d/main.cf", []byte("# c\x00\na = 1\x00x\n  more\nb = 2\n"))
		if err != nil {
			t.Fatal(err)
		}
		w := strings.Join(f.Warnings(), "\n")
		wantNull := series == "3.10"
		if got := strings.Contains(w, "/d/main.cf, line 2-3: text after null byte may be ignored"); got != wantNull {
			t.Errorf("%s: warnings %q", series, w)
		}
	}
}
