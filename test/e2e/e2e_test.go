package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.CleanupBuilds()
	os.Exit(code)
}

// boot builds the product, boots a container with it installed (as the
// package would: before systemd starts, so the generator runs at boot),
// with upstream's postmulti or with the shim in its place, and lays out the
// walk-through plus extra instances.
func boot(t *testing.T, shim bool, extra ...Instance) *harness.Container {
	t.Helper()
	harness.Require(t)
	t.Parallel() // each test has its own container
	p := BuildProduct(t)
	if shim {
		p = p.WithShim(t)
	}
	c := harness.Boot(t, harness.Options{Files: p.Files(), Kmsg: true})
	SetUp(t, c, append(append([]Instance(nil), Walkthrough...), extra...))
	return c
}

// step runs one stage of a scenario that shares a container; a failed
// stage stops the scenario, since later stages build on it.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// requireActive is RequireActive.
func requireActive(t *testing.T, c *harness.Container, unit string) Props {
	t.Helper()
	return RequireActive(t, c, unit)
}

// checkActive is RequireActive that lets the test go on.
func checkActive(t *testing.T, c *harness.Container, unit string) (Props, bool) {
	t.Helper()
	p, err := CheckActive(c, unit)
	if err != nil {
		t.Errorf("%v", err)
		return p, false
	}
	return p, true
}

// requireNotRunning is RequireNotRunning.
func requireNotRunning(t *testing.T, c *harness.Container, unit string) {
	t.Helper()
	RequireNotRunning(t, c, unit)
}

// reloadLines counts the master's "reload" log lines for an instance's
// config directory in the current boot's journal.
func reloadLines(c *harness.Container, configDir string) int {
	res, _ := c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "--grep", "reload -- version .*, configuration "+regexp.QuoteMeta(configDir)+"$")
	if strings.TrimSpace(res.Stdout) == "" {
		return 0
	}
	return strings.Count(strings.TrimSpace(res.Stdout), "\n") + 1
}

// checkDelivered is CheckDelivered, returning the message.
func checkDelivered(t *testing.T, c *harness.Container, tag string, rcpts ...string) string {
	t.Helper()
	return CheckDelivered(t, c, tag, rcpts...).Message
}

// TestMTAGroup runs the walk-through's mta group through its life under
// systemd in one container: start (order), mail flow, reload, a master
// killed with SIGKILL, stop (order). The demo runs the same steps.
func TestMTAGroup(t *testing.T) {
	c := boot(t, false)
	w := &Walk{C: c, Typed: func(args []string, _ string) { t.Logf("# %s", strings.Join(args, " ")) }}
	out, in := Unit("postfix-out"), Unit("postfix-in")

	step(t, "start postfix-mta.target starts postfix-out before postfix-in", func(t *testing.T) {
		w.StartGroup(t, "postfix-mta.target", out, in)
	})

	step(t, "a message to postfix-in reaches the sink through the filter", func(t *testing.T) {
		w.SendTo(t, "alice@example.com", "bob@example.com", "carol@sub.example.com")
	})

	step(t, "systemctl reload postfix reloads every running instance", func(t *testing.T) {
		units := map[string]string{Unit("-"): "/etc/postfix", out: "/etc/postfix-out", in: "/etc/postfix-in"}
		pids, before := map[string]string{}, map[string]int{}
		for u, dir := range units {
			pids[u] = requireActive(t, c, u)["MainPID"]
			before[u] = reloadLines(c, dir)
		}
		c.Run("systemctl", "reload", "postfix.service")
		for u, dir := range units {
			c.Eventually(u+"'s master logging a reload of "+dir, 15*time.Second, func() (bool, error) {
				return reloadLines(c, dir) > before[u], nil
			})
			if p := requireActive(t, c, u); p["MainPID"] != pids[u] {
				t.Errorf("%s: master PID changed from %s to %s on reload", u, pids[u], p["MainPID"])
			}
		}
	})

	step(t, "kill -9 of a master: systemd restarts it and mail flows again", func(t *testing.T) {
		r := w.KillMaster(t, out)
		t.Logf("%s was back %s after SIGKILL to its master", out, r.Back.Round(100*time.Millisecond))
		w.SendTo(t, "dave@example.com")
	})

	step(t, "stop postfix-mta.target stops postfix-in before postfix-out", func(t *testing.T) {
		w.StopGroup(t, "postfix-mta.target", out, in)
		for _, dir := range []string{"/etc/postfix-out", "/etc/postfix-in"} {
			if res, err := c.Exec("postfix", "-c", dir, "status"); err == nil {
				t.Errorf("postfix -c %s status says it runs: %s%s", dir, res.Stdout, res.Stderr)
			}
		}
		// The default instance is not in the group and keeps running.
		requireActive(t, c, Unit("-"))
	})
}

