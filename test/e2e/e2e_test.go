package e2e

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
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

// requireActive checks that unit runs with a live main process and returns
// its properties; it stops the test if not.
func requireActive(t *testing.T, c *harness.Container, unit string) Props {
	t.Helper()
	p, ok := checkActive(t, c, unit)
	if !ok {
		t.FailNow()
	}
	return p
}

// checkActive is requireActive that lets the test go on.
func checkActive(t *testing.T, c *harness.Container, unit string) (Props, bool) {
	t.Helper()
	p := UnitProps(c, unit)
	if p["ActiveState"] != "active" || p["SubState"] != "running" {
		t.Errorf("%s is %s/%s (result %s), want active/running; drop-ins: %s\n%s", unit,
			p["ActiveState"], p["SubState"], p["Result"], p["DropInPaths"], c.Journal("-u", unit))
		return p, false
	}
	if pid := p["MainPID"]; pid == "" || pid == "0" {
		t.Errorf("%s has no main PID: systemd cannot watch its master (PIDFile=?)", unit)
		return p, false
	}
	return p, true
}

// requireNotRunning checks that unit is not active and no master runs in
// its cgroup.
func requireNotRunning(t *testing.T, c *harness.Container, unit string) {
	t.Helper()
	p := UnitProps(c, unit)
	if p["ActiveState"] == "active" || p["ActiveState"] == "activating" || p["ActiveState"] == "deactivating" {
		t.Errorf("%s is %s, want it not running", unit, p["ActiveState"])
	}
	for pid, u := range Masters(t, c) {
		if u == unit {
			t.Errorf("a master (PID %d) is still running in %s's cgroup", pid, unit)
		}
	}
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

// queueID extracts the queue id from the Received: header added by host.
func queueID(t *testing.T, msg, host string) string {
	t.Helper()
	re := regexp.MustCompile(`by ` + regexp.QuoteMeta(host) + ` \(Postfix\) with E?SMTP id ([0-9A-Za-z]+)`)
	for _, r := range Headers(msg, "Received") {
		if m := re.FindStringSubmatch(r); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no Received: header by %s in:\n%s", host, msg)
	return ""
}

// checkDelivered proves a message went postfix-in -> filter -> postfix-out
// -> sink, with every recipient and with XFORWARD passed along.
func checkDelivered(t *testing.T, c *harness.Container, tag string, rcpts ...string) string {
	t.Helper()
	msgs := WaitDelivered(t, c, tag, 60*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("message %s stored %d times, want once (one transaction for all recipients)", tag, len(msgs))
	}
	msg := msgs[0]
	if got := Headers(msg, "X-PFI-Filter"); len(got) != 1 || got[0] != "passed" {
		t.Errorf("X-PFI-Filter headers = %q, want one \"passed\": the message did not go through the filter\n%s", got, msg)
	}
	env := strings.Join(Headers(msg, "X-Sink-Envelope-To"), "\n")
	for _, r := range rcpts {
		if !strings.Contains(env, "<"+r+">") {
			t.Errorf("recipient %s missing from the delivered envelope:\n%s", r, env)
		}
	}
	// Received: chain, newest first: postfix-out, then postfix-in.
	recv := Headers(msg, "Received")
	if len(recv) < 2 || !strings.Contains(recv[0], "by out.mta1.example.com") || !strings.Contains(recv[1], "by in.mta1.example.com") {
		t.Errorf("Received: chain = %q, want postfix-out's above postfix-in's", recv)
	}
	// XFORWARD: postfix-out's smtpd logs the original queue id it was told.
	inID := queueID(t, msg, "in.mta1.example.com")
	c.Eventually("postfix-out logging orig_queue_id="+inID, 10*time.Second, func() (bool, error) {
		res, err := c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "-t", "postfix-out/smtpd", "--grep", "orig_queue_id="+inID)
		return err == nil && strings.Contains(res.Stdout, inID), err
	})
	return msg
}

// TestMTAGroup runs the walk-through's mta group through its life under
// systemd in one container: start (order), mail flow, reload, a master
// killed with SIGKILL, stop (order).
func TestMTAGroup(t *testing.T) {
	c := boot(t, false)
	out, in := Unit("postfix-out"), Unit("postfix-in")

	step(t, "start postfix-mta.target starts postfix-out before postfix-in", func(t *testing.T) {
		for _, u := range []string{out, in} {
			if p := UnitProps(c, u); p["ActiveState"] != "inactive" {
				t.Fatalf("%s is %s before the target was started", u, p["ActiveState"])
			}
		}
		c.Run("systemctl", "start", "postfix-mta.target")
		po, pi := requireActive(t, c, out), requireActive(t, c, in)
		if !strings.Contains(po["DropInPaths"], "/50-instance.conf") {
			t.Errorf("%s runs without the generator's drop-in: %s", out, po["DropInPaths"])
		}
		// postfix-out was up (its master initialised: Type=forking) before
		// systemd even began to start postfix-in.
		if a, b := po.Mono("ActiveEnterTimestampMonotonic"), pi.Mono("InactiveExitTimestampMonotonic"); a == 0 || b == 0 || a > b {
			t.Errorf("postfix-out became active at %d µs, postfix-in began starting at %d µs: want out first", a, b)
		}
		if a, b := po.Mono("ActiveEnterTimestampMonotonic"), pi.Mono("ExecMainStartTimestampMonotonic"); a > b {
			t.Errorf("postfix-in's ExecStart ran at %d µs, before postfix-out was active at %d µs", b, a)
		}
		masters := Masters(t, c)
		for _, u := range []string{out, in} {
			found := false
			for _, mu := range masters {
				found = found || mu == u
			}
			if !found {
				t.Errorf("no master process in %s's cgroup; masters: %v", u, masters)
			}
		}
	})

	step(t, "every instance runs confined", func(t *testing.T) {
		for _, u := range []string{Unit("-"), out, in} {
			checkConfined(t, c, u)
		}
	})

	step(t, "Debian's template with our drop-in runs what our template says", func(t *testing.T) {
		checkEffectiveUnit(t, c, "postfix-out")
	})

	step(t, "a message to postfix-in reaches the sink through the filter", func(t *testing.T) {
		tag := Send(t, c, "alice@example.com", "bob@example.com", "carol@sub.example.com")
		checkDelivered(t, c, tag, "alice@example.com", "bob@example.com", "carol@sub.example.com")
	})

	step(t, "a message to a local user of postfix-out lands in /var/mail through the filter", func(t *testing.T) {
		rcpt := LocalUser + "@" + OutHost
		tag := Send(t, c, rcpt)
		owner, msg := WaitMailbox(t, c, tag, 60*time.Second)
		// local(8) creates the mailbox as root and gives it to the user
		// (CAP_CHOWN), then appends as the user (CAP_SETUID/SETGID).
		if owner != LocalUser+" 600" {
			t.Errorf("%s: owner and mode %q, want %q", Mailbox, owner, LocalUser+" 600")
		}
		if got := Headers(msg, "X-PFI-Filter"); len(got) != 1 || got[0] != "passed" {
			t.Errorf("X-PFI-Filter headers = %q, want one \"passed\": the message did not go through the filter\n%s", got, msg)
		}
		if got := Headers(msg, "Delivered-To"); len(got) != 1 || got[0] != rcpt {
			t.Errorf("Delivered-To = %q, want %q (local(8) adds it)\n%s", got, rcpt, msg)
		}
		recv := Headers(msg, "Received")
		if len(recv) < 2 || !strings.Contains(recv[0], "by "+OutHost) || !strings.Contains(recv[1], "by in.mta1.example.com") {
			t.Errorf("Received: chain = %q, want postfix-out's above postfix-in's", recv)
		}
		res, _ := c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "-t", "postfix-out/local", "--grep", "to=<"+rcpt+">")
		if !strings.Contains(res.Stdout, "status=sent (delivered to mailbox)") {
			t.Errorf("postfix-out/local did not log the delivery to the mailbox:\n%s", res.Stdout)
		}
	})

	step(t, "a local user's .forward runs a command as that user", func(t *testing.T) {
		// local(8) runs the command as the user (setuid), under the unit's
		// system call filter, with the user's home writable.
		const user, out = "pfi-pipe", "/home/pfi-pipe/piped.eml"
		c.Run("useradd", "--create-home", user)
		c.Bash(`printf '"|/usr/bin/tee %s"\n' "$2" > "/home/$1/.forward" && chown "$1:" "/home/$1/.forward"`, user, out)
		tag := Send(t, c, user+"@"+OutHost)
		c.Eventually("message "+tag+" in "+out, 60*time.Second, func() (bool, error) {
			res, _ := c.Exec("grep", "-c", "Subject: "+tag, out)
			return strings.TrimSpace(res.Stdout) == "1", nil
		})
		if got := strings.TrimSpace(c.Run("stat", "-c", "%U", out)); got != user {
			t.Errorf("%s was written by %s, want the command to have run as %s", out, got, user)
		}
	})

	step(t, "Debian's chroot setup ran before the sandbox", func(t *testing.T) {
		// configure-instance.sh (ExecStartPre=+) copies the device nodes
		// into each instance's chroot, which PrivateDevices= forbids.
		for _, q := range []string{"/var/spool/postfix-out", "/var/spool/postfix-in"} {
			if res, err := c.Exec("test", "-c", q+"/dev/urandom"); err != nil {
				t.Errorf("%s/dev/urandom is not a character device: the chroot setup did not run privileged\n%s", q, res.Stderr)
			}
		}
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
		old := requireActive(t, c, out)
		killed := time.Now()
		c.Run("kill", "-9", old["MainPID"])
		c.Eventually(out+" restarted with a new master", 30*time.Second, func() (bool, error) {
			p := UnitProps(c, out)
			return p["ActiveState"] == "active" && p["SubState"] == "running" &&
				p["MainPID"] != "0" && p["MainPID"] != old["MainPID"], nil
		})
		t.Logf("%s was back %s after SIGKILL to its master", out, time.Since(killed).Round(100*time.Millisecond))
		p := requireActive(t, c, out)
		if n, _ := strconv.Atoi(p["NRestarts"]); n < 1 {
			t.Errorf("NRestarts = %s, want systemd to have restarted it", p["NRestarts"])
		}
		if _, err := c.Exec("kill", "-0", old["MainPID"]); err == nil {
			t.Errorf("the killed master's PID %s is alive again?", old["MainPID"])
		}
		tag := Send(t, c, "dave@example.com")
		checkDelivered(t, c, tag, "dave@example.com")
	})

	step(t, "a missing queue directory is made again at start (postfix check, privileged)", func(t *testing.T) {
		// post-install create-missing chowns, then chmods a directory root
		// no longer owns: CAP_FOWNER, outside the sandbox's bounding set.
		// The privileged "postfix check" in ExecStartPre=+ does it.
		c.Run("systemctl", "stop", out)
		c.Run("rm", "-rf", "/var/spool/postfix-out/flush")
		c.Run("systemctl", "start", out)
		requireActive(t, c, out)
		if got := strings.TrimSpace(c.Run("stat", "-c", "%U %a", "/var/spool/postfix-out/flush")); got != "postfix 700" {
			t.Errorf("/var/spool/postfix-out/flush: owner and mode %q, want \"postfix 700\"", got)
		}
		tag := Send(t, c, "erin@example.com")
		checkDelivered(t, c, tag, "erin@example.com")
	})

	step(t, "stop postfix-mta.target stops postfix-in before postfix-out", func(t *testing.T) {
		stopped := time.Now()
		c.Run("systemctl", "stop", "postfix-mta.target")
		// systemctl returns once the target's own stop job is done; its
		// members, ordered Before= it, are stopped after it (reverse
		// order), by jobs of the same transaction it does not wait for.
		c.Eventually("postfix-in and postfix-out to stop", 2*time.Minute, func() (bool, error) {
			for _, u := range []string{out, in} {
				if s := UnitProps(c, u)["ActiveState"]; s != "inactive" && s != "failed" {
					return false, fmt.Errorf("%s is %s", u, s)
				}
			}
			return true, nil
		})
		t.Logf("the group was down %s after systemctl stop postfix-mta.target", time.Since(stopped).Round(100*time.Millisecond))
		po, pi := UnitProps(c, out), UnitProps(c, in)
		for _, u := range []string{out, in} {
			requireNotRunning(t, c, u)
		}
		// postfix-in was completely down before systemd began to stop
		// postfix-out.
		if a, b := pi.Mono("InactiveEnterTimestampMonotonic"), po.Mono("ActiveExitTimestampMonotonic"); a == 0 || b == 0 || a > b {
			t.Errorf("postfix-in became inactive at %d µs, postfix-out began stopping at %d µs: want in first", a, b)
		}
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

// wantCapBnd is the capability bounding set of units/postfix@.service as
// /proc/PID/status shows it: CAP_CHOWN (0), CAP_DAC_OVERRIDE (1),
// CAP_DAC_READ_SEARCH (2), CAP_SETGID (6), CAP_SETUID (7),
// CAP_NET_BIND_SERVICE (10), CAP_SYS_CHROOT (18).
const wantCapBnd = "00000000000404c7"

// checkConfined checks that an instance's master runs inside the sandbox of
// units/postfix@.service: the kernel's view of its bounding set and seccomp
// filter, and systemd's of the namespace settings.
func checkConfined(t *testing.T, c *harness.Container, unit string) {
	t.Helper()
	p := requireActive(t, c, unit)
	status := c.Run("cat", "/proc/"+p["MainPID"]+"/status")
	fields := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	for k, want := range map[string]string{
		"CapBnd":     wantCapBnd,
		"Seccomp":    "2", // a filter is installed (SystemCallFilter=)
		"NoNewPrivs": "0", // set-ID programs of local deliveries keep working
	} {
		if fields[k] != want {
			t.Errorf("%s: master (PID %s) has %s %q, want %q", unit, p["MainPID"], k, fields[k], want)
		}
	}
	want := map[string]string{
		"ProtectSystem": "full", "ProtectHome": "no", "PrivateDevices": "yes",
		"ProtectClock": "yes", "ProtectHostname": "yes", "ProtectKernelLogs": "yes",
		"ProtectKernelModules": "yes", "ProtectKernelTunables": "yes",
		"ProtectControlGroups": "yes", "ProcSubset": "pid", "LockPersonality": "yes",
		"MemoryDenyWriteExecute": "yes", "RestrictRealtime": "yes",
		"RestrictNamespaces":      "no", // systemctl shows the allowed set: none
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_NETLINK AF_UNIX",
		"SystemCallArchitectures": "native",
	}
	props := make([]string, 0, len(want))
	for k := range want {
		props = append(props, k)
	}
	got := c.Show(unit, props...)
	for k, v := range want {
		if k == "RestrictNamespaces" {
			continue // the representation varies between systemd versions
		}
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q", unit, k, got[k], v)
		}
	}
	// The sandbox is real: /usr is read-only for the master's mount
	// namespace, /dev has no disks.
	if res, err := c.Exec("nsenter", "-t", p["MainPID"], "-m", "touch", "/usr/pfi-probe"); err == nil {
		t.Errorf("%s: /usr is writable in the master's mount namespace\n%s", unit, res.Stderr)
	}
	if res, _ := c.Exec("nsenter", "-t", p["MainPID"], "-m", "ls", "/dev"); strings.Contains(res.Stdout, "console") && !strings.Contains(res.Stdout, "null") {
		t.Errorf("%s: /dev in the master's mount namespace is not the private one:\n%s", unit, res.Stdout)
	}
}

// effectiveProps are the settings of an instance that define what it runs
// and how it is confined: everything units/postfix@.service sets, plus the
// generator's.
var effectiveProps = []string{
	"Type", "ExecStartPre", "ExecStart", "ExecStop", "ExecReload",
	"ExecStartPreEx", "ExecStartEx", "ExecStopEx", "ExecReloadEx", "PIDFile", "GuessMainPID",
	"Restart", "RestartUSec", "TimeoutStartUSec", "TimeoutStopUSec", "Environment",
	"SyslogIdentifier", "StartLimitIntervalUSec", "StartLimitBurst", "Description",
	"Documentation", "PartOf", "Before", "After", "Wants", "ReloadPropagatedFrom",
	"CapabilityBoundingSet", "NoNewPrivileges", "RestrictSUIDSGID", "ProtectSystem",
	"ProtectHome", "PrivateDevices", "PrivateTmp", "ProtectClock", "ProtectHostname",
	"ProtectKernelLogs", "ProtectKernelModules", "ProtectKernelTunables",
	"ProtectControlGroups", "ProcSubset", "ProtectProc", "LockPersonality",
	"MemoryDenyWriteExecute", "RestrictNamespaces", "RestrictRealtime",
	"RestrictAddressFamilies", "SystemCallFilter", "SystemCallArchitectures",
	"SystemCallErrorNumber", "DevicePolicy", "DeviceAllow", "ReadWritePaths",
	"ReadOnlyPaths", "InaccessiblePaths", "User", "Group", "DynamicUser",
}

// checkEffectiveUnit compares postfix@NAME.service (Debian 12's template,
// our units/postfix@.service as its drop-in 20-postfix-instances.conf, the
// Debian drop-in and the generator's) with the same instance run by our
// template alone as the unit file (pfiref@NAME.service, with copies of the
// same drop-ins): every setting that matters must be equal, so Debian's
// template contributes nothing our template does not say.
func checkEffectiveUnit(t *testing.T, c *harness.Container, name string) {
	t.Helper()
	c.Bash(`set -e
install -D -m 0644 "$1" /run/systemd/system/pfiref@.service
mkdir -p /run/systemd/system/pfiref@.service.d "/run/systemd/system/pfiref@$2.service.d"
cp /usr/lib/systemd/system/postfix@.service.d/40-*.conf /run/systemd/system/pfiref@.service.d/
cp "/run/systemd/generator/postfix@$2.service.d/"*.conf "/run/systemd/system/pfiref@$2.service.d/"
systemctl daemon-reload`, TemplateDropIn, name)
	defer c.Bash(`rm -rf /run/systemd/system/pfiref@*; systemctl daemon-reload`)
	unit, ref := Unit(name), "pfiref@"+name+".service"
	cat := c.Run("systemctl", "cat", unit)
	for _, f := range []string{"/lib/systemd/system/postfix@.service", TemplateDropIn,
		"/usr/lib/systemd/system/postfix@.service.d/40-debian-configure-instance.conf",
		"/run/systemd/generator/postfix@" + name + ".service.d/50-instance.conf"} {
		if !strings.Contains(cat, "# "+f+"\n") {
			t.Errorf("systemctl cat %s does not show %s:\n%s", unit, f, cat)
		}
	}
	// Runtime fields of Exec* properties (start_time=, pid=, status=)
	// differ between a running and a never-started unit.
	norm := func(v string) string {
		return regexp.MustCompile(` ; (start_time|stop_time|pid|code|status)=[^;}]*`).ReplaceAllString(v, "")
	}
	// Dependency lists are sets; "Before=postfix@postfix-in.service" is
	// postfix-in's After= seen from the other side, which pfiref@ lacks.
	set := func(k, v string) string {
		var names []string
		for _, f := range strings.Fields(v) {
			if k == "Before" && strings.HasPrefix(f, "postfix@") {
				continue
			}
			names = append(names, f)
		}
		sort.Strings(names)
		return strings.Join(names, " ")
	}
	got, want := showAll(c, unit, effectiveProps...), showAll(c, ref, effectiveProps...)
	if n := strings.Count(got["ExecStartPreEx"], "flags=privileged"); n != 2 {
		t.Errorf("%s: %d privileged ExecStartPre= commands, want 2 (postfix check, configure-instance.sh):\n%s", unit, n, got["ExecStartPreEx"])
	}
	for _, k := range effectiveProps {
		g, w := norm(got[k]), norm(strings.NewReplacer("pfiref@", "postfix@", "system-pfiref.slice", "system-postfix.slice").Replace(want[k]))
		switch k {
		case "Before", "After", "Wants", "PartOf", "ReloadPropagatedFrom":
			g, w = set(k, g), set(k, w)
		}
		if g != w {
			t.Errorf("%s: %s=%q\n  our template alone gives %q", unit, k, g, w)
		}
	}
	t.Logf("systemctl cat %s:\n%s", unit, cat)
}

// showAll is Container.Show keeping every value of a property that
// systemctl shows once per entry (ExecStartPre=, one line per command),
// joined by newlines.
func showAll(c *harness.Container, unit string, props ...string) map[string]string {
	args := []string{"systemctl", "show", unit}
	for _, p := range props {
		args = append(args, "--property="+p)
	}
	m := map[string]string{}
	for _, line := range strings.Split(c.Run(args...), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			if old, seen := m[k]; seen {
				v = old + "\n" + v
			}
			m[k] = v
		}
	}
	return m
}
