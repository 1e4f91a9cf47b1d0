package unit

import (
	"os/exec"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	if got := ForDefault(); got != "postfix@-.service" {
		t.Errorf("ForDefault() = %q", got)
	}
	for _, tc := range []struct {
		name, want string
	}{
		{"postfix-out", "postfix@postfix-out.service"},
		{"mx-in", "postfix@mx-in.service"}, // no "postfix-" needed: upstream runs it
		{"a:b_c.d", "postfix@a:b_c.d.service"},
	} {
		if got, err := ForName(tc.name); err != nil || got != tc.want {
			t.Errorf("ForName(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"", "-", ".x", "postfix-a/../b", "postfix a", `a\x2d`, "postfix-é", strings.Repeat("x", maxName)} {
		if got, err := ForName(name); err == nil {
			t.Errorf("ForName(%q) = %q, want an error", name, got)
		}
	}
	if got, err := ForGroup("mta"); err != nil || got != "postfix-mta.target" {
		t.Errorf("ForGroup(mta) = %q, %v", got, err)
	}
	if got := DropIn("postfix@-.service"); got != "postfix@-.service.d/50-instance.conf" {
		t.Errorf("DropIn = %q", got)
	}
	if got := PIDFile("/var/spool/postfix-a/"); got != "/var/spool/postfix-a/pid/master.pid" {
		t.Errorf("PIDFile = %q", got)
	}
}

// TestOneLengthLimit checks that a name and a group are refused at the same
// length of their unit, and that what is accepted fits as a directory
// name with the generator's suffixes.
func TestOneLengthLimit(t *testing.T) {
	name := strings.Repeat("n", maxName-len("postfix@.service"))
	u, err := ForName(name)
	if err != nil {
		t.Fatalf("ForName of the longest name: %v", err)
	}
	if len(u+".d") > 255 || len(u) > 255 {
		t.Errorf("%d-character unit does not fit", len(u))
	}
	if _, err := ForName(name + "n"); err == nil {
		t.Errorf("a name one longer is accepted")
	}
	group := strings.Repeat("g", maxName-len("postfix-.target"))
	g, err := ForGroup(group)
	if err != nil {
		t.Fatalf("ForGroup of the longest group: %v", err)
	}
	if len(g+".wants") > 255 {
		t.Errorf("%s.wants does not fit in a file name", g)
	}
	if _, err := ForGroup(group + "g"); err == nil {
		t.Errorf("a group one longer is accepted")
	}
	if _, err := ForPath("/" + strings.Repeat("p", maxName)); err == nil {
		t.Errorf("an over-long nameless unit is accepted")
	}
}

// TestBytesInMessages checks that a non-ASCII byte is shown as \xNN, as
// systemd-escape writes it, not as a Latin-1 character.
func TestBytesInMessages(t *testing.T) {
	err := validateName("postfix-é")
	if err == nil || !strings.Contains(err.Error(), `contains '\xc3'`) || strings.Contains(err.Error(), "Ã") {
		t.Errorf("validateName(postfix-é) = %v, want it to name the byte '\\xc3'", err)
	}
	err = validateGroup("mail+relay")
	if err == nil || !strings.Contains(err.Error(), `contains '+'`) {
		t.Errorf("validateGroup(mail+relay) = %v", err)
	}
	for c, want := range map[byte]string{'a': "'a'", ' ': "' '", '\'': `'\''`, 0: `'\x00'`, 0xc3: `'\xc3'`, '\n': `'\x0a'`} {
		if got := QuoteByte(c); got != want {
			t.Errorf("QuoteByte(%#x) = %s, want %s", c, got, want)
		}
	}
}

// TestEscapePathMatchesSystemd checks escapePath against systemd-escape.
func TestEscapePathMatchesSystemd(t *testing.T) {
	bin, err := exec.LookPath("systemd-escape")
	if err != nil {
		if testing.Short() {
			t.Skipf("skipping the comparison with systemd-escape, which is not installed: %v", err)
		}
		t.Fatalf("systemd-escape not found (install systemd): %v", err)
	}
	for _, p := range []string{"/", "/etc/postfix", "/etc/postfix-out/", "//a//b", "/.hidden/x", "/a b/ü",
		"/x.y/.z", `/back\slash`, "/a:b_c", "/etc/./postfix-a", "/./.x/./y/.", "/etc/postfix-é"} {
		out, err := exec.Command(bin, "--path", p).Output()
		if err != nil {
			t.Fatalf("systemd-escape --path %q: %v", p, err)
		}
		if want := strings.TrimSuffix(string(out), "\n"); escapePath(p) != want {
			t.Errorf("escapePath(%q) = %q, systemd-escape says %q", p, escapePath(p), want)
		}
	}
	if u, err := ForPath("/etc/./postfix-a"); err != nil || u != `postfix@etc-postfix\x2da.service` {
		t.Errorf("ForPath(/etc/./postfix-a) = %q, %v", u, err)
	}
	if _, err := ForPath("/etc/../x"); err == nil {
		t.Errorf("ForPath accepts a \"..\" element, which systemd-escape refuses")
	}
}

// TestEscapeMatchesSystemd compares escape with the real systemd-escape.
func TestEscapeMatchesSystemd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs systemd-escape")
	}
	for _, s := range []string{"out", "my-out", "a.b_c:d", ".hidden", "x y", "a/b", "é"} {
		out, err := exec.Command("systemd-escape", "--", s).Output()
		if err != nil {
			t.Fatalf("systemd-escape %q: %v", s, err)
		}
		if want := strings.TrimSpace(string(out)); escape(s) != want {
			t.Errorf("escape(%q) = %q, systemd-escape says %q", s, escape(s), want)
		}
	}
}

// TestDebianForConfigDir: Debian 13's unit for /etc/postfix-X only.
func TestDebianForConfigDir(t *testing.T) {
	for dir, want := range map[string]string{
		"/etc/postfix-out":   "postfix@out.service",
		"/etc/postfix-my-in": `postfix@my\x2din.service`,
		"/etc/postfix-":      "",
		"/etc/postfix-a/b":   "",
		"/srv/postfix-out":   "",
		"/etc/postfix-.x":    "postfix@.x.service", // the redirect's, not systemd-escape .x
		"/etc//postfix-out/": "postfix@out.service",
		"/etc/postfix":       "",
		"etc/postfix-out":    "",
	} {
		if got, ok := DebianForConfigDir(dir); got != want || ok != (want != "") {
			t.Errorf("DebianForConfigDir(%q) = %q, %v; want %q", dir, got, ok, want)
		}
	}
}
