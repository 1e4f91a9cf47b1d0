package e2e

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// TestDebian13Walkthrough is the walk-through on Debian 13's unit layout
// (trixie in make test, sid in make test-sid), with the package built for
// it installed by apt-get as a user installs it: the instances typed with
// postmulti as the seed shows them, running under Debian 13's names
// (postfix.service, postfix@out, postfix@in), mail through postfix-in, the
// filter and postfix-out, the group target, a master killed, a reboot
// bringing up exactly the enabled instances in order, Debian's own
// commands with Debian's meaning, and a purge that gives Debian its files
// back. An instance outside /etc/postfix-* (postfix-srv in /srv/mta/srv,
// in the mta group after postfix-in) goes through the same steps under our
// postfix-dir@.service, with postmulti -p stop and start of its own; a
// nameless one in /srv/mta/anon joins at the end, before a postmulti -p
// stop of every instance.
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
	w, deb := bootDebian13(t, n)
	c := w.C
	instances := append(append([]Instance(nil), Walkthrough...), postfixOff, postfixSrv)
	def, out, in, off := n.Default(), n.Unit("postfix-out"), n.Unit("postfix-in"), n.Unit("postfix-off")
	srv, anon := n.UnitOf(postfixSrv), n.UnitOf(postfixAnon) // postfix-dir@.service
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
			"postfix-off     mta             n         /etc/postfix-off", "postfix-srv     mta             y         " + postfixSrv.Dir} {
			if !strings.Contains(list, want) {
				t.Errorf("postmulti -l -a lacks %q:\n%s", want, list)
			}
		}
	})

	step(t, "systemctl start "+group+" starts "+out+", "+in+" and "+srv+" in that order", func(t *testing.T) {
		w.StartGroup(t, group, out, in, srv)
		RequireMastersIn(t, c, def, out, in, srv)
	})

	step(t, "a message to postfix-in reaches the sink through the filter and postfix-out", func(t *testing.T) {
		w.SendTo(t, "alice@example.com", "bob@example.com")
	})

	step(t, srv+" runs "+postfixSrv.Dir+" with postfix-dir@.service; postmulti -i postfix-srv -p stop|start", func(t *testing.T) {
		requireDirUnit(t, w, postfixSrv, srv)
		pid := requireMasterMainPID(t, w, postfixSrv, srv)
		sendVia(t, w, postfixSrv, "grace@example.com")
		w.Type(t, "", "postmulti", "-i", postfixSrv.Selector(), "-p", "stop")
		requireNotRunning(t, c, srv)
		RequireMastersIn(t, c, def, out, in)
		w.Type(t, "", "postmulti", "-i", postfixSrv.Selector(), "-p", "start")
		if again := requireMasterMainPID(t, w, postfixSrv, srv); again == pid {
			t.Errorf("%s: MainPID %s after postmulti -p stop and start, the master before the stop", srv, pid)
		}
		RequireMastersIn(t, c, def, out, in, srv)
	})

	step(t, "kill -9 of a master: systemd restarts it and mail flows again", func(t *testing.T) {
		for _, u := range []string{out, srv, def} {
			r := w.KillMaster(t, u)
			t.Logf("%s was back %s after SIGKILL to its master", u, r.Back.Round(100*time.Millisecond))
		}
		// Restarting the default instance may restart the secondaries
		// (Debian's PartOf=postfix.service): wait for them.
		for _, u := range []string{out, in, srv} {
			c.Eventually(u+" active", 30*time.Second, func() (bool, error) {
				_, err := CheckActive(c, u)
				return err == nil, err
			})
		}
		w.SendTo(t, "carol@example.com")
		requireMasterMainPID(t, w, postfixSrv, srv)
	})

	step(t, "systemctl stop "+group+" stops "+srv+", "+in+" and "+out+" in that order", func(t *testing.T) {
		w.StopGroup(t, group, out, in, srv)
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
		requireMasterMainPID(t, w, postfixSrv, srv)
	})

	step(t, "systemctl reload postfix reloads every instance", func(t *testing.T) {
		dirs := map[string]string{def: "/etc/postfix", out: ConfigDir("postfix-out"), in: ConfigDir("postfix-in"), srv: postfixSrv.Dir}
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
		stopAll(t, w, def, out, in, srv)
		w.Type(t, "", "systemctl", "start", "postfix")
		for _, u := range []string{def, out, in, srv} {
			requireActive(t, c, u)
		}
		requireNotRunning(t, c, off)
		RequireMastersIn(t, c, def, out, in, srv)
	})

	step(t, "postfix -c "+ConfigDir("postfix-out")+" start goes to "+out, func(t *testing.T) {
		w.Type(t, "", "systemctl", "stop", out)
		requireNotRunning(t, c, out)
		w.Type(t, "Debian's postfix-script hands the start to systemd", "postfix", "-c", ConfigDir("postfix-out"), "start")
		requireActive(t, c, out)
		RequireMastersIn(t, c, def, out, in, srv)
		w.SendTo(t, "erin@example.com")
	})

	step(t, "postfix start goes to "+def, func(t *testing.T) {
		stopAll(t, w, def, out, in, srv)
		w.Type(t, "Debian's postfix-script hands the start to systemd", "postfix", "start")
		c.Eventually(def+" active", 30*time.Second, func() (bool, error) {
			_, err := CheckActive(c, def)
			return err == nil, err
		})
		// postfix.service wants the enabled instances (the generator's
		// links), as at boot.
		for _, u := range []string{out, in, srv} {
			requireActive(t, c, u)
		}
		RequireMastersIn(t, c, def, out, in, srv)
	})

	step(t, "systemctl enable --now "+off+" runs "+ConfigDir("postfix-off"), func(t *testing.T) {
		w.Type(t, "", "systemctl", "enable", "--now", off)
		p := requireActive(t, c, off)
		if !strings.Contains(p["DropInPaths"], "/"+off+".d/50-instance.conf") {
			t.Errorf("%s runs without the generator's drop-in: %s", off, p["DropInPaths"])
		}
		RequireMastersIn(t, c, def, out, in, srv, off)
		w.SendTo(t, "frank@example.com")
	})

	step(t, "a nameless instance in "+postfixAnon.Dir+" runs as "+anon, func(t *testing.T) {
		w.CreateInstance(t, postfixAnon)
		w.Type(t, "", "postmulti", "-i", postfixAnon.Selector(), "-p", "start")
		requireDirUnit(t, w, postfixAnon, anon)
		requireMasterMainPID(t, w, postfixAnon, anon)
		RequireMastersIn(t, c, def, out, in, srv, off, anon)
	})

	step(t, "postmulti -p stop stops every instance in reverse start order, "+def+" last", func(t *testing.T) {
		w.Type(t, "", "postmulti", "-p", "stop")
		// Visited in reverse start order, each job waited for; then
		// Debian's PartOf=postfix.service stops the one enabled with
		// systemctl (not in postmulti's list).
		order := []string{anon, srv, in, out, def}
		w.C.Eventually("every instance to stop", 2*time.Minute, func() (bool, error) {
			for _, u := range append(order, off) {
				if s := UnitProps(c, u)["ActiveState"]; s != "inactive" && s != "failed" {
					return false, fmt.Errorf("%s is %s", u, s)
				}
			}
			return true, nil
		})
		RequireMastersIn(t, c)
		requireStoppedInOrder(t, c, order)
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

// bootDebian13 builds the package for n's release and boots a container
// of that release with the walk-through's scaffolding (the sink, the
// filter), the package not installed yet: it returns the walk, which logs
// every command typed, and the package's path on the host.
func bootDebian13(t *testing.T, n Names) (*Walk, string) {
	t.Helper()
	deb, err := BuildDebFor(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	smtptool := harness.MustBuildGo(t, "./test/e2e/smtptool")
	c := harness.Boot(t, harness.Options{Release: n.Release, Files: Scaffolding(smtptool), Kmsg: true})
	return &Walk{C: c, Names: n, Typed: func(args []string, _ string) { t.Logf("# %s", strings.Join(args, " ")) }}, deb
}

// postfixSrv is a named instance outside /etc/postfix-*, in the mta group
// after the walk-through's two: on Debian 13 it runs as our
// postfix-dir@.service. It relays what it receives to the sink.
var postfixSrv = Instance{Name: "postfix-srv", Group: "mta", Dir: "/srv/mta/srv", Listen: "127.0.0.1:2529", Enable: true,
	Settings: []string{"myhostname = srv.mta1.example.com", "inet_interfaces = loopback-only", "inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8", "mydestination =", "alias_maps =", "alias_database =", "local_recipient_maps =",
		"local_transport = error:5.1.1 Mailbox unavailable", "relay_domains = example.com",
		"relayhost = [127.0.0.1]:" + SinkPort, "smtpd_client_port_logging = no"}}

// postfixAnon is a nameless instance outside /etc/postfix-*, in no group,
// created late in the walk-through.
var postfixAnon = Instance{Dir: "/srv/mta/anon", Listen: "127.0.0.1:2530", Enable: true,
	Create:   []string{"queue_directory=/var/spool/postfix-anon", "data_directory=/var/lib/postfix-anon"},
	Settings: []string{"myhostname = anon.mta1.example.com", "inet_interfaces = loopback-only", "inet_protocols = ipv4"}}

// requireDirUnit checks that u, the unit the release's layout names for
// instance in, is what systemd-escape makes of its config directory with
// our template postfix-dir@.service, and that systemd runs it from that
// template with the generator's drop-in: MAIL_CONFIG the config directory,
// no guessed main PID, /etc and /usr read-only.
func requireDirUnit(t *testing.T, w *Walk, in Instance, u string) {
	t.Helper()
	if esc := strings.TrimSpace(w.C.Run("systemd-escape", "--path", "--template="+unit.DirTemplate, in.ConfigDir())); esc != u {
		t.Errorf("systemd-escape --path --template=%s %s = %s, but the layout names the instance's unit %s", unit.DirTemplate, in.ConfigDir(), esc, u)
	}
	p := w.C.Show(u, "FragmentPath", "DropInPaths", "Environment", "GuessMainPID", "ProtectSystem")
	if want := unit.SystemUnitDir + "/" + unit.DirTemplate; p["FragmentPath"] != want {
		t.Errorf("%s: FragmentPath=%s, want %s", u, p["FragmentPath"], want)
	}
	if want := "/run/systemd/generator/" + unit.DropIn(u); !slices.Contains(strings.Fields(p["DropInPaths"]), want) {
		t.Errorf("%s runs without the generator's drop-in %s: DropInPaths=%s", u, want, p["DropInPaths"])
	}
	if want := "MAIL_CONFIG=" + in.ConfigDir(); !slices.Contains(strings.Fields(p["Environment"]), want) {
		t.Errorf("%s: Environment=%s, want %s", u, p["Environment"], want)
	}
	if p["GuessMainPID"] != "no" || p["ProtectSystem"] != "full" {
		t.Errorf("%s: GuessMainPID=%s ProtectSystem=%s, want no and full", u, p["GuessMainPID"], p["ProtectSystem"])
	}
}

// requireMasterMainPID checks that u is active with instance in's master
// as its main process: the PID in <queue_directory>/pid/master.pid (where
// Postfix's master writes it; the queue directory as postconf reads it),
// a process named master in u's cgroup. It returns that PID.
func requireMasterMainPID(t *testing.T, w *Walk, in Instance, u string) string {
	t.Helper()
	queue := strings.TrimSpace(w.C.Run("postmulti", "-i", in.Selector(), "-x", "postconf", "-h", "queue_directory"))
	file := path.Join(queue, "pid", "master.pid")
	pid := requireActive(t, w.C, u)["MainPID"]
	if got := strings.TrimSpace(w.C.Run("cat", file)); got != pid {
		t.Fatalf("%s: MainPID=%s, but %s says %s", u, pid, file, got)
	}
	n, _ := strconv.Atoi(pid)
	if got := Masters(t, w.C)[n]; got != u {
		t.Fatalf("%s: MainPID %s is no master in its cgroup (masters: %v)", u, pid, Masters(t, w.C))
	}
	return pid
}

// sendVia sends a message straight to instance in's listener for rcpt and
// checks that the sink got it once, relayed by that instance.
func sendVia(t *testing.T, w *Walk, in Instance, rcpt string) {
	t.Helper()
	tag := w.SendVia(t, in.Listen, rcpt)
	msgs := WaitDelivered(t, w.C, tag, 60*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("message %s stored %d times, want once", tag, len(msgs))
	}
	var me string
	for _, s := range in.Settings {
		if k, v, _ := strings.Cut(s, "="); strings.TrimSpace(k) == "myhostname" {
			me = strings.TrimSpace(v)
		}
	}
	if r := Headers(msgs[0], "Received"); len(r) == 0 || !strings.Contains(r[0], "by "+me+" (Postfix)") {
		t.Fatalf("message %s: Received: %q, want the newest by %s\n%s", tag, r, me, msgs[0])
	}
}

// requireStoppedInOrder checks that each of units was inactive before
// systemd began to stop the next.
func requireStoppedInOrder(t *testing.T, c *harness.Container, units []string) {
	t.Helper()
	var wrong []string
	for i := 1; i < len(units); i++ {
		a, b := UnitProps(c, units[i-1]).Mono("InactiveEnterTimestampMonotonic"), UnitProps(c, units[i]).Mono("ActiveExitTimestampMonotonic")
		if a == 0 || b == 0 || a > b {
			wrong = append(wrong, fmt.Sprintf("%s became inactive at %d µs, %s began stopping at %d µs: want %s first", units[i-1], a, units[i], b, units[i-1]))
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("%s", strings.Join(wrong, "\n"))
	}
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
