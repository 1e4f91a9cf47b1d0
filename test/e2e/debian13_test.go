package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// TestDebian13Walkthrough is the walk-through on Debian 13's unit layout
// (trixie in make test, sid in make test-sid), with the package built for
// it installed by apt-get as a user installs it: the instances typed with
// postmulti as the seed shows them, running under Debian 13's names
// (postfix.service, postfix@out, postfix@in), mail through postfix-in, the
// filter and postfix-out, the group target, a master killed, a reboot
// bringing up exactly the enabled instances in order, Debian's own
// commands with Debian's meaning, and a purge that gives Debian its files
// back.
func TestDebian13Walkthrough(t *testing.T) {
	harness.Require(t)
	releases, err := harness.SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	for _, r := range releases {
		n := NamesFor(r)
		if !n.Debian13 {
			continue // Debian 12: TestDemo and the install test
		}
		ran = true
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			walkDebian13(t, n)
		})
	}
	if !ran {
		t.Skipf("%s=%s selects no release with Debian 13's layout", harness.ReleaseEnv, releases)
	}
}

func walkDebian13(t *testing.T, n Names) {
	start := time.Now()
	deb, err := BuildDebFor(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	smtptool := harness.MustBuildGo(t, "./test/e2e/smtptool")
	c := harness.Boot(t, harness.Options{Release: n.Release, Files: Scaffolding(smtptool), Kmsg: true})
	w := &Walk{C: c, Names: n, Typed: func(args []string, _ string) { t.Logf("# %s", strings.Join(args, " ")) }}
	instances := append(append([]Instance(nil), Walkthrough...), postfixOff)
	def, out, in, off := n.Default(), n.Unit("postfix-out"), n.Unit("postfix-in"), n.Unit("postfix-off")
	group := n.Group("mta")
	if verify := c.Run("dpkg", "--verify", "postfix"); verify != "" {
		t.Fatalf("Debian's postfix files differ from its package before the install:\n%s", verify)
	}

	step(t, "apt-get install the package; the instances laid out with postmulti", func(t *testing.T) {
		w.InstallDeb(t, deb)
		w.RestartPostfix(t)
		w.Layout(t, instances)
		list := w.Type(t, "", "postmulti", "-l", "-a")
		for _, want := range []string{"postfix-out     mta             y         /etc/postfix-out", "postfix-in      mta             y         /etc/postfix-in",
			"postfix-off     mta             n         /etc/postfix-off"} {
			if !strings.Contains(list, want) {
				t.Errorf("postmulti -l -a lacks %q:\n%s", want, list)
			}
		}
	})

	step(t, "systemctl start "+group+" starts "+out+" before "+in, func(t *testing.T) {
		w.StartGroup(t, group, out, in)
		RequireMastersIn(t, c, def, out, in)
	})

	step(t, "a message to postfix-in reaches the sink through the filter and postfix-out", func(t *testing.T) {
		w.SendTo(t, "alice@example.com", "bob@example.com")
	})

	step(t, "kill -9 of a master: systemd restarts it and mail flows again", func(t *testing.T) {
		for _, u := range []string{out, def} {
			r := w.KillMaster(t, u)
			t.Logf("%s was back %s after SIGKILL to its master", u, r.Back.Round(100*time.Millisecond))
		}
		// Restarting the default instance may restart the secondaries
		// (Debian's PartOf=postfix.service): wait for them.
		for _, u := range []string{out, in} {
			c.Eventually(u+" active", 30*time.Second, func() (bool, error) {
				_, err := CheckActive(c, u)
				return err == nil, err
			})
		}
		w.SendTo(t, "carol@example.com")
	})

	step(t, "systemctl stop "+group+" stops "+in+" before "+out, func(t *testing.T) {
		w.StopGroup(t, group, out, in)
		requireActive(t, c, def)
		RequireMastersIn(t, c, def)
	})

	step(t, "a reboot brings up exactly the enabled instances, in order, the default one last", func(t *testing.T) {
		c.Reboot()
		order := n.BootOrder(instances)
		CheckUpInOrder(t, c, order)
		requireNotRunning(t, c, off)
		RequireMastersIn(t, c, order...)
		w.SendTo(t, "dave@example.com")
	})

	step(t, "systemctl reload postfix reloads every instance", func(t *testing.T) {
		dirs := map[string]string{def: "/etc/postfix", out: ConfigDir("postfix-out"), in: ConfigDir("postfix-in")}
		pids, before := map[string]string{}, map[string]int{}
		for u, dir := range dirs {
			pids[u] = requireActive(t, c, u)["MainPID"]
			before[u] = reloadLines(c, dir)
		}
		w.Type(t, "", "systemctl", "reload", "postfix")
		for u, dir := range dirs {
			c.Eventually(u+"'s master logging a reload of "+dir, 15*time.Second, func() (bool, error) {
				return reloadLines(c, dir) > before[u], nil
			})
			if p := requireActive(t, c, u); p["MainPID"] != pids[u] {
				t.Errorf("%s: master PID changed from %s to %s on reload", u, pids[u], p["MainPID"])
			}
		}
	})

	step(t, "systemctl stop postfix stops every instance, systemctl start postfix starts the enabled ones", func(t *testing.T) {
		stopAll(t, w, def, out, in)
		w.Type(t, "", "systemctl", "start", "postfix")
		for _, u := range []string{def, out, in} {
			requireActive(t, c, u)
		}
		requireNotRunning(t, c, off)
		RequireMastersIn(t, c, def, out, in)
	})

	step(t, "postfix -c "+ConfigDir("postfix-out")+" start goes to "+out, func(t *testing.T) {
		w.Type(t, "", "systemctl", "stop", out)
		requireNotRunning(t, c, out)
		w.Type(t, "Debian's postfix-script hands the start to systemd", "postfix", "-c", ConfigDir("postfix-out"), "start")
		requireActive(t, c, out)
		RequireMastersIn(t, c, def, out, in)
		w.SendTo(t, "erin@example.com")
	})

	step(t, "postfix start goes to "+def, func(t *testing.T) {
		stopAll(t, w, def, out, in)
		w.Type(t, "Debian's postfix-script hands the start to systemd", "postfix", "start")
		c.Eventually(def+" active", 30*time.Second, func() (bool, error) {
			_, err := CheckActive(c, def)
			return err == nil, err
		})
		// postfix.service wants the enabled instances (the generator's
		// links), as at boot.
		for _, u := range []string{out, in} {
			requireActive(t, c, u)
		}
		RequireMastersIn(t, c, def, out, in)
	})

	step(t, "systemctl enable --now "+off+" runs "+ConfigDir("postfix-off"), func(t *testing.T) {
		w.Type(t, "", "systemctl", "enable", "--now", off)
		p := requireActive(t, c, off)
		if !strings.Contains(p["DropInPaths"], "/"+off+".d/50-instance.conf") {
			t.Errorf("%s runs without the generator's drop-in: %s", off, p["DropInPaths"])
		}
		RequireMastersIn(t, c, def, out, in, off)
		w.SendTo(t, "frank@example.com")
	})

	step(t, "apt-get purge gives Debian its files back and leaves no diversion", func(t *testing.T) {
		w.Type(t, "", "apt-get", "purge", "-y", "postfix-instances")
		if res, err := c.Exec("dpkg-query", "-W", "-f", "${Status}", "postfix-instances"); err == nil && !strings.HasPrefix(res.Stdout, "unknown") && !strings.Contains(res.Stdout, "not-installed") {
			t.Errorf("after purge, dpkg says postfix-instances is %q", res.Stdout)
		}
		if diverts := c.Run("dpkg-divert", "--list"); strings.Contains(diverts, "postfix") {
			t.Errorf("after purge, diversions are left:\n%s", diverts)
		}
		if verify := c.Run("dpkg", "--verify", "postfix"); verify != "" {
			t.Errorf("after purge, Debian's postfix files differ from its package:\n%s", verify)
		}
		for _, f := range n.DropIns {
			if _, err := c.Exec("test", "-e", f); err == nil {
				t.Errorf("after purge, %s is still there", f)
			}
		}
		w.Type(t, "", "systemctl", "restart", "postfix")
		p := requireActive(t, c, def)
		if strings.Contains(p["DropInPaths"], "postfix-instances") || strings.Contains(p["DropInPaths"], "/run/systemd/generator/") {
			t.Errorf("after purge, %s still runs with the package's drop-ins: %s", def, p["DropInPaths"])
		}
	})
	t.Logf("the %s walk-through took %s", n.Release, time.Since(start).Round(time.Second))
}

// stopAll types "systemctl stop postfix" and waits for units to stop:
// systemctl returns once postfix.service is down, and Debian's
// secondaries, Before=postfix.service, stop after it.
func stopAll(t *testing.T, w *Walk, units ...string) {
	t.Helper()
	w.Type(t, "", "systemctl", "stop", "postfix")
	w.C.Eventually(strings.Join(units, ", ")+" to stop", 2*time.Minute, func() (bool, error) {
		for _, u := range units {
			if s := UnitProps(w.C, u)["ActiveState"]; s != "inactive" && s != "failed" {
				return false, fmt.Errorf("%s is %s", u, s)
			}
		}
		return true, nil
	})
	for _, u := range units {
		requireNotRunning(t, w.C, u)
	}
	RequireMastersIn(t, w.C)
}