// postfixOff is created but never enabled.
var postfixOff = Instance{Name: "postfix-off", Group: "mta", Listen: "127.0.0.1:2527",
	Settings: []string{"myhostname = off.mta1.example.com", "inet_interfaces = loopback-only", "inet_protocols = ipv4"}}

// postfixBroken is enabled, but its main.cf gets a line postconf rejects.
var postfixBroken = Instance{Name: "postfix-broken", Group: "mta", Listen: "127.0.0.1:2528", Enable: true,
	Settings: []string{"myhostname = broken.mta1.example.com", "inet_interfaces = loopback-only", "inet_protocols = ipv4"}}

// TestBoot reboots the container with the whole product installed (the
// shim as /usr/sbin/postmulti, as the package does): enabled instances come
// up at boot in start order, a disabled one does not, and an instance with
// a broken main.cf does not keep the others from starting.
func TestBoot(t *testing.T) {
	c := boot(t, true, postfixOff)
	out, in, off := Unit("postfix-out"), Unit("postfix-in"), Unit("postfix-off")

	step(t, "after a reboot the enabled instances run and the disabled one does not", func(t *testing.T) {
		c.Reboot()
		po, pi := requireActive(t, c, out), requireActive(t, c, in)
		requireActive(t, c, Unit("-"))
		requireNotRunning(t, c, off)
		if a, b := po.Mono("ActiveEnterTimestampMonotonic"), pi.Mono("InactiveExitTimestampMonotonic"); a > b {
			t.Errorf("at boot postfix-in began starting (%d µs) before postfix-out was active (%d µs)", b, a)
		}
		if res, err := c.Exec("ss", "-Hltn", "sport = :2527"); err != nil || strings.TrimSpace(res.Stdout) != "" {
			t.Errorf("something listens on postfix-off's port: %q %v", res.Stdout, err)
		}
		tag := Send(t, c, "erin@example.com")
		checkDelivered(t, c, tag, "erin@example.com")
	})

	step(t, "a broken main.cf does not keep the others from starting at boot", func(t *testing.T) {
		CreateInstance(t, c, postfixBroken)
		// Start order: postfix-out, postfix-broken, postfix-in, postfix-off.
		c.Run("postconf", "-e", "multi_instance_directories = /etc/postfix-out /etc/postfix-broken /etc/postfix-in /etc/postfix-off")
		const brokenCF = "/etc/postfix-broken/main.cf"
		cf := c.Run("cat", brokenCF)
		c.WriteFile(brokenCF, []byte(cf+"this line has no equals sign\n"), 0o644)
		if res, err := c.Exec("postconf", "-c", "/etc/postfix-broken", "-h", "myhostname"); err == nil {
			t.Fatalf("postconf accepts the broken main.cf: %s", res.Stdout)
		}
		c.Reboot()
		_, outOK := checkActive(t, c, out)
		_, inOK := checkActive(t, c, in)
		checkActive(t, c, Unit("-"))
		requireNotRunning(t, c, Unit("postfix-broken"))
		requireNotRunning(t, c, off)
		// The reason is logged, naming the file, the way systemd's own
		// generators log: to /dev/kmsg, which on a real host is the kernel
		// log and so in the journal (journalctl -b, -k). Under
		// systemd-nspawn there is no /dev/kmsg and generators' stderr is
		// /dev/null, so the harness provides one (Options.Kmsg) and reads it.
		found := false
		for _, line := range strings.Split(c.Kmsg(), "\n") {
			if strings.Contains(line, "postfix-instance-generator[") && strings.Contains(line, brokenCF) {
				t.Logf("kmsg: %s", line)
				found = true
			}
		}
		if !found {
			t.Errorf("no postfix-instance-generator record naming %s in /dev/kmsg during this boot:\n%s", brokenCF, c.Kmsg())
		}
		if !outOK || !inOK {
			t.FailNow()
		}
		tag := Send(t, c, "frank@example.com")
		checkDelivered(t, c, tag, "frank@example.com")
	})
}

