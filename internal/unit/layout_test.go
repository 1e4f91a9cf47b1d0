package unit

import (
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"
)

// Debian 12's postfix.service (an umbrella) and the lines of Debian 13's
// that tell it apart (postfix 3.10.13-0+deb13u1).
const (
	bookwormUmbrella = "[Unit]\nDescription=Postfix Mail Transport Agent\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecReload=/bin/true\n"
	trixieDefault    = "[Unit]\nConflicts=postfix@-.service\n\n[Service]\nType=forking\nEnvironment=MAIL_CONFIG=/etc/postfix\nExecStartPre=+postfix check\nExecStart=postfix debian-systemd-start\nExecStop=postfix stop\n"
)

func TestDetectLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want Layout
	}{
		{"no postfix", fstest.MapFS{}, Classic},
		{"bookworm", fstest.MapFS{"lib/systemd/system/postfix.service": {Data: []byte(bookwormUmbrella)}}, Classic},
		{"trixie", fstest.MapFS{"usr/lib/systemd/system/postfix.service": {Data: []byte(trixieDefault)}}, Debian13},
		{"trixie under /lib", fstest.MapFS{"lib/systemd/system/postfix.service": {Data: []byte(trixieDefault)}}, Debian13},
		{"only a comment", fstest.MapFS{"usr/lib/systemd/system/postfix.service": {Data: []byte("# ExecStart=postfix debian-systemd-start\nExecStart=/bin/true\n")}}, Classic},
		{"in another setting", fstest.MapFS{"usr/lib/systemd/system/postfix.service": {Data: []byte("ExecStartPost=postfix debian-systemd-start\n")}}, Classic},
		{"usr/lib first", fstest.MapFS{
			"usr/lib/systemd/system/postfix.service": {Data: []byte(bookwormUmbrella)},
			"lib/systemd/system/postfix.service":     {Data: []byte(trixieDefault)},
		}, Classic},
		{"a directory", fstest.MapFS{"usr/lib/systemd/system/postfix.service/x": {}}, Classic},
	} {
		if got := DetectLayout(tc.fsys); got != tc.want {
			t.Errorf("%s: DetectLayout = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestForInstance(t *testing.T) {
	for _, tc := range []struct {
		layout       Layout
		def          bool
		name, dir    string
		want, errHas string
	}{
		{Classic, true, "", "/etc/postfix", "postfix@-.service", ""},
		{Classic, false, "postfix-out", "/etc/postfix-out", "postfix@postfix-out.service", ""},
		{Classic, false, "", "/etc/postfix-out", `postfix@etc-postfix\x2dout.service`, ""},
		{Classic, false, "postfix-relay", "/srv/mail/relay", "postfix@postfix-relay.service", ""},
		{Classic, false, "bad name", "/etc/postfix-out", "", "contains ' '"},
		{Debian13, true, "", "/etc/postfix", "postfix.service", ""},
		{Debian13, true, "postfix-main", "/etc/postfix", "postfix.service", ""},
		{Debian13, false, "postfix-out", "/etc/postfix-out", "postfix@out.service", ""},
		{Debian13, false, "postfix-whatever", "/etc/postfix-out", "postfix@out.service", ""},
		{Debian13, false, "", "/etc/postfix-out", "postfix@out.service", ""},
		{Debian13, false, "postfix-out", "/etc/postfix-my-out", `postfix@my\x2dout.service`, ""},
		{Debian13, false, "postfix-relay", "/srv/mail/relay", "postfix-dir@srv-mail-relay.service", ""},
		{Debian13, false, "", "/etc/postfix/inner", "postfix-dir@etc-postfix-inner.service", ""},
		{Debian13, false, "", "/etc/postfix-", `postfix-dir@etc-postfix\x2d.service`, ""},
		{Debian13, false, "bad name", "/etc/postfix-out", "", "contains ' '"},
		{Debian13, false, "", "/" + strings.Repeat("p", maxName), "", "longer than"},
		{Debian13, false, "", "/etc/postfix-" + strings.Repeat("p", maxName), "", "longer than"},
	} {
		got, err := tc.layout.ForInstance(tc.def, tc.name, tc.dir)
		switch {
		case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("%v.ForInstance(%v, %q, %q) = %q, %v; want an error with %q", tc.layout, tc.def, tc.name, tc.dir, got, err, tc.errHas)
		case tc.errHas == "" && (err != nil || got != tc.want):
			t.Errorf("%v.ForInstance(%v, %q, %q) = %q, %v; want %q", tc.layout, tc.def, tc.name, tc.dir, got, err, tc.want)
		}
	}
}

func TestTemplates(t *testing.T) {
	for u, want := range map[string]string{
		"postfix@out.service":                "postfix@.service",
		`postfix@my\x2dout.service`:          "postfix@.service",
		"postfix@.dot.service":               "postfix@.service",
		"postfix@-.service":                  "postfix@.service",
		"postfix-dir@srv-mail-relay.service": "postfix-dir@.service",
		"postfix.service":                    "postfix.service",
		"postfix-mta.target":                 "postfix-mta.target",
	} {
		if got := TemplateOf(u); got != want {
			t.Errorf("TemplateOf(%q) = %q, want %q", u, got, want)
		}
	}
	for _, tc := range []struct {
		l       Layout
		u, want string
	}{
		{Classic, "postfix@postfix-out.service", "/lib/systemd/system/postfix@.service"},
		{Debian13, "postfix@out.service", "/usr/lib/systemd/system/postfix@.service"},
		{Debian13, "postfix-dir@srv-x.service", "/usr/lib/systemd/system/postfix-dir@.service"},
	} {
		if got := tc.l.LinkTarget(tc.u); got != tc.want {
			t.Errorf("%v.LinkTarget(%q) = %q, want %q", tc.l, tc.u, got, tc.want)
		}
	}
	if Debian13.GroupMember(true) || !Debian13.GroupMember(false) || !Classic.GroupMember(true) {
		t.Errorf("GroupMember: only the default instance on Debian13 joins no group target")
	}
}

// TestDebianRedirectMatchesSystemd computes, with the real systemd-escape,
// the unit Debian 13's "postfix start" redirect (postfix-script) starts
// for a config directory, and compares ForInstance's name with it:
//
//	srv=$(systemd-escape -p $config_directory)
//	case "$srv" in
//	(etc-postfix) srv=postfix.service ;;
//	(etc-postfix\\x2d*) srv=postfix@${srv#*\\x2d}.service ;;
//	(*) srv= ;;
//	esac
//
// For every other directory the redirect starts nothing, and ours is a
// postfix-dir@ unit named by systemd-escape --path.
func TestDebianRedirectMatchesSystemd(t *testing.T) {
	bin, err := exec.LookPath("systemd-escape")
	if err != nil {
		if testing.Short() {
			t.Skipf("skipping the comparison with systemd-escape, which is not installed: %v", err)
		}
		t.Fatalf("systemd-escape not found (install systemd): %v", err)
	}
	for _, dir := range []string{"/etc/postfix", "/etc/postfix-out", "/etc/postfix-my-out", "/etc/postfix-a-b-c",
		"/etc/postfix-.dot", "/etc/postfix-a.b", "/etc/postfix-x:y_z", "/etc/postfix-a+b,c=d~e@f", "/etc/postfix-",
		"/etc/postfix/inner", "/srv/mail/relay", "/srv/postfix-out", "/etc/postfixout", "/var/lib/postfix-a/b"} {
		out, err := exec.Command(bin, "-p", dir).Output()
		if err != nil {
			t.Fatalf("systemd-escape -p %q: %v", dir, err)
		}
		srv := strings.TrimSuffix(string(out), "\n")
		var redirect string
		switch {
		case srv == "etc-postfix":
			redirect = "postfix.service"
		case strings.HasPrefix(srv, `etc-postfix\x2d`):
			// "/etc/postfix-" makes it "postfix@.service", the
			// template, which systemctl cannot start: no unit.
			if _, rest, _ := strings.Cut(srv, `\x2d`); rest != "" {
				redirect = "postfix@" + rest + ".service"
			}
		}
		got, err := Debian13.ForInstance(dir == "/etc/postfix", "", dir)
		if err != nil {
			t.Errorf("ForInstance(%q): %v", dir, err)
			continue
		}
		switch {
		case redirect != "" && got != redirect:
			t.Errorf("%s: our unit %s, Debian's redirect starts %s", dir, got, redirect)
		case redirect == "" && got != "postfix-dir@"+srv+".service":
			t.Errorf("%s: our unit %s, want postfix-dir@%s.service (Debian's redirect starts nothing)", dir, got, srv)
		}
	}
}
