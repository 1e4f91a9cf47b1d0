package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// TestConfinedInstances checks, on each release of the suite (Debian 12
// and 13 in make test), that every instance runs at least as confined as
// Debian 13's postfix@.service and that everything Postfix must still do
// works inside that sandbox: mail through the content filter, local
// delivery into /var/mail, a .forward command run as the user, Debian's
// chroot setup, missing queue directories made again at start.
//
// Debian 12: the walk-through's instances confined by
// units/postfix@.service, installed as the Debian 12 package does (a
// drop-in on Debian's postfix@.service). Debian 13: the deb13 build
// installed with apt-get, the instances on Debian's own postfix.service and
// postfix@.service with our drop-ins, and one outside /etc/postfix-* on our
// postfix-dir@.service.
func TestConfinedInstances(t *testing.T) {
	harness.Require(t)
	releases, err := harness.SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range releases {
		n := NamesFor(r)
		t.Run(string(r), func(t *testing.T) {
			if n.Debian13 {
				t.Parallel()
				confinedDebian13(t, n)
				return
			}
			confinedDebian12(t) // boot makes it parallel
		})
	}
}

// confinedDebian12 is TestConfinedInstances on Debian 12, where the
// instances run as our template, a drop-in on Debian 12's.
func confinedDebian12(t *testing.T) {
	c := boot(t, false)
	out, in := Unit("postfix-out"), Unit("postfix-in")
	c.Run("useradd", "--create-home", LocalUser)
	c.Run("systemctl", "start", "postfix-mta.target")
	requireActive(t, c, out)
	requireActive(t, c, in)

	step(t, "every instance runs confined", func(t *testing.T) {
		for _, u := range []string{Unit("-"), out, in} {
			checkConfined(t, c, u)
		}
	})

	step(t, "every instance runs at least as confined as Debian 13's postfix@.service", func(t *testing.T) {
		checkConfinedAsDebian13(t, c, Classic, Unit("-"), out, in)
	})

	step(t, "Debian's template with our drop-in runs what our template says", func(t *testing.T) {
		checkEffectiveUnit(t, c, "postfix-out")
	})

	step(t, "a message to a local user of postfix-out lands in /var/mail through the filter", func(t *testing.T) {
		checkMailboxDelivery(t, c, viaFilter, LocalUser)
	})

	step(t, "a local user's .forward runs a command as that user", func(t *testing.T) {
		checkForwardCommand(t, c, viaFilter, "pfi-pipe")
	})

	step(t, "Debian's chroot setup ran before the sandbox", func(t *testing.T) {
		checkChrootSetup(t, c, Classic, "/var/spool/postfix-out", "/var/spool/postfix-in")
	})

	step(t, "a missing queue directory is made again at start (postfix check, privileged)", func(t *testing.T) {
		checkQueueDirRemade(t, c, out, "/var/spool/postfix-out")
		tag := Send(t, c, "erin@example.com")
		checkDelivered(t, c, tag, "erin@example.com")
	})
}

