package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// BenchmarkConfigureInstance measures what Debian's configure-instance.sh,
// run before every start by units/debian/...40-debian-configure-instance.conf,
// costs as the number of instances grows, called the way the drop-in calls
// it (the config directory: "postmulti -i DIR -x postconf" for every query,
// and postmulti runs postconf for every instance) and with "-" and
// MAIL_CONFIG in the environment (plain postconf on that instance only).
//
//	go test -run '^$' -bench ConfigureInstance -benchtime 3x ./test/e2e
func BenchmarkConfigureInstance(b *testing.B) {
	harness.Require(b)
	p := BuildProduct(b)
	c := harness.Boot(b, harness.Options{Files: p.Files()})
	c.Run("postmulti", "-e", "init")
	c.Run("postmulti", "-I", "postfix-out", "-G", "mta", "-e", "create")
	dirs := []string{"/etc/postfix-out"}
	for _, n := range []int{1, 11, 51} {
		for len(dirs) < n {
			i := len(dirs)
			d := fmt.Sprintf("/etc/postfix-x%d", i)
			c.WriteFile(d+"/main.cf", []byte(fmt.Sprintf("multi_instance_name = postfix-x%d\nqueue_directory = /var/spool/postfix-x%d\ndata_directory = /var/lib/postfix-x%d\nmulti_instance_enable = no\n", i, i, i)), 0o644)
			c.Run("cp", "/etc/postfix-out/master.cf", d+"/master.cf")
			dirs = append(dirs, d)
		}
		c.Run("postconf", "-e", "multi_instance_directories = "+strings.Join(dirs, " "))
		var perCall [2]time.Duration
		for j, args := range [][]string{
			{"env", "-u", "MAIL_CONFIG", "/usr/lib/postfix/configure-instance.sh", "/etc/postfix-out"},
			{"env", "MAIL_CONFIG=/etc/postfix-out", "/usr/lib/postfix/configure-instance.sh", "-"},
		} {
			name := [2]string{"via-postmulti", "via-MAIL_CONFIG"}[j]
			b.Run(fmt.Sprintf("instances=%d/%s", n, name), func(b *testing.B) {
				start := time.Now()
				for i := 0; i < b.N; i++ {
					c.Run(args...)
				}
				perCall[j] = time.Since(start) / time.Duration(b.N)
			})
		}
		b.Logf("%d instances: configure-instance.sh DIR %s, - with MAIL_CONFIG %s, ratio %.1f",
			n, perCall[0].Round(time.Millisecond), perCall[1].Round(time.Millisecond), float64(perCall[0])/float64(perCall[1]))
	}
}

// exposure returns the overall exposure level "systemd-analyze security"
// gives unit inside c (0.0 most confined … 10.0 not at all).
func exposure(b *testing.B, c *harness.Container, unit string) float64 {
	b.Helper()
	res, _ := c.Exec("systemd-analyze", "security", "--no-pager", unit)
	m := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(unit) + `: ([0-9.]+)`).FindStringSubmatch(res.Stdout)
	if m == nil {
		b.Fatalf("systemd-analyze security %s: no overall exposure level in:\n%s%s", unit, res.Stdout, res.Stderr)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkSecurityExposure reports "systemd-analyze security" exposure
// (lower is more confined) of the default instance, a secondary in
// /etc/postfix-* and one outside it: Debian's stock units in a container
// with no package of ours, next to the same instances with the release's
// .deb installed by apt-get and the walk-through laid out (postmulti, as
// the demo types it), on Debian 12 and 13. Outside /etc/postfix-* Debian
// 13 has no stock unit (its postfix@ runs /etc/postfix-%I only); there ours
// is postfix-dir@.service.
//
//	go test -run '^$' -bench SecurityExposure -benchtime 1x ./test/e2e
func BenchmarkSecurityExposure(b *testing.B) {
	harness.Require(b)
	smtptool := harness.MustBuildGo(b, "./test/e2e/smtptool")
	for _, r := range []harness.Release{harness.Bookworm, harness.Trixie} {
		n := NamesFor(r)
		deb, err := BuildDebFor(b.TempDir(), n)
		if err != nil {
			b.Fatal(err)
		}
		probes := []struct{ name, unit string }{
			{"default", n.Default()}, {"secondary", n.Unit("postfix-out")}, {"outside", n.UnitOf(postfixBox)}}

		stock := harness.Boot(b, harness.Options{Release: r})
		for _, pr := range probes {
			// Debian 13 ships no template for an instance outside
			// /etc/postfix-*: systemd, not a rule of ours, says so.
			if stock.Show(pr.unit, "LoadState")["LoadState"] == "not-found" {
				b.Logf("%s: Debian's units have no %s", r, pr.unit)
				continue
			}
			reportExposure(b, stock, fmt.Sprintf("%s/debian/%s", r, pr.name), pr.unit)
		}
		stock.Shutdown()

		c := harness.Boot(b, harness.Options{Release: r, Files: Scaffolding(smtptool)})
		w := &Walk{C: c, Names: n}
		w.InstallDeb(b, deb)
		w.RestartPostfix(b)
		w.Layout(b, append(append([]Instance(nil), Walkthrough...), postfixBox))
		for _, pr := range probes {
			reportExposure(b, c, fmt.Sprintf("%s/ours/%s", r, pr.name), pr.unit)
		}
		c.Shutdown()
	}
}

// reportExposure runs a sub-benchmark name that reports unit's exposure
// in c as the metric "exposure", and logs it.
func reportExposure(b *testing.B, c *harness.Container, name, unit string) {
	b.Run(name, func(b *testing.B) {
		var v float64
		for i := 0; i < b.N; i++ {
			v = exposure(b, c, unit)
		}
		b.ReportMetric(v, "exposure")
		b.Logf("%s: systemd-analyze security %s: %.1f", name, unit, v)
	})
}

// BenchmarkTwoStageStart measures what the privileged "postfix check" in
// ExecStartPre=+ of units/postfix@.service costs per start ("systemctl
// restart" of postfix-out, an empty queue): with it, and with a runtime
// drop-in that leaves only Debian's chroot setup before "postfix start".
//
//	go test -run '^$' -bench TwoStageStart -benchtime 10x ./test/e2e
func BenchmarkTwoStageStart(b *testing.B) {
	harness.Require(b)
	p := BuildProduct(b)
	c := harness.Boot(b, harness.Options{Files: p.Files()})
	SetUp(b, c, Walkthrough[:1])
	unit := Unit("postfix-out")
	c.Run("systemctl", "start", unit)
	for _, variant := range []string{"with-check", "without-check"} {
		if variant == "without-check" {
			c.WriteFile("/run/systemd/system/"+unit+".d/90-no-check.conf",
				[]byte("[Service]\nExecStartPre=\nExecStartPre=+/usr/lib/postfix/configure-instance.sh -\n"), 0o644)
			c.DaemonReload()
		}
		pre := showAll(c, unit, "ExecStartPre")["ExecStartPre"]
		if has := strings.Contains(pre, " check "); has != (variant == "with-check") {
			b.Fatalf("%s: ExecStartPre=%s", variant, pre)
		}
		b.Run(variant, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				// StartLimitBurst= would stop a long run; not timed.
				b.StopTimer()
				c.Run("systemctl", "reset-failed", unit)
				b.StartTimer()
				c.Run("systemctl", "restart", unit)
			}
		})
	}
}
