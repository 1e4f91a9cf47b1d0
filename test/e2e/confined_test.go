package e2e

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// TestConfinedInstances runs the walk-through's instances confined by
// units/postfix@.service (installed as the Debian 12 package does: a
// drop-in on Debian's postfix@.service) and checks that the sandbox is in
// force and that everything Postfix must still do works inside it: mail
// through the content filter, local delivery into /var/mail, a .forward
// command run as the user, Debian's chroot setup, missing queue
// directories made again at start.
func TestConfinedInstances(t *testing.T) {
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

	step(t, "Debian's template with our drop-in runs what our template says", func(t *testing.T) {
		checkEffectiveUnit(t, c, "postfix-out")
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