// confinedDebian13 is TestConfinedInstances on Debian 13's layout: the
// package installed with apt-get, the walk-through's instances as
// postfix@out and postfix@in (Debian's template with our drop-in), and
// postfixBox, which delivers locally, as postfix-dir@srv-mta-box.service
// (our template).
func confinedDebian13(t *testing.T, n Names) {
	w, deb := bootDebian13(t, n)
	c := w.C
	def, out, in, box := n.Default(), n.Unit("postfix-out"), n.Unit("postfix-in"), n.UnitOf(postfixBox)
	w.InstallDeb(t, deb)
	w.RestartPostfix(t)
	w.Layout(t, append(append([]Instance(nil), Walkthrough...), postfixBox))
	c.Run("useradd", "--create-home", LocalUser)
	w.StartGroup(t, n.Group("mta"), out, in, box)
	requireDirUnit(t, w, postfixBox, box)
	boxQueue := strings.TrimSpace(c.Run("postmulti", "-i", postfixBox.Selector(), "-x", "postconf", "-h", "queue_directory"))
	viaBox := localPath{listen: postfixBox.Listen, host: boxHost, syslog: postfixBox.Name, received: []string{boxHost}}

	step(t, "every instance runs at least as confined as Debian 13's postfix@.service", func(t *testing.T) {
		checkConfinedAsDebian13(t, c, n, def, out, in, box)
	})

	step(t, "a message to a local user of postfix-out lands in /var/mail through the filter", func(t *testing.T) {
		checkMailboxDelivery(t, c, viaFilter, LocalUser)
	})

	step(t, "a message to a local user of "+box+" lands in /var/mail", func(t *testing.T) {
		c.Run("useradd", "--create-home", "pfi-box")
		checkMailboxDelivery(t, c, viaBox, "pfi-box")
	})

	step(t, "a local user's .forward runs a command as that user, under "+out+" and "+box, func(t *testing.T) {
		checkForwardCommand(t, c, viaFilter, "pfi-pipe")
		checkForwardCommand(t, c, viaBox, "pfi-pipe-box")
	})

	step(t, "Debian's chroot setup ran before the sandbox", func(t *testing.T) {
		checkChrootSetup(t, c, n, "/var/spool/postfix-out", "/var/spool/postfix-in", boxQueue)
	})

	step(t, "a missing queue directory is made again at start (postfix check, privileged)", func(t *testing.T) {
		checkQueueDirRemade(t, c, out, "/var/spool/postfix-out")
		w.SendTo(t, "erin@example.com")
		checkQueueDirRemade(t, c, box, boxQueue)
		sendVia(t, w, postfixBox, "grace@example.com")
	})
}

// boxHost is postfixBox's host name, the domain it delivers locally.
const boxHost = "box.mta1.example.com"

// postfixBox is an instance outside /etc/postfix-* (Debian 13:
// postfix-dir@.service, our own template) that delivers mail for boxHost
// to local users, as postfix-out does, and relays example.com to the sink.
var postfixBox = Instance{Name: "postfix-box", Group: "mta", Dir: "/srv/mta/box", Listen: "127.0.0.1:2531", Enable: true,
	Settings: []string{"myhostname = " + boxHost, "inet_interfaces = loopback-only", "inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8", "mydestination = $myhostname", "alias_maps =", "alias_database =",
		"local_recipient_maps =", "relay_domains = example.com", "relayhost = [127.0.0.1]:" + SinkPort,
		"smtpd_client_port_logging = no"}}

// localPath is how a test message reaches an instance's local(8).
type localPath struct {
	listen   string   // the smtpd it is submitted to (host:port)
	host     string   // the domain the instance delivers locally
	syslog   string   // the delivering instance's syslog_name
	filtered bool     // it passes the content filter on the way
	received []string // the hosts of the newest Received: headers, newest first
}

// viaFilter is the walk-through's path to postfix-out's local(8):
// postfix-in, the content filter, postfix-out.
var viaFilter = localPath{listen: "127.0.0.1:" + InPort, host: OutHost, syslog: "postfix-out", filtered: true,
	received: []string{OutHost, "in.mta1.example.com"}}

// checkMailboxDelivery sends a message to user (a local account) at p's
// host and checks that local(8) put it into the user's mailbox, which it
// creates as root and gives to the user (CAP_CHOWN), then appends to as
// the user (CAP_SETUID/SETGID).
func checkMailboxDelivery(t *testing.T, c *harness.Container, p localPath, user string) {
	t.Helper()
	rcpt := user + "@" + p.host
	tag := (&Walk{C: c}).SendVia(t, p.listen, rcpt)
	owner, msg := WaitMailbox(t, c, user, tag, 60*time.Second)
	if owner != user+" 600" {
		t.Errorf("%s: owner and mode %q, want %q", Mailbox(user), owner, user+" 600")
	}
	filter := Headers(msg, "X-PFI-Filter")
	if p.filtered && (len(filter) != 1 || filter[0] != "passed") {
		t.Errorf("X-PFI-Filter headers = %q, want one \"passed\": the message did not go through the filter\n%s", filter, msg)
	}
	if !p.filtered && len(filter) != 0 {
		t.Errorf("X-PFI-Filter headers = %q, want none: the message was not sent through the filter\n%s", filter, msg)
	}
	if got := Headers(msg, "Delivered-To"); len(got) != 1 || got[0] != rcpt {
		t.Errorf("Delivered-To = %q, want %q (local(8) adds it)\n%s", got, rcpt, msg)
	}
	recv := Headers(msg, "Received")
	for i, h := range p.received {
		if i >= len(recv) || !strings.Contains(recv[i], "by "+h) {
			t.Errorf("Received: chain = %q, want the newest ones by %q", recv, p.received)
			break
		}
	}
	res, _ := c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "-t", p.syslog+"/local", "--grep", "to=<"+rcpt+">")
	if !strings.Contains(res.Stdout, "status=sent (delivered to mailbox)") {
		t.Errorf("%s/local did not log the delivery to the mailbox:\n%s", p.syslog, res.Stdout)
	}
}

