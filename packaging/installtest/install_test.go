package installtest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// replaced are the files of Debian's postfix package that ours replace, by
// the names Debian 12's dpkg knows them under, with where ours come from in
// the build's staging directory (see scripts/build-packages.sh).
var replaced = []struct {
	debian string // path in Debian's postfix package
	ours   string // the staged file that must be there while we are installed
}{
	{"/lib/systemd/system-generators/postfix-instance-generator", "ARCH/postfix-instance-generator"},
	{"/usr/sbin/postmulti", "ARCH/postmulti"},
	{"/usr/share/man/man1/postmulti.1.gz", "common/man/postmulti.1.gz"},
}

// diversions are the ones preinst adds: each merged-/usr file under both
// of its names (see packaging/deb/preinst). No unit: Debian's
// postfix@.service stays, ours is a drop-in on it (templateDropIn).
var diversions = []string{
	"/lib/systemd/system-generators/postfix-instance-generator",
	"/usr/lib/systemd/system-generators/postfix-instance-generator",
	"/usr/sbin/postmulti",
	"/usr/share/man/man1/postmulti.1.gz",
}

const debInContainer = "/root/postfix-instances.deb"

// debianTemplate is Debian 12's postfix@.service, which stays in place;
// templateDropIn is units/postfix@.service installed as a drop-in on it.
const (
	debianTemplate = "/lib/systemd/system/postfix@.service"
	templateDropIn = "/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf"
)

// divertedDir is where preinst moves Debian's files (see packaging/deb/preinst).
const divertedDir = "/usr/lib/postfix-instances/diverted"

