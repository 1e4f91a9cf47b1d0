package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// defaultMainCF is a default instance without inet services that lists a
// broken instance and one whose config directory is on a file system
// mounted at boot.
const defaultMainCF = `compatibility_level = 3.6
myhostname = gen.example.com
master_service_disable = inet
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
alias_database =
alias_maps =
multi_instance_wrapper = ${command_directory}/postmulti -p --
multi_instance_enable = yes
multi_instance_directories = /srv/pf/postfix-late /etc/postfix-bad
`

const lateMainCF = `compatibility_level = 3.6
myhostname = late.example.com
master_service_disable = inet
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
alias_database =
alias_maps =
authorized_submit_users = root
multi_instance_name = postfix-late
multi_instance_enable = yes
queue_directory = /var/spool/postfix-late
data_directory = /var/lib/postfix-late
`

// TestContainerBoot boots Debian 12 with systemd as PID 1 and the
// generator installed, in a container: no /dev/kmsg, and no journal yet
// when the generators run at boot.
//
// A config directory on a file system that /etc/fstab mounts at boot (a
// bind mount of /var/lib/pf-store on /srv/pf) is not there when the
// generator runs: the instance must still come up, under its own name,
// once the mount is there (postfix-instances-late.service).
//
// The message about a skipped instance must reach the journal under the
// generator's identifier: at boot through the report unit, and on
// daemon-reload directly.
func TestContainerBoot(t *testing.T) {
	harness.Require(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tree := harness.Tree(t)
	master, err := os.ReadFile(filepath.Join(tree, "etc/postfix/master.cf"))
	if err != nil {
		t.Fatal(err)
	}
	c := harness.Boot(t, harness.Options{Files: []harness.File{
		{Path: "/usr/lib/systemd/system-generators/postfix-instance-generator", Src: harness.MustBuildGo(t, "./cmd/postfix-instance-generator"), Mode: 0o755},
		{Path: "/usr/lib/systemd/system/postfix@.service", Src: filepath.Join(root, "units/postfix@.service")},
		{Path: "/usr/lib/systemd/system/postfix@.service.d/40-debian-configure-instance.conf",
			Src: filepath.Join(root, "units/debian/postfix@.service.d/40-debian-configure-instance.conf")},
		{Path: "/etc/postfix/main.cf", Data: []byte(defaultMainCF)},
		{Path: "/etc/postfix-bad/main.cf", Data: []byte("multi_instance_name = postfix-bad\nmulti_instance_enable = maybe\n")},
		{Path: "/var/lib/pf-store/postfix-late/main.cf", Data: []byte(lateMainCF)},
		{Path: "/var/lib/pf-store/postfix-late/master.cf", Data: master},
		{Path: "/var/spool/postfix-late/.created-by-test", Data: nil},
		{Path: "/etc/fstab", Data: []byte("/var/lib/pf-store /srv/pf none bind 0 0\n")},
	}})
	if _, err := c.Exec("test", "-e", "/dev/kmsg"); err == nil {
		t.Fatal("the container has a /dev/kmsg: this test is about containers without one")
	}

	// The late instance: started once /srv/pf is mounted, under its name.
	c.Eventually("postfix@postfix-late.service active", time.Minute, func() (bool, error) {
		res, err := c.Exec("systemctl", "is-active", "postfix@postfix-late.service")
		return strings.TrimSpace(res.Stdout) == "active", err
	})
	if p := c.Show("postfix@postfix-late.service", "Environment", "PIDFile", "FragmentPath"); p["Environment"] != "MAIL_CONFIG=/srv/pf/postfix-late" ||
		p["PIDFile"] != "/var/spool/postfix-late/pid/master.pid" {
		t.Errorf("postfix@postfix-late.service: %v", p)
	}
	for _, u := range []string{"postfix-instances-late.service", "postfix-instance-generator-report.service"} {
		if p := c.Show(u, "Result", "ActiveState"); p["Result"] != "success" || p["ActiveState"] != "inactive" {
			t.Errorf("%s: %v", u, p)
		}
	}
	// One name only: no unit by its path ever appeared.
	if out := c.Run("systemctl", "list-units", "--all", "--plain", "--no-legend", `postfix@srv*`); strings.TrimSpace(out) != "" {
		t.Errorf("units named by the late instance's path: %q", out)
	}
	if out := c.Run("mountpoint", "/srv/pf"); !strings.Contains(out, "is a mountpoint") {
		t.Errorf("mountpoint /srv/pf: %q", out)
	}

	// The skipped instance, in the journal: at boot, through the report
	// unit (nothing could take the generator's messages then).
	const skipped = "Postfix instance /etc/postfix-bad: /etc/postfix-bad/main.cf, line 2: multi_instance_enable = maybe is neither yes nor no, ignoring."
	c.Eventually("the report unit's message in the journal", 30*time.Second, func() (bool, error) {
		return strings.Contains(c.Journal("-t", "postfix-instance-generator", "_SYSTEMD_UNIT=postfix-instance-generator-report.service"), skipped), nil
	})
	// On daemon-reload, the generator writes to the journal itself.
	before := strings.Count(c.Journal("-t", "postfix-instance-generator"), skipped)
	c.DaemonReload()
	c.Eventually("one more message in the journal after daemon-reload", 30*time.Second, func() (bool, error) {
		return strings.Count(c.Journal("-t", "postfix-instance-generator"), skipped) > before, nil
	})
	// Its priority is err: journalctl -p err shows it.
	if !strings.Contains(c.Journal("-t", "postfix-instance-generator", "-p", "err"), skipped) {
		t.Errorf("the message is not at priority err:\n%s", c.Journal("-t", "postfix-instance-generator"))
	}
	// Now nothing is late and the journal is there: no extra units.
	for _, u := range []string{"postfix-instances-late.service", "postfix-instance-generator-report.service"} {
		if _, err := c.Exec("test", "-e", "/run/systemd/generator/"+u); err == nil {
			t.Errorf("%s still generated after daemon-reload", u)
		}
	}
	t.Logf("journal of the generator:\n%s", c.Journal("-t", "postfix-instance-generator"))
}