// checkForwardCommand makes a local account user whose .forward pipes
// mail into a file in its home, sends it a message along p and checks that
// the command ran as the user: local(8) runs it setuid, under the unit's
// system call filter, with the user's home writable.
func checkForwardCommand(t *testing.T, c *harness.Container, p localPath, user string) {
	t.Helper()
	out := "/home/" + user + "/piped.eml"
	c.Run("useradd", "--create-home", user)
	c.Bash(`printf '"|/usr/bin/tee %s"\n' "$2" > "/home/$1/.forward" && chown "$1:" "/home/$1/.forward"`, user, out)
	tag := (&Walk{C: c}).SendVia(t, p.listen, user+"@"+p.host)
	c.Eventually("message "+tag+" in "+out, 60*time.Second, func() (bool, error) {
		res, _ := c.Exec("grep", "-c", "Subject: "+tag, out)
		return strings.TrimSpace(res.Stdout) == "1", nil
	})
	if got := strings.TrimSpace(c.Run("stat", "-c", "%U", out)); got != user {
		t.Errorf("%s was written by %s, want the command to have run as %s", out, got, user)
	}
}

// checkChrootSetup checks that Debian's chroot setup, which runs
// privileged before the sandbox, did its work in each queue directory. On
// Debian 12 (configure-instance.sh, ExecStartPre=+ in Debian's drop-in) it
// copies /dev/urandom into the chroot, a device node PrivateDevices=
// forbids making. Debian 13's (configure-instance.sh run by "postfix
// check", ExecStartPre=+) makes no device nodes any more; it copies
// /etc/services, /etc/hosts and the like into the chroot's etc/.
func checkChrootSetup(t *testing.T, c *harness.Container, n Names, queues ...string) {
	t.Helper()
	for _, q := range queues {
		if !n.Debian13 {
			if res, err := c.Exec("test", "-c", q+"/dev/urandom"); err != nil {
				t.Errorf("%s/dev/urandom is not a character device: the chroot setup did not run privileged\n%s", q, res.Stderr)
			}
			continue
		}
		for _, f := range []string{"/etc/services", "/etc/hosts"} {
			if res, err := c.Exec("cmp", f, q+f); err != nil {
				t.Errorf("%s%s is not a copy of %s: the chroot setup did not run\n%s%s", q, f, f, res.Stdout, res.Stderr)
			}
		}
	}
}

