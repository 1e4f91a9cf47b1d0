package installtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// TestRPMScriptlets runs the RPM scriptlets (packaging/rpm/*.sh) with the
// arguments rpm passes them, inside the Debian container: there is no
// Fedora here, but the scriptlets are plain sh against systemd, and
// Debian's postfix has a /usr/sbin/postmulti and a postfix.service to act
// on. It checks the postmulti redirection (RPM's stand-in for dpkg-divert)
// through install, upgrade, a postfix update behind our back, and erase, and
// the stop/start of postfix.service around the umbrella switch.
func TestRPMScriptlets(t *testing.T) {
	harness.Require(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, c: harness.Boot(t, harness.Options{})}
	for _, name := range []string{"pre.sh", "post.sh", "preun.sh", "postun.sh"} {
		data, err := os.ReadFile(filepath.Join(root, "packaging", "rpm", name))
		if err != nil {
			t.Fatal(err)
		}
		s.c.WriteFile("/root/rpm/"+name, data, 0o644)
	}
	const (
		postmulti = "/usr/sbin/postmulti"
		manpage   = "/usr/share/man/man1/postmulti.1.gz"
		ours      = "/usr/libexec/postfix-instances/postmulti"
		ourMan    = "/usr/share/postfix-instances/man/man1/postmulti.1.gz"
	)
	s.c.WriteFile(ours, []byte("#!/bin/sh\necho ours\n"), 0o755)
	s.c.WriteFile(ourMan, []byte("ours"), 0o644)
	debian := map[string]string{postmulti: s.md5(postmulti), manpage: s.md5(manpage)}
	scriptlet := func(name, arg string) {
		t.Helper()
		s.run("rpm scriptlet "+name+" "+arg, "sh", "-e", "/root/rpm/"+name, arg)
	}
	redirected := func(when string) {
		t.Helper()
		for path, target := range map[string]string{postmulti: ours, manpage: ourMan} {
			if got := strings.TrimSpace(s.run("readlink", "readlink", path)); got != target {
				t.Fatalf("%s: %s -> %q, want -> %s", when, path, got, target)
			}
			if got := s.md5(path + ".distrib"); got != debian[path] {
				t.Fatalf("%s: %s.distrib has MD5 %q, want postfix's (%s)", when, path, got, debian[path])
			}
		}
		if got := strings.TrimSpace(s.run("run postmulti", "postmulti")); got != "ours" {
			t.Fatalf("%s: postmulti runs %q, want ours", when, got)
		}
	}

	// First install: postfix.service is stopped before the umbrella drop-in
	// arrives and started again after.
	s.wantActive("postfix.service", "active")
	scriptlet("pre.sh", "1")
	s.wantActive("postfix.service", "inactive")
	scriptlet("post.sh", "1")
	s.wantActive("postfix.service", "active")
	if _, err := s.c.Exec("test", "-e", "/run/postfix-instances.restart"); err == nil {
		t.Fatal("post.sh left /run/postfix-instances.restart behind")
	}
	redirected("after %post 1")

	// Upgrade of our package: new %pre 2 and %post 2, then old %preun 1 and
	// %postun 1. Nothing changes, postfix keeps running.
	scriptlet("pre.sh", "2")
	scriptlet("post.sh", "2")
	scriptlet("preun.sh", "1")
	scriptlet("postun.sh", "1")
	s.wantActive("postfix.service", "active")
	redirected("after an upgrade")

	// An update of postfix alone writes its files over our symlinks; a
	// reinstall (%post again) redirects them anew.
	for path := range debian {
		s.run("postfix update", "cp", "--remove-destination", path+".distrib", path)
	}
	scriptlet("post.sh", "2")
	redirected("after a postfix update and %post")

	// Erase: postfix's files come back, the copies go.
	scriptlet("preun.sh", "0")
	s.wantActive("postfix.service", "inactive")
	scriptlet("postun.sh", "0")
	s.wantActive("postfix.service", "active")
	for path, sum := range debian {
		if _, err := s.c.Exec("test", "-L", path); err == nil {
			t.Fatalf("after erase %s is still a symlink", path)
		}
		if got := s.md5(path); got != sum {
			t.Fatalf("after erase %s has MD5 %q, want postfix's (%s)", path, got, sum)
		}
		if _, err := s.c.Exec("test", "-e", path+".distrib"); err == nil {
			t.Fatalf("after erase %s.distrib is still there", path)
		}
	}
}
