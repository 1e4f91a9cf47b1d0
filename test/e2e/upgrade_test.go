//go:build upgrade

// The upgrade from Debian 12 to 13 downloads a release's worth of
// packages, so it is not part of make test: make test-upgrade builds this
// file (go test -tags upgrade -run TestUpgradeBookwormToTrixie ./test/e2e).

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// repoDir is the flat repository of our trixie build in the container.
const repoDir = "/root/pfi-repo"

// TestUpgradeBookwormToTrixie is a Debian 12 host running the walk-through
// with our Debian 12 build, upgraded to Debian 13 the way Debian's release
// notes say (sources switched to trixie, apt-get dist-upgrade), with our
// Debian 13 build available from a local repository: apt must take both
// postfix 3.10 and our +deb13 build, no diversion but postmulti's may be
// left, and after a reboot the instances run under Debian 13's names and
// mail flows.
func TestUpgradeBookwormToTrixie(t *testing.T) {
	harness.Require(t)
	start := time.Now()
	old, now := NamesFor(harness.Bookworm), NamesFor(harness.Trixie)
	deb12, err := BuildDebFor(t.TempDir(), old)
	if err != nil {
		t.Fatal(err)
	}
	deb13, err := BuildDebFor(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	tree := harness.TreeOf(t, harness.Bookworm)
	sock := mirrorTunnel(t, tree)
	smtptool := harness.MustBuildGo(t, "./test/e2e/smtptool")
	c := harness.Boot(t, harness.Options{Tree: tree, Files: append(Scaffolding(smtptool), mirrorFiles...), Kmsg: true,
		BindRO: []string{filepath.Dir(sock) + ":" + mirrorSockDir}})
	w := &Walk{C: c, Names: old, Typed: func(args []string, _ string) { t.Logf("# %s", strings.Join(args, " ")) }}
	c.Run("systemctl", "enable", "--now", "pfi-mirror.socket")

	step(t, "Debian 12: our deb12 build, the walk-through running", func(t *testing.T) {
		w.InstallDeb(t, deb12)
		w.RestartPostfix(t)
		w.Layout(t, Walkthrough)
		w.StartGroup(t, old.Group("mta"), old.Unit("postfix-out"), old.Unit("postfix-in"))
		w.SendTo(t, "alice@example.com")
	})

	step(t, "apt-get dist-upgrade to trixie, our deb13 build in a local repository", func(t *testing.T) {
		data, err := os.ReadFile(deb13)
		if err != nil {
			t.Fatal(err)
		}
		c.WriteFile(repoDir+"/"+filepath.Base(deb13), data, 0o644)
		c.WriteFile(repoDir+"/Packages", packagesStanza(t, deb13, data), 0o644)
		c.WriteFile("/etc/apt/sources.list.d/pfi-repo.list", []byte("deb [trusted=yes] file:"+repoDir+" ./\n"), 0o644)
		w.Type(t, "", "sed", "-i", "s/bookworm/trixie/g", "/etc/apt/sources.list")
		if got := c.Run("cat", "/etc/apt/sources.list"); !strings.Contains(got, " trixie") {
			t.Fatalf("/etc/apt/sources.list does not name trixie:\n%s", got)
		}
		w.Type(t, "", "apt-get", "update")
		args := []string{"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-y",
			"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "dist-upgrade"}
		t.Logf("# %s", strings.Join(args, " "))
		t0 := time.Now()
		res, err := c.ExecTimeout(30*time.Minute, args...)
		t.Logf("apt-get dist-upgrade took %s; its last lines:\n%s", time.Since(t0).Round(time.Second), tailLines(res.Stdout, 40))
		if err != nil {
			t.Fatalf("apt-get dist-upgrade: %v\n%s", err, res.Stdout)
		}
	})

	step(t, "postfix 3.10, our deb13 build, only postmulti diverted", func(t *testing.T) {
		if v := c.Run("dpkg-query", "-W", "-f", "${Version}", "postfix"); !strings.HasPrefix(v, "3.10.") {
			t.Errorf("postfix is %s after the upgrade, want 3.10", v)
		}
		if v := c.Run("dpkg-query", "-W", "-f", "${Version} ${Status}", "postfix-instances"); !strings.HasSuffix(v, "+"+now.Flavour+" install ok installed") {
			t.Errorf("postfix-instances is %q after the upgrade, want the +%s build installed", v, now.Flavour)
		}
		diverts := c.Run("dpkg-divert", "--list")
		// Debian's own packages divert files of theirs across the upgrade
		// (usr-is-merged); ours and whatever names Postfix's files are
		// checked.
		for _, l := range strings.Split(strings.TrimSpace(diverts), "\n") {
			if (strings.HasSuffix(l, " by postfix-instances") || strings.Contains(l, "postfix")) && !strings.Contains(l, "postmulti") {
				t.Errorf("a diversion other than postmulti's is left: %s", l)
			}
		}
		for _, f := range now.Diverted {
			if !strings.Contains(diverts, "diversion of "+f+" to ") {
				t.Errorf("%s is not diverted after the upgrade:\n%s", f, diverts)
			}
		}
		if verify := c.Run("dpkg", "--verify", "postfix"); strings.Contains(verify, "postfix-instance-generator") {
			t.Errorf("Debian's postfix files differ from its package:\n%s", verify)
		}
		w.Type(t, "", "systemctl", "daemon-reload")
		t.Logf("after daemon-reload:\n%s", c.Run("systemctl", "list-units", "--all", "--plain", "--no-legend", "postfix*"))
	})

	step(t, "after a reboot the instances run under Debian 13's names and mail flows", func(t *testing.T) {
		c.Reboot()
		w.Names = now
		if rel := c.Run("cat", "/etc/debian_version"); !strings.HasPrefix(rel, "13.") {
			t.Errorf("/etc/debian_version is %q, want 13.x", strings.TrimSpace(rel))
		}
		order := now.BootOrder(Walkthrough)
		CheckUpInOrder(t, c, order)
		RequireMastersIn(t, c, order...)
		w.SendTo(t, "bob@example.com")
		w.StopGroup(t, now.Group("mta"), now.Unit("postfix-out"), now.Unit("postfix-in"))
		w.StartGroup(t, now.Group("mta"), now.Unit("postfix-out"), now.Unit("postfix-in"))
		w.SendTo(t, "carol@example.com")
	})
	t.Logf("the upgrade test took %s", time.Since(start).Round(time.Second))
}

// packagesStanza is the Packages index of a flat repository holding the
// one .deb data, named by deb's base name: its control fields (dpkg-deb
// -f) plus Filename, Size and SHA256.
func packagesStanza(t *testing.T, deb string, data []byte) []byte {
	t.Helper()
	ctl, err := exec.Command("dpkg-deb", "-f", deb).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		t.Fatalf("dpkg-deb -f %s: %v", deb, err)
	}
	sum := sha256.Sum256(data)
	var b bytes.Buffer
	b.Write(bytes.TrimRight(ctl, "\n"))
	fmt.Fprintf(&b, "\nFilename: ./%s\nSize: %d\nSHA256: %s\n", filepath.Base(deb), len(data), hex.EncodeToString(sum[:]))
	return b.Bytes()
}
