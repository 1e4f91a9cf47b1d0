package installtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// legacyRev is the last commit whose .deb diverted Debian's
// postfix@.service (both of its names) and installed a template of its own
// there; later builds install a drop-in on Debian's template instead.
const legacyRev = "fb5a6557e54366dd2c075a641472183c876f149d"

// buildLegacyDeb builds the .deb of legacyRev (from git archive, as a
// version below every later build) for this machine's architecture.
func buildLegacyDeb(t *testing.T) string {
	t.Helper()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, dist := t.TempDir(), t.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "archive", root, legacyRev, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s (the build that diverted postfix@.service; a clone with full history is needed): %v\n%s", legacyRev, err, out)
	}
	cmd := exec.Command("bash", "scripts/build-packages.sh")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "PKG_DIST="+dist, "PKG_ARCHES="+runtime.GOARCH, "PKG_FORMATS=deb",
		"PKG_VERSION=0.0.0~git0.legacy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the .deb of %s: %v\n%s", legacyRev, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("the build of %s made %d .deb files, want 1", legacyRev, len(debs))
	}
	return debs[0]
}

// TestDebianUpgradeFromTemplateDiversion upgrades from a build that
// diverted Debian's postfix@.service to this one: the template's
// diversions are gone, Debian's template is back byte for byte under its
// own name and runs the instances with our drop-in; removal then leaves no
// diversion at all.
func TestDebianUpgradeFromTemplateDiversion(t *testing.T) {
	harness.Require(t)
	legacy := buildLegacyDeb(t)
	deb, stage := buildDeb(t, "deb12")
	s := &session{t: t, c: harness.Boot(t, harness.Options{Release: harness.Bookworm})}
	for host, guest := range map[string]string{legacy: "/root/legacy.deb", deb: debInContainer} {
		data, err := os.ReadFile(host)
		if err != nil {
			t.Fatal(err)
		}
		s.c.WriteFile(guest, data, 0o644)
	}
	debianSum := map[string]string{debianTemplate: s.md5(debianTemplate)}
	for _, r := range replaced {
		debianSum[r.debian] = s.md5(r.debian)
	}

	s.run("install the legacy build", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "/root/legacy.deb")
	div := strings.Join(s.ourDiversions(), "\n")
	for _, name := range []string{"/lib/systemd/system/postfix@.service", "/usr/lib/systemd/system/postfix@.service"} {
		if !strings.Contains(div, "diversion of "+name+" ") {
			t.Fatalf("the legacy build did not divert %s; diversions:\n%s", name, div)
		}
	}
	if got := s.md5(divertedDir + debianTemplate); got != debianSum[debianTemplate] {
		t.Fatalf("legacy build: Debian's template not at %s%s (MD5 %q)", divertedDir, debianTemplate, got)
	}

	s.run("upgrade to this build", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", debInContainer)
	s.checkInstalled(stage, debianSum)
	s.run("restart the default instance", "systemctl", "restart", "postfix@-.service")
	s.wantActive("postfix@-.service", "active")
	s.wantOurTemplate("postfix@-.service")

	s.run("apt-get remove the package", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "remove", "-y", "postfix-instances")
	s.checkDebianBack(debianSum)
}