func TestDebianInstallWalkthroughRemovePurge(t *testing.T) {
	harness.Require(t)
	deb, stage := buildDeb(t, "deb12")
	s := &session{t: t, c: harness.Boot(t, harness.Options{Release: harness.Bookworm})}
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	s.c.WriteFile(debInContainer, data, 0o644)

	// Debian's files as they are before we touch anything.
	debianSum := map[string]string{debianTemplate: s.md5(debianTemplate)}
	for _, r := range replaced {
		debianSum[r.debian] = s.md5(r.debian)
	}
	s.run("Debian's postfix files are intact before the install", "dpkg", "--verify", "postfix")

	// The seed's default instance is a null client: no listener of its own.
	// postfix-in and postfix-out listen on loopback addresses of their own,
	// which Postfix wants to find on an interface.
	s.run("make the default instance a null client", "postconf", "-e", "master_service_disable = inet")
	s.run("reload the default instance", "systemctl", "reload", "postfix.service")
	for _, a := range []string{"127.0.0.2/32", "127.0.0.3/32"} {
		s.run("add a loopback address", "ip", "address", "add", a, "dev", "lo")
	}

	// --- install ---------------------------------------------------------
	s.run("apt-get install the package", "env", "DEBIAN_FRONTEND=noninteractive",
		"apt-get", "install", "-y", debInContainer)
	s.checkInstalled(stage, debianSum)
	// Installing the same version again runs preinst with "upgrade": the
	// diversions must survive unchanged.
	s.run("reinstall the package (preinst upgrade)", "env", "DEBIAN_FRONTEND=noninteractive",
		"apt-get", "install", "-y", "--reinstall", debInContainer)
	s.checkInstalled(stage, debianSum)
	// A postfix upgrade (here: reinstalling the same version) unpacks
	// Debian's files again: they must go to the diverted paths, ours stay.
	pf := postfixDeb(t, strings.TrimSpace(s.run("postfix version", "dpkg-query", "-W", "-f", "${Version}", "postfix")))
	pfData, err := os.ReadFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	s.c.WriteFile("/root/postfix.deb", pfData, 0o644)
	s.run("reinstall Debian's postfix over the diversions", "env", "DEBIAN_FRONTEND=noninteractive",
		"dpkg", "-i", "/root/postfix.deb")
	s.checkInstalled(stage, debianSum)

	// --- the walk-through, typed as MULTI_INSTANCE_README shows it ---------
	// Each instance's own settings (the README's "typical additions", here
	// for a test: postfix-in relays everything to postfix-out, which
	// delivers to a local mailbox) go in with one "postmulti -x postconf -e";
	// then the README's lines, character for character.
	s.run("create a mailbox user", "useradd", "--create-home", "mailtest")
	s.run("walk-through", "postmulti", "-e", "init")
	s.run("walk-through", "postmulti", "-I", "postfix-out", "-G", "mta", "-e", "create")
	s.run("walk-through", "postmulti", "-i", "postfix-out", "-x", "postconf", "-e",
		"inet_interfaces = 127.0.0.3", "inet_protocols = ipv4",
		"myhostname = out.pfi-test", "mydestination = localhost",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination")
	s.run("walk-through", "postmulti", "-i", "postfix-out", "-x", "postconf", "-e",
		"master_service_disable =", "authorized_submit_users = root")
	s.run("walk-through", "postmulti", "-i", "postfix-out", "-e", "enable")
	s.run("walk-through", "postmulti", "-i", "postfix-out", "-p", "start")
	s.run("walk-through", "postmulti", "-I", "postfix-in", "-G", "mta", "-e", "create")
	s.run("walk-through", "postmulti", "-i", "postfix-in", "-x", "postconf", "-e",
		"inet_interfaces = 127.0.0.2", "inet_protocols = ipv4",
		"myhostname = in.pfi-test", "mydestination =", "relayhost = [127.0.0.3]",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination")
	s.run("walk-through", "postmulti", "-i", "postfix-in", "-x", "postconf", "-e",
		"master_service_disable =", "authorized_submit_users = root")
	s.run("walk-through", "postmulti", "-i", "postfix-in", "-e", "enable")
	s.run("walk-through", "postmulti", "-i", "postfix-in", "-p", "start")

	for _, u := range []string{"postfix@postfix-out.service", "postfix@postfix-in.service"} {
		s.wantActive(u, "active")
		s.wantOurTemplate(u)
	}
	s.mailFlows("after postmulti -p start", "in.pfi-test", "out.pfi-test")
	// The default instance, started by Debian's template at boot, comes
	// back under ours (configure-instance.sh with /etc/postfix included).
	s.run("restart the default instance", "systemctl", "restart", "postfix@-.service")
	s.wantActive("postfix@-.service", "active")

	s.run("stop the group", "systemctl", "stop", "postfix-mta.target")
	for _, i := range []string{"postfix-in", "postfix-out"} {
		s.wantActive("postfix@"+i+".service", "inactive")
		if res, err := s.c.Exec("postfix", "-c", "/etc/"+i, "status"); err == nil {
			t.Fatalf("after systemctl stop postfix-mta.target, %s still has a master: %s", i, res.Stdout+res.Stderr)
		}
	}
	s.run("start the group", "systemctl", "start", "postfix-mta.target")
	for _, u := range []string{"postfix@postfix-out.service", "postfix@postfix-in.service"} {
		s.wantActive(u, "active")
	}
	s.mailFlows("after systemctl start postfix-mta.target", "in.pfi-test", "out.pfi-test")

	// --- postfix upgraded to a version that ships /lib files under /usr/lib
	// (trixie's layout; here Debian 12's package repacked so): the
	// diversions follow the new name, and removal works afterwards.
	up, err := os.ReadFile(usrLibPostfixDeb(t, pf))
	if err != nil {
		t.Fatal(err)
	}
	s.c.WriteFile("/root/postfix-usrlib.deb", up, 0o644)
	s.run("upgrade postfix to a build with /lib moved to /usr/lib", "env", "DEBIAN_FRONTEND=noninteractive",
		"dpkg", "-i", "/root/postfix-usrlib.deb")
	if got := s.postfixName(replaced[0].debian); !strings.HasPrefix(got, "/usr/lib/") {
		t.Fatalf("the repacked postfix still ships %s", got)
	}
	s.checkInstalled(stage, debianSum)
	s.mailFlows("after the postfix upgrade", "in.pfi-test", "out.pfi-test")

	// --- remove: Debian's files and units are back --------------------------
	s.run("apt-get remove the package", "env", "DEBIAN_FRONTEND=noninteractive",
		"apt-get", "remove", "-y", "postfix-instances")
	s.checkDebianBack(debianSum)
	// Debian's units run the instances again: its generator wants every
	// instance, its template starts them with Debian's postmulti.
	s.run("restart postfix with Debian's units", "systemctl", "restart", "postfix.service")
	for _, u := range []string{"postfix@-.service", "postfix@postfix-out.service", "postfix@postfix-in.service"} {
		s.wantActive(u, "active")
		if exec := s.c.Show(u, "ExecStart")["ExecStart"]; !strings.Contains(exec, "/usr/sbin/postmulti") {
			t.Fatalf("after removal %s should run Debian's template (postmulti -i %%i -p start), ExecStart=%s", u, exec)
		}
	}
	s.mailFlows("with Debian's units after removal", "in.pfi-test", "out.pfi-test")

	// --- purge from installed: nothing left behind ---------------------------
	s.run("install the package again", "env", "DEBIAN_FRONTEND=noninteractive",
		"apt-get", "install", "-y", debInContainer)
	s.checkInstalled(stage, debianSum)
	s.run("apt-get purge the package", "env", "DEBIAN_FRONTEND=noninteractive",
		"apt-get", "purge", "-y", "postfix-instances")
	s.checkDebianBack(debianSum)
	s.checkNothingLeft(deb)
}

// postfixDeb returns Debian's postfix package of the given version (the
// one installed in the container's tree), downloaded once with apt-get into
// the harness cache.
func postfixDeb(t *testing.T, version string) string {
	t.Helper()
	return cachedPostfixDeb(t, version, func(dir string) {
		download := func() ([]byte, error) {
			cmd := exec.Command("apt-get", "-o", "APT::Sandbox::User=root", "download", "postfix="+version)
			cmd.Dir = dir
			return cmd.CombinedOutput()
		}
		if _, err := download(); err != nil {
			// A fresh machine may have no package lists yet.
			if out, err := exec.Command("apt-get", "update", "-qq").CombinedOutput(); err != nil {
				t.Fatalf("apt-get update (to download postfix=%s): %v\n%s", version, err, out)
			}
			if out, err := download(); err != nil {
				t.Fatalf("apt-get download postfix=%s (needed to test a postfix upgrade under the diversions): %v\n%s", version, err, out)
			}
		}
	})
}

// poolPostfixDeb is postfixDeb for a release this machine's apt sources do
// not know (Debian 13, sid): postfix_VERSION_ARCH.deb from the pool of the
// mirror the harness bootstraps from, downloaded once into the harness cache.
func poolPostfixDeb(t *testing.T, version string) string {
	t.Helper()
	return cachedPostfixDeb(t, version, func(dir string) {
		mirror, err := harness.Mirror("/etc/apt")
		if err != nil {
			t.Fatal(err)
		}
		name := "postfix_" + version + "_" + runtime.GOARCH + ".deb"
		url := strings.TrimSuffix(mirror, "/") + "/pool/main/p/postfix/" + name
		tmp := filepath.Join(dir, name+".part")
		if out, err := exec.Command("curl", "-fsSL", "--retry", "2", "-o", tmp, url).CombinedOutput(); err != nil {
			t.Fatalf("download %s (Debian's postfix, to test a postfix reinstall under the diversions): %v\n%s", url, err, out)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	})
}

// cachedPostfixDeb returns postfix VERSION's .deb from the harness cache's
// debs directory, calling fetch(dir) to put it there first if it is not.
func cachedPostfixDeb(t *testing.T, version string, fetch func(dir string)) string {
	t.Helper()
	dir := filepath.Join(harness.CacheDir(), "debs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	find := func() string {
		debs, _ := filepath.Glob(filepath.Join(dir, "postfix_*.deb"))
		for _, d := range debs {
			if out, err := exec.Command("dpkg-deb", "-f", d, "Version").Output(); err == nil &&
				strings.TrimSpace(string(out)) == version {
				return d
			}
		}
		return ""
	}
	if d := find(); d != "" {
		return d
	}
	fetch(dir)
	d := find()
	if d == "" {
		t.Fatalf("fetching postfix %s left no such package in %s", version, dir)
	}
	return d
}

// buildDeb builds the .deb of one flavour (deb12, deb13) for this
// machine's architecture into a temporary directory and returns it and the
// staging directory the build used.
func buildDeb(t *testing.T, flavour string) (deb, stage string) {
	t.Helper()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "build-packages.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PKG_DIST="+dist, "PKG_ARCHES="+runtime.GOARCH, "PKG_FORMATS=deb",
		"PKG_DEB_FLAVOURS="+flavour)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-packages.sh: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("scripts/build-packages.sh made %d .deb files in %s, want 1", len(debs), dist)
	}
	return debs[0], filepath.Join(dist, "stage")
}

type session struct {
	t *testing.T
	c *harness.Container
}

// run runs a command inside and fails the test, naming the step, when it
// does not exit 0.
func (s *session) run(step string, args ...string) string {
	s.t.Helper()
	res, err := s.c.Exec(args...)
	if err != nil {
		s.t.Fatalf("%s: %v\nstdout:\n%s", step, err, res.Stdout)
	}
	return res.Stdout
}

// md5 is the MD5 sum of a file inside the container, "" when it is missing.
func (s *session) md5(path string) string {
	s.t.Helper()
	res, err := s.c.Exec("md5sum", path)
	if err != nil {
		return ""
	}
	return strings.Fields(res.Stdout)[0]
}

func hostMD5(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// ourDiversions lists the diversions held by postfix-instances, sorted.
func (s *session) ourDiversions() []string {
	s.t.Helper()
	var got []string
	for _, line := range strings.Split(s.run("list diversions", "dpkg-divert", "--list"), "\n") {
		if strings.HasSuffix(line, " by postfix-instances") {
			got = append(got, line)
		}
	}
	slices.Sort(got)
	return got
}

func (s *session) checkInstalled(stage string, debianSum map[string]string) {
	s.t.Helper()
	var want []string
	for _, d := range diversions {
		want = append(want, fmt.Sprintf("diversion of %s to %s%s by postfix-instances", d, divertedDir, d))
	}
	slices.Sort(want)
	if got := s.ourDiversions(); !slices.Equal(got, want) {
		s.t.Fatalf("diversions after install:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range replaced {
		ours := hostMD5(s.t, filepath.Join(stage, strings.Replace(r.ours, "ARCH", runtime.GOARCH, 1)))
		if got := s.md5(r.debian); got != ours {
			s.t.Fatalf("after install %s has MD5 %q, want ours (%s)", r.debian, got, ours)
		}
		// Debian's file is diverted under the name postfix ships it as now.
		name := s.postfixName(r.debian)
		if got := s.md5(divertedDir + name); got != debianSum[r.debian] {
			s.t.Fatalf("after install %s%s has MD5 %q, want Debian's file (%s)", divertedDir, name, got, debianSum[r.debian])
		}
	}
	// Debian's template is untouched; ours is the drop-in on it.
	if got := s.md5(debianTemplate); got != debianSum[debianTemplate] {
		s.t.Fatalf("after install %s has MD5 %q, want Debian's (%s): units must not be diverted or replaced", debianTemplate, got, debianSum[debianTemplate])
	}
	if got, ours := s.md5(templateDropIn), hostMD5(s.t, filepath.Join(stage, "common/units/postfix@.service")); got != ours {
		s.t.Fatalf("after install %s has MD5 %q, want units/postfix@.service (%s)", templateDropIn, got, ours)
	}
	// systemd runs every executable in a generator directory: Debian's
	// generator must not be left there under another name.
	gens := s.run("list generators", "ls", "/usr/lib/systemd/system-generators")
	for _, g := range strings.Fields(gens) {
		if strings.HasPrefix(g, "postfix") && g != "postfix-instance-generator" {
			s.t.Fatalf("after install the generator directory also holds %s, which systemd would run", g)
		}
	}
	// dpkg checks postfix's files where the diversions put them.
	s.run("Debian's postfix files are intact where they were diverted", "dpkg", "--verify", "postfix")
	for _, u := range []string{"postfix@-.service"} {
		s.wantOurTemplate(u)
	}
}

// wantOurTemplate checks that a unit runs our template with Debian's chroot
// preparation drop-in.
func (s *session) wantOurTemplate(unit string) {
	s.t.Helper()
	p := s.c.Show(unit, "ExecStart", "ExecStartPre", "DropInPaths", "FragmentPath", "CapabilityBoundingSet")
	if p["FragmentPath"] != debianTemplate {
		s.t.Fatalf("%s comes from %s, want Debian's template %s (with our drop-in)", unit, p["FragmentPath"], debianTemplate)
	}
	if !strings.Contains(p["DropInPaths"], templateDropIn) {
		s.t.Fatalf("%s runs without our drop-in %s: DropInPaths=%s", unit, templateDropIn, p["DropInPaths"])
	}
	if strings.Contains(p["ExecStart"]+p["ExecStartPre"], "postmulti") {
		s.t.Fatalf("%s still runs Debian's postmulti -p: ExecStartPre=%s ExecStart=%s", unit, p["ExecStartPre"], p["ExecStart"])
	}
	if p["CapabilityBoundingSet"] != "cap_chown cap_dac_override cap_dac_read_search cap_setgid cap_setuid cap_net_bind_service cap_sys_chroot" {
		s.t.Fatalf("%s is not confined as units/postfix@.service says: CapabilityBoundingSet=%s", unit, p["CapabilityBoundingSet"])
	}
	if !strings.Contains(p["ExecStart"], "/usr/sbin/postfix -c") {
		s.t.Fatalf("%s does not run our template (postfix -c DIR start): ExecStart=%s", unit, p["ExecStart"])
	}
	if !strings.Contains(p["ExecStartPre"], "/usr/lib/postfix/configure-instance.sh") {
		s.t.Fatalf("%s does not run Debian's configure-instance.sh before starting: ExecStartPre=%s DropInPaths=%s",
			unit, p["ExecStartPre"], p["DropInPaths"])
	}
}

func (s *session) wantActive(unit, state string) {
	s.t.Helper()
	s.c.Eventually(unit+" "+state, 30*time.Second, func() (bool, error) {
		res, _ := s.c.Exec("systemctl", "is-active", unit)
		return strings.TrimSpace(res.Stdout) == state, nil
	})
}

var mails int

// mailFlows sends a message to postfix-in and waits for it in the local
// mailbox that postfix-out delivers to, having passed both instances.
func (s *session) mailFlows(when string, via ...string) {
	s.t.Helper()
	mails++
	subject := fmt.Sprintf("pfi-package-test %d %s", mails, when)
	s.run("send mail to postfix-in "+when, "swaks", "--silent", "2",
		"--server", "127.0.0.2", "--from", "sender@pfi-test", "--to", "mailtest@localhost",
		"--header", "Subject: "+subject)
	s.c.Eventually("mail delivered "+when, time.Minute, func() (bool, error) {
		res, _ := s.c.Exec("grep", "-cF", subject, "/var/mail/mailtest")
		return strings.TrimSpace(res.Stdout) == "1", nil
	})
	box := s.run("read the mailbox", "cat", "/var/mail/mailtest")
	msg := box[strings.LastIndex(box, "\nFrom ")+1:]
	for _, host := range via {
		if !strings.Contains(msg, "by "+host) {
			s.t.Fatalf("mail %s did not pass %s:\n%s", when, host, msg)
		}
	}
}

func (s *session) checkDebianBack(debianSum map[string]string) {
	s.t.Helper()
	if got := s.ourDiversions(); len(got) != 0 {
		s.t.Fatalf("diversions left after removal:\n%s", strings.Join(got, "\n"))
	}
	for path, sum := range debianSum {
		if got := s.md5(path); got != sum {
			s.t.Fatalf("after removal %s has MD5 %q, want Debian's (%s)", path, got, sum)
		}
	}
	if _, err := s.c.Exec("test", "-e", templateDropIn); err == nil {
		s.t.Fatalf("after removal our drop-in %s is still there", templateDropIn)
	}
	if _, err := s.c.Exec("test", "-e", "/usr/lib/postfix-instances"); err == nil {
		s.t.Fatalf("after removal /usr/lib/postfix-instances (where Debian's files were diverted to) still exists:\n%s",
			s.run("list it", "find", "/usr/lib/postfix-instances"))
	}
	s.run("Debian's postfix files are intact after removal", "dpkg", "--verify", "postfix")
}

// checkNothingLeft checks that after purge dpkg forgot the package and no
// file it shipped remains, except Debian's own restored ones.
func (s *session) checkNothingLeft(deb string) {
	s.t.Helper()
	var restored []string
	for _, r := range replaced {
		restored = append(restored, r.debian, "/usr"+r.debian)
	}
	s.checkNothingLeftOf(deb, restored)
}

// checkNothingLeftOf is checkNothingLeft with the paths of Debian's files
// that were diverted and are back.
func (s *session) checkNothingLeftOf(deb string, debians []string) {
	s.t.Helper()
	if res, err := s.c.Exec("dpkg-query", "-W", "-f", "${db:Status-Status}", "postfix-instances"); err == nil &&
		strings.TrimSpace(res.Stdout) != "not-installed" {
		s.t.Fatalf("after purge dpkg still knows postfix-instances: %s", res.Stdout)
	}
	if out := s.run("dpkg's database", "bash", "-c", "ls /var/lib/dpkg/info/postfix-instances.* 2>/dev/null || true"); out != "" {
		s.t.Fatalf("after purge dpkg keeps files of postfix-instances:\n%s", out)
	}
	list, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		s.t.Fatalf("dpkg-deb --fsys-tarfile %s: %v", deb, err)
	}
	names, err := tarFiles(list)
	if err != nil {
		s.t.Fatal(err)
	}
	restored := map[string]bool{}
	for _, d := range debians {
		restored[d] = true
	}
	for _, name := range names {
		if restored[name] {
			continue
		}
		if _, err := s.c.Exec("test", "-e", name); err == nil {
			s.t.Errorf("after purge %s is still there", name)
		}
	}
}

// postfixName is the name under which dpkg lists path for postfix: path
// itself, or its /usr alias after a postfix that moved it from /lib.
func (s *session) postfixName(path string) string {
	s.t.Helper()
	list := "\n" + s.run("dpkg -L postfix", "dpkg-query", "-L", "postfix") + "\n"
	if strings.HasPrefix(path, "/lib/") && strings.Contains(list, "\n/usr"+path+"\n") {
		return "/usr" + path
	}
	return path
}

// usrLibPostfixDeb repacks Debian's postfix package as the next version
// with its /lib files moved under /usr/lib, as trixie's postfix ships them:
// a postfix upgrade that renames files dpkg has diverted.
func usrLibPostfixDeb(t *testing.T, deb string) string {
	t.Helper()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	sh := `set -e
dpkg-deb -R "$1" "$2"
cd "$2"
test -d lib/systemd
mkdir -p usr/lib
cp -a lib/systemd usr/lib/
rm -rf lib
sed -i 's#^\([0-9a-f]*\)  lib/#\1  usr/lib/#' DEBIAN/md5sums
sed -i 's/^Version: .*/&+pfi1/' DEBIAN/control
cd ..
dpkg-deb -b "$2" "$3" >/dev/null`
	out := filepath.Join(dir, "postfix-usrlib.deb")
	if o, err := exec.Command("bash", "-c", sh, "repack", deb, tree, out).CombinedOutput(); err != nil {
		t.Fatalf("repack %s with /lib moved to /usr/lib: %v\n%s", deb, err, o)
	}
	return out
}