// checkQueueDirRemade removes the flush directory of an instance's queue
// while unit is stopped and checks that the start makes it again, owned
// by postfix, mode 700: post-install create-missing chowns, then chmods a
// directory root no longer owns (CAP_FOWNER, outside the sandbox's
// bounding set), which the privileged "postfix check" in ExecStartPre=+
// does.
func checkQueueDirRemade(t *testing.T, c *harness.Container, unit, queue string) {
	t.Helper()
	dir := queue + "/flush"
	c.Run("systemctl", "stop", unit)
	c.Run("rm", "-rf", dir)
	c.Run("systemctl", "start", unit)
	requireActive(t, c, unit)
	if got := strings.TrimSpace(c.Run("stat", "-c", "%U %a", dir)); got != "postfix 700" {
		t.Errorf("%s: owner and mode %q, want \"postfix 700\"", dir, got)
	}
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
	status := masterStatus(t, c, p["MainPID"])
	for k, want := range map[string]string{
		"CapBnd":     wantCapBnd,
		"Seccomp":    "2", // a filter is installed (SystemCallFilter=)
		"NoNewPrivs": "0", // set-ID programs of local deliveries keep working
	} {
		if status[k] != want {
			t.Errorf("%s: master (PID %s) has %s %q, want %q", unit, p["MainPID"], k, status[k], want)
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
	checkSandboxReal(t, c, unit, p["MainPID"])
}

// masterStatus returns the fields of /proc/PID/status.
func masterStatus(t *testing.T, c *harness.Container, pid string) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, line := range strings.Split(c.Run("cat", "/proc/"+pid+"/status"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// checkSandboxReal checks that the sandbox is real for unit's master (PID
// pid): /usr is read-only in its mount namespace, /dev has no disks.
func checkSandboxReal(t *testing.T, c *harness.Container, unit, pid string) {
	t.Helper()
	if res, err := c.Exec("nsenter", "-t", pid, "-m", "touch", "/usr/pfi-probe"); err == nil {
		t.Errorf("%s: /usr is writable in the master's mount namespace\n%s", unit, res.Stderr)
	}
	if res, _ := c.Exec("nsenter", "-t", pid, "-m", "ls", "/dev"); strings.Contains(res.Stdout, "console") && !strings.Contains(res.Stdout, "null") {
		t.Errorf("%s: /dev in the master's mount namespace is not the private one:\n%s", unit, res.Stdout)
	}
}

// debian13Template is Debian 13's own template unit, whose confinement
// settings are the floor for every instance on every release.
const debian13Template = "/usr/lib/systemd/system/postfix@.service"

// debian13TemplateCopy is the copy of debian13Template (postfix
// 3.10.13-0+deb13u1) in the generator's golden tree, relative to the
// module root: the floor on Debian 12, which lacks the unit.
const debian13TemplateCopy = "generator/testdata/debian13-walkthrough/root" + debian13Template

// debian13Floor returns Debian 13's postfix@.service, and where it is read
// from: the container's own on Debian 13's layout (sid's on sid), else the
// copy, which on trixie must be the container's unit.
func debian13Floor(t *testing.T, c *harness.Container, n Names) (unitFile, from string) {
	t.Helper()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, debian13TemplateCopy))
	if err != nil {
		t.Fatalf("read Debian 13's template: %v", err)
	}
	if !n.Debian13 {
		return string(data), debian13TemplateCopy
	}
	unitFile = c.Run("cat", debian13Template)
	if n.Release == harness.Trixie && unitFile != string(data) {
		// The copy is Debian 12's floor: keep it Debian 13's.
		t.Errorf("%s differs from Debian 13's %s: update the copy", debian13TemplateCopy, debian13Template)
	}
	return unitFile, debian13Template
}

// notConfinement are the [Service] settings of debian13Template that say
// what runs and how its lifecycle goes, not how it is confined: every
// other setting of its [Service] section is a confinement setting.
func notConfinement(key string) bool {
	switch key {
	case "Type", "PIDFile", "GuessMainPID", "SyslogIdentifier", "KillMode", "KillSignal", "RemainAfterExit":
		return true
	}
	for _, p := range []string{"Exec", "Environment", "Restart", "Timeout"} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// confinementKeys returns the confinement settings a unit file's [Service]
// section sets (notConfinement aside), sorted, once each.
func confinementKeys(unitFile string) []string {
	var keys []string
	section := ""
	for _, line := range strings.Split(unitFile, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			if k, _, ok := strings.Cut(line, "="); ok && !notConfinement(strings.TrimSpace(k)) {
				keys = append(keys, strings.TrimSpace(k))
			}
		}
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}

// checkConfinedAsDebian13 checks that each of units runs at least as
// confined as Debian 13's postfix@.service (debian13Floor), whose settings
// it reads from the unit file: systemd's effective values (systemctl show)
// of ours equal to or stricter than those of an unmodified copy of
// Debian's template (no drop-ins), plus SystemCallArchitectures=native;
// and the kernel's view of each master: a bounding set within Debian's, a
// seccomp filter, no_new_privs as the unit says; the sandbox real.
func checkConfinedAsDebian13(t *testing.T, c *harness.Container, n Names, units ...string) {
	t.Helper()
	unitFile, from := debian13Floor(t, c, n)
	keys := confinementKeys(unitFile)
	if len(keys) < 10 {
		t.Fatalf("%s sets only %d confinement settings (%q): not Debian 13's unit?", from, len(keys), keys)
	}
	t.Logf("Debian 13's confinement settings (%s): %s", from, strings.Join(keys, " "))
	// The stock unit, under a name no drop-in of ours or the generator's
	// applies to, loaded but never started.
	const ref = "pfi-debian13@ref.service"
	c.WriteFile("/run/systemd/system/pfi-debian13@.service", []byte(unitFile), 0o644)
	c.Run("systemctl", "daemon-reload")
	defer c.Bash(`rm -f /run/systemd/system/pfi-debian13@.service && systemctl daemon-reload`)
	stock := c.Show(ref, keys...)
	if p := c.Show(ref, "FragmentPath", "DropInPaths"); p["FragmentPath"] != "/run/systemd/system/pfi-debian13@.service" || p["DropInPaths"] != "" {
		t.Fatalf("%s: the reference copy of Debian's template is not alone: %v", ref, p)
	}
	stockCapBnd := capBnd(t, c, stock["CapabilityBoundingSet"])
	for _, u := range units {
		p := requireActive(t, c, u)
		ours := c.Show(u, append(slices.Clone(keys), "SystemCallArchitectures")...)
		for _, k := range keys {
			if !equalOrStricter(k, ours[k], stock[k]) {
				t.Errorf("%s: %s=%q, less confined than (or not comparable with) Debian 13's %q", u, k, ours[k], stock[k])
			}
		}
		if ours["SystemCallArchitectures"] != "native" {
			t.Errorf("%s: SystemCallArchitectures=%q, want native", u, ours["SystemCallArchitectures"])
		}
		status := masterStatus(t, c, p["MainPID"])
		if got, err := strconv.ParseUint(status["CapBnd"], 16, 64); err != nil || got&^stockCapBnd != 0 {
			t.Errorf("%s: master (PID %s) has CapBnd %s, beyond Debian 13's %016x", u, p["MainPID"], status["CapBnd"], stockCapBnd)
		}
		if stock["SystemCallFilter"] != "" && status["Seccomp"] != "2" {
			t.Errorf("%s: master (PID %s) has Seccomp %q, want 2 (a filter)", u, p["MainPID"], status["Seccomp"])
		}
		if want := map[string]string{"yes": "1", "no": "0"}[ours["NoNewPrivileges"]]; status["NoNewPrivs"] != want {
			t.Errorf("%s: master (PID %s) has NoNewPrivs %q, want %q (NoNewPrivileges=%s)", u, p["MainPID"], status["NoNewPrivs"], want, ours["NoNewPrivileges"])
		}
		checkSandboxReal(t, c, u, p["MainPID"])
	}
}

// capBnd is the kernel's bounding set (CapBnd of /proc/PID/status) for a
// process started with CapabilityBoundingSet=set, as systemctl show gives
// it: a transient service shows it.
func capBnd(t *testing.T, c *harness.Container, set string) uint64 {
	t.Helper()
	out := c.Run("systemd-run", "--quiet", "--wait", "--pipe", "--property=CapabilityBoundingSet="+set, "grep", "^CapBnd:", "/proc/self/status")
	_, v, _ := strings.Cut(strings.TrimSpace(out), ":")
	n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
	if err != nil {
		t.Fatalf("CapBnd of a service with CapabilityBoundingSet=%s: %q: %v", set, out, err)
	}
	return n
}

// orders are the values of settings that take one of a few levels, least
// confined first.
var orders = map[string][]string{
	"ProtectSystem": {"no", "yes", "full", "strict"},
	"ProtectHome":   {"no", "read-only", "tmpfs", "yes"},
	"ProcSubset":    {"all", "pid"},
	"ProtectProc":   {"default", "ptraceable", "invisible", "noaccess"},
}

// equalOrStricter says whether ours, the systemctl show value of
// confinement setting key, confines at least as much as stock's: equal; a
// yes where stock says no; a higher level (orders); or, for lists of what
// is allowed (capabilities, address families, system calls, namespaces),
// a non-empty subset, and for lists of what is denied ("~..."), a
// superset.
func equalOrStricter(key, ours, stock string) bool {
	if ours == stock {
		return true
	}
	if stock == "no" && ours == "yes" {
		return true
	}
	if levels, ok := orders[key]; ok {
		o, s := slices.Index(levels, ours), slices.Index(levels, stock)
		return o >= 0 && s >= 0 && o >= s
	}
	// An empty list means no restriction to most of them (systemctl show
	// gives SystemCallFilter= and RestrictAddressFamilies= empty when
	// unset): never counted as stricter.
	if ours == "" || ours == "yes" || ours == "no" || stock == "yes" || stock == "no" {
		return false
	}
	oDeny, sDeny := strings.HasPrefix(ours, "~"), strings.HasPrefix(stock, "~")
	if oDeny != sDeny {
		return false
	}
	o, s := strings.Fields(strings.TrimPrefix(ours, "~")), strings.Fields(strings.TrimPrefix(stock, "~"))
	if oDeny {
		o, s = s, o // a denial list confines more when it is longer
	}
	for _, f := range o {
		if !slices.Contains(s, f) {
			return false
		}
	}
	return true
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

// TestEqualOrStricter checks the comparison of confinement settings on
// systemctl show values, and the reading of a unit's confinement settings,
// without a container.
func TestEqualOrStricter(t *testing.T) {
	for _, tc := range []struct {
		key, ours, stock string
		want             bool
	}{
		{"PrivateDevices", "yes", "yes", true},
		{"PrivateDevices", "yes", "no", true},
		{"PrivateDevices", "no", "yes", false},
		{"NoNewPrivileges", "yes", "no", true},
		{"ProtectSystem", "strict", "full", true},
		{"ProtectSystem", "full", "yes", true},
		{"ProtectSystem", "yes", "full", false},
		{"ProtectSystem", "no", "full", false},
		{"ProtectHome", "read-only", "no", true},
		{"ProtectHome", "no", "tmpfs", false},
		{"ProcSubset", "all", "pid", false},
		{"CapabilityBoundingSet", "cap_chown cap_setuid", "cap_setuid cap_chown cap_kill", true},
		{"CapabilityBoundingSet", "cap_chown cap_sys_admin", "cap_chown cap_setuid", false},
		{"RestrictAddressFamilies", "AF_UNIX AF_PACKET", "AF_UNIX AF_INET", false},
		{"SystemCallFilter", "~ptrace mount", "~ptrace", true},
		{"SystemCallFilter", "~ptrace", "~ptrace mount", false},
		{"SystemCallFilter", "~ptrace", "read write", false},
		{"SystemCallFilter", "", "read write", false},
		{"UMask", "0077", "0022", false},
	} {
		if got := equalOrStricter(tc.key, tc.ours, tc.stock); got != tc.want {
			t.Errorf("equalOrStricter(%s, %q, %q) = %v, want %v", tc.key, tc.ours, tc.stock, got, tc.want)
		}
	}
	unitFile := "[Unit]\nAfter=network.target\nPrivateTmp=yes\n[Service]\nType=forking\n# ProtectProc=noaccess\n" +
		"Environment=MAIL_CONFIG=/etc/postfix-%I\nExecStartPre=+postfix check\nCapabilityBoundingSet=CAP_CHOWN\n" +
		"CapabilityBoundingSet=CAP_SETUID\n ProtectSystem = full\nRestartSec=1s\n[Install]\nWantedBy=multi-user.target\n"
	if got, want := confinementKeys(unitFile), []string{"CapabilityBoundingSet", "ProtectSystem"}; !slices.Equal(got, want) {
		t.Errorf("confinementKeys = %q, want %q", got, want)
	}
}