// TestGeneratorInstalled is a fast sanity check of the installation: the
// generator systemd runs is ours, and the template is ours.
func TestGeneratorInstalled(t *testing.T) {
	harness.Require(t)
	t.Parallel()
	p := BuildProduct(t)
	c := harness.Boot(t, harness.Options{Files: p.Files()})
	frag := UnitProps(c, Unit("-"))
	if frag["FragmentPath"] == "" {
		t.Fatalf("no fragment for %s", Unit("-"))
	}
	// Debian's template, with units/postfix@.service as a drop-in on it.
	if frag["FragmentPath"] != "/lib/systemd/system/postfix@.service" {
		t.Errorf("%s comes from %s, want Debian's template", Unit("-"), frag["FragmentPath"])
	}
	if !strings.Contains(frag["DropInPaths"], TemplateDropIn) {
		t.Errorf("%s runs without %s: DropInPaths=%s", Unit("-"), TemplateDropIn, frag["DropInPaths"])
	}
	tmpl := c.Run("cat", TemplateDropIn)
	want, err := os.ReadFile(p.Root + "/units/postfix@.service")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl != string(want) {
		t.Errorf("the drop-in systemd reads, %s, is not units/postfix@.service", TemplateDropIn)
	}
	gen := c.Run("ls", "/run/systemd/generator/")
	if !strings.Contains(gen, "postfix@-.service.d") {
		t.Errorf("the generator did not run at boot: /run/systemd/generator holds %s", gen)
	}
	requireActive(t, c, Unit("-"))
}

// TestShim lays out the walk-through with this project's postmulti
// installed as /usr/sbin/postmulti, and drives the group with "postmulti
// -p", which must go through systemd: units active in start order, mail
// flowing, reload keeping the masters, stop returning only once the group
// is down.
func TestShim(t *testing.T) {
	harness.Require(t)
	t.Parallel()
	p := BuildProduct(t).WithShim(t)
	c := harness.Boot(t, harness.Options{Files: p.Files(), Kmsg: true})
	out, in := Unit("postfix-out"), Unit("postfix-in")

	step(t, "postmulti -e lays out the walk-through", func(t *testing.T) {
		SetUp(t, c, Walkthrough)
		list := c.Run("postmulti", "-l", "-a")
		for _, want := range []string{"postfix-out     mta             y         /etc/postfix-out", "postfix-in      mta             y         /etc/postfix-in"} {
			if !strings.Contains(list, want) {
				t.Errorf("postmulti -l -a lacks %q:\n%s", want, list)
			}
		}
	})

	step(t, "postmulti -g mta -p start starts the units through systemd, in order", func(t *testing.T) {
		res, err := c.Exec("postmulti", "-g", "mta", "-p", "start")
		if err != nil {
			t.Fatalf("postmulti -g mta -p start: %v\n%s", err, res.Stdout)
		}
		po, pi := requireActive(t, c, out), requireActive(t, c, in)
		if a, b := po.Mono("ActiveEnterTimestampMonotonic"), pi.Mono("InactiveExitTimestampMonotonic"); a > b {
			t.Errorf("postfix-in began starting (%d µs) before postfix-out was active (%d µs)", b, a)
		}
		tag := Send(t, c, "gina@example.com", "hank@example.com")
		checkDelivered(t, c, tag, "gina@example.com", "hank@example.com")
	})

	step(t, "postmulti -g mta -p reload reloads through systemd", func(t *testing.T) {
		before := map[string]int{}
		pids := map[string]string{}
		for u, dir := range map[string]string{out: "/etc/postfix-out", in: "/etc/postfix-in"} {
			before[dir] = reloadLines(c, dir)
			pids[u] = requireActive(t, c, u)["MainPID"]
		}
		c.Run("postmulti", "-g", "mta", "-p", "reload")
		for dir, n := range before {
			c.Eventually("a reload of "+dir, 15*time.Second, func() (bool, error) { return reloadLines(c, dir) > n, nil })
		}
		for u, pid := range pids {
			if got := requireActive(t, c, u)["MainPID"]; got != pid {
				t.Errorf("%s: master PID %s became %s on reload", u, pid, got)
			}
		}
	})

	step(t, "postmulti -g mta -p stop returns once the group is down, postfix-in first", func(t *testing.T) {
		c.Run("postmulti", "-g", "mta", "-p", "stop")
		// No waiting here: the command itself must have waited.
		for _, u := range []string{out, in} {
			requireNotRunning(t, c, u)
		}
		po, pi := UnitProps(c, out), UnitProps(c, in)
		if a, b := pi.Mono("InactiveEnterTimestampMonotonic"), po.Mono("ActiveExitTimestampMonotonic"); a == 0 || b == 0 || a > b {
			t.Errorf("postfix-in became inactive at %d µs, postfix-out began stopping at %d µs: want in first", a, b)
		}
		requireActive(t, c, Unit("-"))
	})
}
