package instance

import (
	"os/exec"
	"strings"
	"testing"
)

func TestUnitName(t *testing.T) {
	for _, tc := range []struct {
		in   Instance
		want string
		bad  bool
	}{
		{in: Instance{Default: true, ConfigDir: "/etc/postfix"}, want: "postfix@-.service"},
		{in: Instance{Name: "postfix-out", ConfigDir: "/etc/postfix-out"}, want: "postfix@postfix-out.service"},
		{in: Instance{ConfigDir: "/etc/postfix-x"}, want: `postfix@etc-postfix\x2dx.service`},
		{in: Instance{Name: "postfix-a/../b"}, bad: true},
		{in: Instance{Name: "postfix a"}, bad: true},
		{in: Instance{Name: "-"}, bad: true},
		{in: Instance{Name: "postfix-" + strings.Repeat("x", 250)}, bad: true},
		{in: Instance{ConfigDir: "relative"}, bad: true},
	} {
		got, err := tc.in.UnitName()
		if tc.bad {
			if err == nil {
				t.Errorf("UnitName(%+v) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("UnitName(%+v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestEscapePathMatchesSystemd checks EscapePath against systemd-escape.
func TestEscapePathMatchesSystemd(t *testing.T) {
	bin, err := exec.LookPath("systemd-escape")
	if err != nil {
		t.Fatalf("systemd-escape not found (install systemd): %v", err)
	}
	for _, p := range []string{"/", "/etc/postfix", "/etc/postfix-out/", "//a//b", "/.hidden/x", "/a b/ü", "/x.y/.z", `/back\slash`, "/a:b_c"} {
		out, err := exec.Command(bin, "--path", p).Output()
		if err != nil {
			t.Fatalf("systemd-escape --path %q: %v", p, err)
		}
		if want := strings.TrimSuffix(string(out), "\n"); EscapePath(p) != want {
			t.Errorf("EscapePath(%q) = %q, systemd-escape says %q", p, EscapePath(p), want)
		}
	}
}
