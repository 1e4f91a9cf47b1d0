package installtest

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// Debian 13's files that the deb13 build must leave alone (units: never
// diverted, only extended with drop-ins) or divert (postmulti and its page).
const (
	debian13Service  = "/usr/lib/systemd/system/postfix.service"
	debian13Template = "/usr/lib/systemd/system/postfix@.service"
)

// diversions13 are the only diversions of the deb13 build: no unit, and no
// generator (Debian 13's postfix has none).
var diversions13 = []string{"/usr/sbin/postmulti", "/usr/share/man/man1/postmulti.1.gz"}

// copyDeb puts a host file into the container.
func (s *session) copyDeb(host, guest string) {
	s.t.Helper()
	data, err := os.ReadFile(host)
	if err != nil {
		s.t.Fatal(err)
	}
	s.c.WriteFile(guest, data, 0o644)
}

// refused checks that apt will not install deb beside the container's
// postfix (Depends) and leaves no trace of it.
func (s *session) refused(deb string) {
	s.t.Helper()
	s.copyDeb(deb, "/root/other-flavour.deb")
	res, err := s.c.Exec("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "/root/other-flavour.deb")
	if err == nil {
		s.t.Fatalf("apt-get installed %s beside this release's postfix:\n%s", filepath.Base(deb), res.Stdout)
	}
	if !strings.Contains(res.Stdout+res.Stderr, "postfix") {
		s.t.Fatalf("apt-get refused %s, but not for its postfix dependency:\n%s%s", filepath.Base(deb), res.Stdout, res.Stderr)
	}
	if out := s.run("package state", "sh", "-c", "dpkg-query -W -f '${db:Status-Status}' postfix-instances 2>/dev/null || true"); out != "" && out != "not-installed" {
		s.t.Fatalf("after apt-get refused %s, dpkg has postfix-instances as %q", filepath.Base(deb), out)
	}
	if got := s.ourDiversions(); len(got) != 0 {
		s.t.Fatalf("after apt-get refused %s, diversions:\n%s", filepath.Base(deb), strings.Join(got, "\n"))
	}
}

// TestDebian13InstallRemovePurge installs the deb13 build in a booted
// Debian 13 container next to an instance enabled the Debian way
// (systemctl enable --now postfix@out): no unit is diverted, only postmulti
// and its page; Debian's units get our drop-ins and keep their own Exec
// lines; the instance keeps running through install, a postfix reinstall,
// removal and purge; removal and purge after a postfix reinstall give
// Debian's files back and leave no diversion. The deb12 build is refused.
func TestDebian13InstallRemovePurge(t *testing.T) {
	harness.Require(t)
	deb, stage := buildDeb(t, "deb13")
	deb12, _ := buildDeb(t, "deb12")
	s := &session{t: t, c: harness.Boot(t, harness.Options{Release: harness.Trixie})}
	s.copyDeb(deb, debInContainer)
	pfVersion := strings.TrimSpace(s.run("postfix version", "dpkg-query", "-W", "-f", "${Version}", "postfix"))
	s.copyDeb(poolPostfixDeb(t, pfVersion), "/root/postfix.deb")

	s.refused(deb12)

	debianSum := map[string]string{}
	for _, f := range append([]string{debian13Service, debian13Template}, diversions13...) {
		debianSum[f] = s.md5(f)
		if debianSum[f] == "" {
			t.Fatalf("Debian 13's postfix has no %s", f)
		}
	}

	// An instance the Debian 13 way, before our package: /etc/postfix-out
	// made with Debian's postmulti, enabled and started as postfix@out.
	// master_service_disable: the default instance has port 25.
	s.run("Debian's postmulti -e init", "postmulti", "-e", "init")
	s.run("Debian's postmulti -e create", "postmulti", "-I", "postfix-out", "-e", "create")
	s.run("no listener for postfix-out", "postconf", "-c", "/etc/postfix-out", "-e", "master_service_disable = inet")
	s.run("systemctl enable --now postfix@out", "systemctl", "enable", "--now", "postfix@out")
	s.wantActive("postfix@out.service", "active")
	master := s.c.Show("postfix@out.service", "MainPID")["MainPID"]
	stillRunning := func(when string) {
		t.Helper()
		s.wantActive("postfix@out.service", "active")
		if got := s.c.Show("postfix@out.service", "MainPID")["MainPID"]; got != master {
			t.Fatalf("%s postfix@out runs master %s, want the same master %s (not restarted)", when, got, master)
		}
		if _, err := s.c.Exec("test", "-L", "/etc/systemd/system/multi-user.target.wants/postfix@out.service"); err != nil {
			t.Fatalf("%s postfix@out is no longer enabled", when)
		}
	}

	// --- install ---------------------------------------------------------
	s.run("apt-get install the deb13 build", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", debInContainer)
	s.checkInstalled13(stage, debianSum)
	stillRunning("after install")

	// Our drop-in is on Debian's template; its Exec lines stay Debian's.
	p := s.c.Show("postfix@out.service", "FragmentPath", "DropInPaths", "ExecStart", "ExecStartPre", "Restart", "SystemCallArchitectures")
	if p["FragmentPath"] != debian13Template || !strings.Contains(p["DropInPaths"], "/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf") {
		t.Fatalf("postfix@out: FragmentPath=%s DropInPaths=%s, want Debian's template with our drop-in", p["FragmentPath"], p["DropInPaths"])
	}
	if !strings.Contains(p["ExecStart"], "debian-systemd-start") || !strings.Contains(p["ExecStartPre"], "check") ||
		p["Restart"] != "on-failure" || p["SystemCallArchitectures"] != "native" {
		t.Fatalf("postfix@out with our drop-in: %v", p)
	}
	if p := s.c.Show("postfix.service", "DropInPaths", "Restart"); p["Restart"] != "on-failure" ||
		!strings.Contains(p["DropInPaths"], "/usr/lib/systemd/system/postfix.service.d/20-postfix-instances.conf") {
		t.Fatalf("postfix.service without our drop-in: %v", p)
	}
	// A crash is restarted now (Debian's unit alone has no Restart=), a
	// stop by hand is respected.
	s.run("restart postfix@out under the drop-in", "systemctl", "restart", "postfix@out")
	s.wantActive("postfix@out.service", "active")
	killed := s.c.Show("postfix@out.service", "MainPID")["MainPID"]
	s.run("kill -9 the master", "kill", "-9", killed)
	s.c.Eventually("postfix@out restarted after kill -9 of its master", 30*time.Second, func() (bool, error) {
		p := s.c.Show("postfix@out.service", "ActiveState", "MainPID")
		return p["ActiveState"] == "active" && p["MainPID"] != killed && p["MainPID"] != "0", nil
	})
	s.run("postfix stop by hand", "postfix", "-c", "/etc/postfix-out", "stop")
	s.wantActive("postfix@out.service", "inactive")
	s.run("start postfix@out again", "systemctl", "start", "postfix@out")
	s.wantActive("postfix@out.service", "active")
	master = s.c.Show("postfix@out.service", "MainPID")["MainPID"]

	// Debian's postfix unpacked again, as an upgrade would: its postmulti
	// goes to the diverted path, ours stays. Debian's postfix restarts
	// postfix.service after an upgrade (a dpkg trigger), and so postfix@out
	// (PartOf=): a new master, Debian's doing.
	reinstallPostfix := func() {
		s.run("reinstall Debian's postfix", "env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "-i", "/root/postfix.deb")
		s.checkInstalled13(stage, debianSum)
		s.wantActive("postfix@out.service", "active")
		master = s.c.Show("postfix@out.service", "MainPID")["MainPID"]
	}
	reinstallPostfix() // then removal, as after any postfix update

	// --- remove after a postfix reinstall ----------------------------------
	s.run("apt-get remove", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "remove", "-y", "postfix-instances")
	s.checkDebianBack13(debianSum)
	stillRunning("after removal")

	// --- purge from installed, after a postfix reinstall -------------------
	s.run("install the deb13 build again", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", debInContainer)
	s.checkInstalled13(stage, debianSum)
	reinstallPostfix()
	s.run("apt-get purge", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "postfix-instances")
	s.checkDebianBack13(debianSum)
	s.checkNothingLeftOf(deb, diversions13)
	stillRunning("after purge")
}

// TestDebian12PurgeAfterPostfixReinstall purges the deb12 build on Debian
// 12 right after Debian's postfix was unpacked again over the diversions
// (no remove first): every diversion goes, Debian's files are back. The
// deb13 build is refused there.
func TestDebian12PurgeAfterPostfixReinstall(t *testing.T) {
	harness.Require(t)
	deb, stage := buildDeb(t, "deb12")
	deb13, _ := buildDeb(t, "deb13")
	s := &session{t: t, c: harness.Boot(t, harness.Options{Release: harness.Bookworm})}
	s.copyDeb(deb, debInContainer)
	pf := postfixDeb(t, strings.TrimSpace(s.run("postfix version", "dpkg-query", "-W", "-f", "${Version}", "postfix")))
	s.copyDeb(pf, "/root/postfix.deb")

	s.refused(deb13)

	debianSum := map[string]string{debianTemplate: s.md5(debianTemplate)}
	for _, r := range replaced {
		debianSum[r.debian] = s.md5(r.debian)
	}
	s.run("apt-get install the deb12 build", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", debInContainer)
	s.checkInstalled(stage, debianSum)
	s.run("reinstall Debian's postfix", "env", "DEBIAN_FRONTEND=noninteractive", "dpkg", "-i", "/root/postfix.deb")
	s.checkInstalled(stage, debianSum)
	s.run("apt-get purge", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "postfix-instances")
	s.checkDebianBack(debianSum)
	s.checkNothingLeft(deb)
}

// checkInstalled13 checks the deb13 build's diversions and files.
func (s *session) checkInstalled13(stage string, debianSum map[string]string) {
	s.t.Helper()
	var want []string
	for _, d := range diversions13 {
		want = append(want, "diversion of "+d+" to "+divertedDir+d+" by postfix-instances")
	}
	if got := s.ourDiversions(); !slices.Equal(got, want) {
		s.t.Fatalf("diversions after install:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// No unit and no generator diverted, by anybody.
	for _, line := range strings.Split(s.run("list diversions", "dpkg-divert", "--list"), "\n") {
		if strings.Contains(line, "/systemd/") {
			s.t.Fatalf("a unit or generator is diverted: %s", line)
		}
	}
	ours := map[string]string{
		"/usr/sbin/postmulti":                filepath.Join(stage, runtime.GOARCH, "postmulti"),
		"/usr/share/man/man1/postmulti.1.gz": filepath.Join(stage, "common/man/postmulti.1.gz"),
	}
	for path, src := range ours {
		if got, want := s.md5(path), hostMD5(s.t, src); got != want {
			s.t.Fatalf("after install %s has MD5 %q, want ours (%s)", path, got, want)
		}
		if got := s.md5(divertedDir + path); got != debianSum[path] {
			s.t.Fatalf("after install %s%s has MD5 %q, want Debian's (%s)", divertedDir, path, got, debianSum[path])
		}
	}
	for _, unit := range []string{debian13Service, debian13Template} {
		if got := s.md5(unit); got != debianSum[unit] {
			s.t.Fatalf("after install %s has MD5 %q, want Debian's (%s): units are never replaced", unit, got, debianSum[unit])
		}
	}
	for _, f := range []string{
		"/usr/lib/systemd/system/postfix-dir@.service",
		"/usr/lib/systemd/system/postfix.service.d/20-postfix-instances.conf",
		"/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf",
	} {
		if got, want := s.md5(f), hostMD5(s.t, filepath.Join(stage, "deb13/systemd-system", strings.TrimPrefix(f, "/usr/lib/systemd/system/"))); got != want {
			s.t.Fatalf("after install %s has MD5 %q, want the staged unit (%s)", f, got, want)
		}
	}
	// Not Debian 12's drop-in (configure-instance.sh refuses arguments on 13).
	if _, err := s.c.Exec("test", "-e", "/usr/lib/systemd/system/postfix@.service.d/40-debian-configure-instance.conf"); err == nil {
		s.t.Fatalf("the deb13 build installed 40-debian-configure-instance.conf")
	}
	s.run("Debian's postfix files are intact", "dpkg", "--verify", "postfix")
	s.run("our files are intact", "dpkg", "--verify", "postfix-instances")
}

// checkDebianBack13 checks that removal left Debian 13's files and no
// diversion.
func (s *session) checkDebianBack13(debianSum map[string]string) {
	s.t.Helper()
	if got := s.ourDiversions(); len(got) != 0 {
		s.t.Fatalf("diversions left after removal:\n%s", strings.Join(got, "\n"))
	}
	for path, sum := range debianSum {
		if got := s.md5(path); got != sum {
			s.t.Fatalf("after removal %s has MD5 %q, want Debian's (%s)", path, got, sum)
		}
	}
	for _, f := range []string{"/usr/lib/postfix-instances", "/usr/lib/systemd/system/postfix-dir@.service",
		"/usr/lib/systemd/system/postfix.service.d/20-postfix-instances.conf", templateDropIn,
		"/usr/lib/systemd/system-generators/postfix-instance-generator"} {
		if _, err := s.c.Exec("test", "-e", f); err == nil {
			s.t.Fatalf("after removal %s is still there", f)
		}
	}
	s.run("Debian's postfix files are intact after removal", "dpkg", "--verify", "postfix")
}
