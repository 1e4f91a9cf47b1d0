package postmulti_test

// TestSystemd runs the shim against real systemd as PID 1 and real Postfix
// in a booted Debian 12 container (internal/harness), installed as the
// .deb installs it (packaging/nfpm.yaml): postmulti over /usr/sbin/postmulti,
// the generator and postfix@.service (with its Debian drop-in) over
// Debian's own at the same merged-/usr paths, Debian's postfix.service kept
// as the umbrella. It proves issue 5's items 2-4:
//
//   - every -e change makes systemd reload its configuration, so that the
//     generator runs and postfix@NAME.service matches main.cf at once, with
//     no manual daemon-reload (item 3);
//   - -p start, status, reload and stop become unit jobs in start order
//     (stop: reverse), with systemd tracking each master as MainPID, and
//     status in upstream's words, compared byte for byte with upstream's
//     postmulti run on the same instances (item 2);
//   - as multi_instance_wrapper, plain "postfix start|status|reload|stop"
//     go through systemd without recursion, leave no master outside a
//     unit, and leave a disabled instance alone (item 4);
//   - a unit that fails to start is an error naming the unit and the job
//     result, with a journalctl hint, and a non-zero exit.
//
// One container, booted once; the steps build on each other and the first
// failed step ends the test.

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// Where the test puts upstream's postmulti, taken from the root tree before
// ours replaced it: the oracle for -p status. Its base name stays
// "postmulti" so that its messages carry the same program name as ours.
const upstreamPostmulti = "/usr/local/libexec/pfi-test/upstream/postmulti"

// The test's secondary instances: two in group mta, listening on distinct
// loopback ports, in start order; and a disabled one without a group.
var (
	outInst = testInstance{Name: "postfix-out", Group: "mta", Port: "2526", Host: "out.pfi-test.example"}
	inInst  = testInstance{Name: "postfix-in", Group: "mta", Port: "2525", Host: "in.pfi-test.example"}
	disInst = testInstance{Name: "postfix-dis", Port: "2527", Host: "dis.pfi-test.example"}
)

type testInstance struct {
	Name, Group, Port, Host string
	Dir                     string // the config directory, when not /etc/NAME
}

// defInst is the default instance, as systemd names it.
var defInst = testInstance{Name: "-"}

func (i testInstance) unit() string { return "postfix@" + i.Name + ".service" }

// configDir and queueDir are where Postfix and postmulti -e create put
// them.
func (i testInstance) configDir() string {
	if i.Dir != "" {
		return i.Dir
	}
	if i.Name == "-" {
		return "/etc/postfix"
	}
	return "/etc/" + i.Name
}

func (i testInstance) queueDir() string {
	if i.Name == "-" {
		return "/var/spool/postfix"
	}
	return "/var/spool/" + filepath.Base(i.configDir())
}

// pidFile is the instance's master.pid.
func (i testInstance) pidFile() string { return i.queueDir() + "/pid/master.pid" }

func TestSystemd(t *testing.T) {
	harness.Require(t)
	t.Cleanup(harness.CleanupBuilds) // the package's TestMain is upstream-differential's
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tree := harness.Tree(t)
	shim := harness.MustBuildGo(t, "./cmd/postmulti")
	gen := harness.MustBuildGo(t, "./cmd/postfix-instance-generator")
	files := []harness.File{
		// packaging/nfpm.yaml's Debian layout. On merged /usr these paths
		// are Debian's /lib/systemd/... files: ours take their place, as
		// the package's dpkg-divert does.
		{Path: "/usr/sbin/postmulti", Src: shim, Mode: 0o755},
		{Path: "/usr/lib/systemd/system-generators/postfix-instance-generator", Src: gen, Mode: 0o755},
		{Path: "/usr/lib/systemd/system/postfix@.service", Src: filepath.Join(root, "units/postfix@.service")},
		{Path: "/usr/lib/systemd/system/postfix@.service.d/40-debian-configure-instance.conf",
			Src: filepath.Join(root, "units/debian/postfix@.service.d/40-debian-configure-instance.conf")},
		{Path: upstreamPostmulti, Src: filepath.Join(tree, "usr/sbin/postmulti"), Mode: 0o755},
		{Path: "/etc/postfix/main.cf", Src: "testdata/systemd/main.cf"},
	}
	t0 := time.Now()
	c := harness.Boot(t, harness.Options{Tree: tree, Files: files, Kmsg: true})
	t.Logf("booted in %s", time.Since(t0).Round(time.Millisecond))
	b := &box{c: c}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("/dev/kmsg (generator messages) this boot:\n%s", c.Kmsg())
		}
	})

	step(t, "ours replace Debian's postmulti, generator and template", func(t *testing.T) {
		for _, f := range []struct{ guest, host string }{
			{"/usr/sbin/postmulti", shim},
			{"/sbin/postmulti", shim},
			{"/usr/lib/systemd/system-generators/postfix-instance-generator", gen},
			{"/lib/systemd/system-generators/postfix-instance-generator", gen},
			{"/usr/lib/systemd/system/postfix@.service", filepath.Join(root, "units/postfix@.service")},
			{"/lib/systemd/system/postfix@.service", filepath.Join(root, "units/postfix@.service")},
		} {
			data, err := os.ReadFile(f.host)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%x", sha256.Sum256(data))
			if got, _, _ := strings.Cut(b.run(t, "sha256sum", f.guest), " "); got != want {
				t.Errorf("%s in the container is not %s (sha256 %s, want %s)", f.guest, f.host, got, want)
			}
		}
	})

	step(t, "boot runs the default instance with our generator and template", func(t *testing.T) {
		p := b.show(t, defInst.unit(), "FragmentPath", "DropInPaths", "ExecStart")
		if !strings.HasSuffix(p["FragmentPath"], "/systemd/system/postfix@.service") {
			t.Errorf("%s comes from %q, want the postfix@.service template", defInst.unit(), p["FragmentPath"])
		}
		if !strings.Contains(p["ExecStart"], "argv[]=/usr/sbin/postfix -c ${MAIL_CONFIG} start") {
			t.Errorf("%s runs %s: not our template (postfix -c ${MAIL_CONFIG} start)", defInst.unit(), p["ExecStart"])
		}
		want := "/run/systemd/generator/" + defInst.unit() + ".d/50-instance.conf"
		if !slices.Contains(strings.Fields(p["DropInPaths"]), want) {
			t.Errorf("%s has drop-ins %q, want our generator's %s", defInst.unit(), p["DropInPaths"], want)
		}
		b.requireTracked(t, defInst)
	})

	step(t, "a command that changes nothing does not reload systemd", func(t *testing.T) {
		before := b.generatorRun(t)
		b.postmulti(t, "-l", "-a")
		if after := b.generatorRun(t); after != before {
			t.Errorf("the generator ran again (%s -> %s) after postmulti -l -a", before, after)
		}
	})

	step(t, "-e init", func(t *testing.T) {
		b.eChange(t, "-e", "init")
		if got := strings.TrimSpace(b.run(t, "postconf", "-h", "multi_instance_wrapper")); got != "${command_directory}/postmulti -p --" {
			t.Errorf("multi_instance_wrapper = %q after -e init", got)
		}
		if got := strings.TrimSpace(b.run(t, "postconf", "-h", "multi_instance_enable")); got != "yes" {
			t.Errorf("multi_instance_enable = %q after -e init", got)
		}
		b.requireKnown(t, defInst, true)
	})

	for _, in := range []testInstance{outInst, inInst, disInst} {
		step(t, "-e create "+in.Name, func(t *testing.T) {
			args := []string{"-I", in.Name}
			if in.Group != "" {
				args = append(args, "-G", in.Group)
			}
			b.eChange(t, append(args, "-e", "create")...)
			b.requireKnown(t, in, false)
			if p := b.show(t, in.unit(), "ActiveState"); p["ActiveState"] != "inactive" {
				t.Errorf("%s is %s after -e create, want inactive", in.unit(), p["ActiveState"])
			}
		})
	}

	step(t, "configure the instances with postmulti -x", func(t *testing.T) {
		for _, in := range []testInstance{outInst, inInst, disInst} {
			x := []string{"-i", in.Name, "-x"}
			b.postmulti(t, append(x, "postconf", "-e",
				"myhostname = "+in.Host,
				"inet_interfaces = 127.0.0.1",
				"inet_protocols = ipv4",
				"mydestination =",
				"alias_maps =",
				"alias_database =",
				"local_recipient_maps =",
				"local_transport = error:5.1.1 Mailbox unavailable",
				"master_service_disable =")...)
			// The stock "smtp inet" listener becomes one on its own port.
			b.postmulti(t, append(x, "postconf", "-MX", "smtp/inet")...)
			listen := "127.0.0.1:" + in.Port
			b.postmulti(t, append(x, "postconf", "-M", listen+"/inet="+listen+" inet n - y - - smtpd")...)
		}
	})

	for _, in := range []testInstance{outInst, inInst} {
		step(t, "-e enable "+in.Name, func(t *testing.T) {
			b.eChange(t, "-i", in.Name, "-e", "enable")
			b.requireKnown(t, in, true)
			if p := b.show(t, "postfix-mta.target", "LoadState", "Wants"); p["LoadState"] != "loaded" || !slices.Contains(strings.Fields(p["Wants"]), in.unit()) {
				t.Errorf("postfix-mta.target is %s and wants %q, want it loaded and wanting %s", p["LoadState"], p["Wants"], in.unit())
			}
			if p := b.show(t, in.unit(), "ActiveState"); p["ActiveState"] != "inactive" {
				t.Errorf("%s is %s after -e enable, want inactive: enabling does not start", in.unit(), p["ActiveState"])
			}
		})
	}
	step(t, "the disabled instance stays known and unwanted", func(t *testing.T) {
		b.requireKnown(t, disInst, false)
	})

	step(t, "-g mta -p start starts both units in start order, systemd tracking the masters", func(t *testing.T) {
		res := b.postmultiResult(t, "-g", "mta", "-p", "start")
		if res.ExitCode != 0 || res.Stdout != "" || res.Stderr != "" {
			t.Fatalf("postmulti -g mta -p start: exit %d, stdout %q, stderr %q; want 0 and silence", res.ExitCode, res.Stdout, res.Stderr)
		}
		po, pi := b.requireTracked(t, outInst), b.requireTracked(t, inInst)
		requireStartOrder(t, outInst, po, inInst, pi)
		b.requireNotRunning(t, disInst)
		b.requireBanner(t, outInst)
		b.requireBanner(t, inInst)
	})

	step(t, "-g mta -p status prints upstream's words", func(t *testing.T) {
		res := b.requireSameAsUpstream(t, "-g mta -p status", "postmulti -g mta -p status", upstreamPostmulti+" -g mta -p status")
		for _, in := range []testInstance{outInst, inInst} {
			pid := b.masterPID(t, in)
			want := in.Name + "/postfix-script: the Postfix mail system is running: PID: " + strconv.Itoa(pid)
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("status output lacks %q:\n%s", want, res.Stdout)
			}
		}
		if res.ExitCode != 0 {
			t.Errorf("status exited %d, want 0", res.ExitCode)
		}
	})

	step(t, "-v -g mta -p reload keeps the masters and reports each job", func(t *testing.T) {
		pids, reloads := map[string]string{}, map[string]int{}
		for _, in := range []testInstance{outInst, inInst} {
			pids[in.Name] = b.requireTracked(t, in)["MainPID"]
			reloads[in.Name] = b.reloadLines(t, in)
		}
		res := b.postmultiResult(t, "-v", "-g", "mta", "-p", "reload")
		if res.ExitCode != 0 {
			t.Fatalf("postmulti -v -g mta -p reload: exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
		// -v reaches the life cycle: one line per job, in start order.
		lines := strings.Split(strings.TrimSuffix(res.Stderr, "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "postmulti: reload "+outInst.unit()+": job done in ") ||
			!strings.HasPrefix(lines[1], "postmulti: reload "+inInst.unit()+": job done in ") {
			t.Errorf("postmulti -v -g mta -p reload: stderr %q, want a job report per unit", res.Stderr)
		}
		for _, in := range []testInstance{outInst, inInst} {
			b.eventually(t, in.Name+"'s master logging a reload", 15*time.Second, func() bool {
				return b.reloadLines(t, in) > reloads[in.Name]
			})
			if got := b.requireTracked(t, in)["MainPID"]; got != pids[in.Name] {
				t.Errorf("%s: MainPID %s after reload, was %s", in.unit(), got, pids[in.Name])
			}
		}
	})

	step(t, "-g mta -p stop stops both units in reverse order", func(t *testing.T) {
		res := b.postmultiResult(t, "-g", "mta", "-p", "stop")
		if res.ExitCode != 0 || res.Stderr != "" {
			t.Fatalf("postmulti -g mta -p stop: exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
		po, pi := b.requireNotRunning(t, outInst), b.requireNotRunning(t, inInst)
		requireStopOrder(t, inInst, pi, outInst, po)
		b.requireTracked(t, defInst) // not in group mta
		res = b.requireSameAsUpstream(t, "-g mta -p status, stopped", "postmulti -g mta -p status", upstreamPostmulti+" -g mta -p status")
		if res.ExitCode != 1 || strings.Count(res.Stdout, "the Postfix mail system is not running") != 2 {
			t.Errorf("status of the stopped group: exit %d (want 1), output:\n%s", res.ExitCode, res.Stdout)
		}
	})

	step(t, "-p status and -p stop see a master started behind systemd's back", func(t *testing.T) {
		b.run(t, "postfix", "-c", outInst.configDir(), "start")
		pid := b.masterPID(t, outInst)
		res := b.exec(t, "script", "-qec", "postmulti -g mta -p status", "/dev/null")
		out := strings.ReplaceAll(res.Stdout, "\r", "")
		for _, want := range []string{
			"postfix-out/postfix-script: the Postfix mail system is running: PID: " + strconv.Itoa(pid) + "\n",
			"postmulti: warning: postfix@postfix-out.service is inactive (dead), but the Postfix master of /etc/postfix-out (PID " +
				strconv.Itoa(pid) + ") runs outside systemd's control\n",
			"postfix-in/postfix-script: the Postfix mail system is not running\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("postmulti -g mta -p status lacks %q:\n%s", want, out)
			}
		}
		if res.ExitCode != 1 {
			t.Errorf("postmulti -g mta -p status: exit %d, want upstream's 1 (postfix-in is not running)", res.ExitCode)
		}
		res = b.postmultiResult(t, "-g", "mta", "-p", "stop")
		if res.ExitCode != 0 || !strings.Contains(res.Stderr, "postfix@postfix-out.service is not active, but a Postfix master (PID "+strconv.Itoa(pid)+") runs for /etc/postfix-out outside systemd's control; stopping it") {
			t.Errorf("postmulti -g mta -p stop: exit %d, stderr %q; want 0 and a warning about the master outside systemd", res.ExitCode, res.Stderr)
		}
		b.requireNotRunning(t, outInst)
		b.requireNotRunning(t, inInst)
	})

	// multi_instance_wrapper: plain postfix(1), no -c and no MAIL_CONFIG.
	all := []testInstance{defInst, outInst, inInst}
	step(t, "postfix start through the wrapper starts every enabled instance's unit", func(t *testing.T) {
		b.run(t, "systemctl", "stop", defInst.unit())
		if m := b.masters(t); len(m) != 0 {
			t.Fatalf("masters still running before postfix start: %v", m)
		}
		t0 := time.Now()
		res := b.exec(t, "postfix", "start")
		t.Logf("postfix start: %s", time.Since(t0).Round(time.Millisecond))
		if res.ExitCode != 0 {
			t.Fatalf("postfix start: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
		}
		want := map[int]string{}
		var props []map[string]string
		for _, in := range all {
			p := b.requireTracked(t, in)
			pid, _ := strconv.Atoi(p["MainPID"])
			want[pid] = in.unit()
			props = append(props, p)
		}
		for i := 1; i < len(all); i++ {
			requireStartOrder(t, all[i-1], props[i-1], all[i], props[i])
		}
		b.requireNotRunning(t, disInst)
		if got := b.masters(t); !mapsEqual(got, want) {
			t.Errorf("masters (PID: unit of their cgroup) = %v, want exactly %v", got, want)
		}
		b.requireNoRecursion(t)
	})

	step(t, "postfix status through the wrapper prints upstream's words", func(t *testing.T) {
		res := b.requireSameAsUpstream(t, "postfix status", "postfix status", upstreamPostmulti+" -p status")
		if res.ExitCode != 1 || strings.Count(res.Stdout, "the Postfix mail system is running") != 3 ||
			!strings.Contains(res.Stdout, "postfix-dis/postfix-script: the Postfix mail system is not running") {
			t.Errorf("postfix status: exit %d (want 1: postfix-dis does not run), output:\n%s", res.ExitCode, res.Stdout)
		}
	})

	step(t, "postfix reload through the wrapper keeps the masters", func(t *testing.T) {
		pids, reloads := map[string]string{}, map[string]int{}
		for _, in := range all {
			pids[in.Name] = b.requireTracked(t, in)["MainPID"]
			reloads[in.Name] = b.reloadLines(t, in)
		}
		if res := b.exec(t, "postfix", "reload"); res.ExitCode != 0 {
			t.Fatalf("postfix reload: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
		}
		for _, in := range all {
			b.eventually(t, in.Name+"'s master logging a reload", 15*time.Second, func() bool {
				return b.reloadLines(t, in) > reloads[in.Name]
			})
			if got := b.requireTracked(t, in)["MainPID"]; got != pids[in.Name] {
				t.Errorf("%s: MainPID %s after reload, was %s", in.unit(), got, pids[in.Name])
			}
		}
		b.requireNotRunning(t, disInst)
		b.requireNoRecursion(t)
	})

	step(t, "postfix stop through the wrapper stops every unit", func(t *testing.T) {
		t0 := time.Now()
		res := b.exec(t, "postfix", "stop")
		t.Logf("postfix stop: %s", time.Since(t0).Round(time.Millisecond))
		if res.ExitCode != 0 {
			t.Fatalf("postfix stop: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
		}
		var props []map[string]string
		for _, in := range all {
			props = append(props, b.requireNotRunning(t, in))
		}
		for i := len(all) - 1; i > 0; i-- {
			requireStopOrder(t, all[i], props[i], all[i-1], props[i-1])
		}
		b.requireNotRunning(t, disInst)
		if m := b.masters(t); len(m) != 0 {
			t.Errorf("masters still running after postfix stop: %v", m)
		}
		b.requireNoRecursion(t)
	})

	step(t, "a unit that fails to start is an error naming it, its result and the journal", func(t *testing.T) {
		// An address the container does not have: postfix-in's master
		// cannot bind its listener, so "postfix start" in the unit fails.
		b.postmulti(t, "-i", inInst.Name, "-x", "postconf", "-e", "inet_interfaces = 192.0.2.1")
		res := b.postmultiResult(t, "-g", "mta", "-p", "start")
		want := "postmulti: error: start postfix@postfix-in.service: job failed (the control process exited with an error); " +
			"see \"journalctl -u postfix@postfix-in.service\" for details\n"
		if res.ExitCode != 1 || res.Stderr != want {
			t.Errorf("postmulti -g mta -p start with a broken postfix-in: exit %d, stderr %q; want 1 and %q", res.ExitCode, res.Stderr, want)
		}
		b.requireTracked(t, outInst) // the loop went on, in start order
		// The hint leads to the reason.
		if j := b.run(t, "journalctl", "-b", "--no-pager", "-o", "cat", "-u", inInst.unit()); !strings.Contains(j, "192.0.2.1") {
			t.Errorf("journalctl -u %s does not say why it failed:\n%s", inInst.unit(), j)
		}
		// Its auto-restarts end with a stop.
		b.run(t, "systemctl", "stop", inInst.unit())
		b.run(t, "systemctl", "reset-failed", inInst.unit())
		// The same through multi_instance_wrapper: postfix(1) passes the
		// error and the exit status on.
		res = b.exec(t, "postfix", "start")
		if res.ExitCode != 1 || res.Stderr != want {
			t.Errorf("postfix start with a broken postfix-in: exit %d, stderr %q; want 1 and %q", res.ExitCode, res.Stderr, want)
		}
		b.requireTracked(t, defInst)
		b.requireTracked(t, outInst)
		b.run(t, "systemctl", "stop", inInst.unit())
		b.run(t, "systemctl", "reset-failed", inInst.unit())
		// Put postfix-in back.
		b.postmulti(t, "-i", inInst.Name, "-x", "postconf", "-e", "inet_interfaces = 127.0.0.1")
		if res := b.postmultiResult(t, "-g", "mta", "-p", "start"); res.ExitCode != 0 || res.Stderr != "" {
			t.Fatalf("postmulti -g mta -p start after the repair: exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
		b.requireTracked(t, inInst)
	})

	step(t, "-e disable", func(t *testing.T) {
		if res := b.postmultiResult(t, "-g", "mta", "-p", "stop"); res.ExitCode != 0 {
			t.Fatalf("postmulti -g mta -p stop: exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
		b.eChange(t, "-i", inInst.Name, "-e", "disable")
		b.requireKnown(t, inInst, false)
		if p := b.show(t, "postfix-mta.target", "Wants"); slices.Contains(strings.Fields(p["Wants"]), inInst.unit()) {
			t.Errorf("postfix-mta.target still wants %s after -e disable: %q", inInst.unit(), p["Wants"])
		}
	})

	spare := testInstance{Name: "postfix-spare", Dir: disInst.configDir()}
	step(t, "-e assign renames an instance's unit", func(t *testing.T) {
		b.eChange(t, "-i", disInst.Name, "-I", spare.Name, "-e", "assign")
		b.requireKnown(t, spare, false)
		b.requireUnknown(t, disInst)
	})

	step(t, "-e destroy removes the instance's unit", func(t *testing.T) {
		b.eChange(t, "-i", spare.Name, "-e", "destroy")
		b.requireUnknown(t, spare)
		b.requireKnown(t, defInst, true)
		b.requireKnown(t, outInst, true)
	})

	step(t, "-e deport and -e import", func(t *testing.T) {
		b.eChange(t, "-i", inInst.Name, "-e", "deport")
		b.requireUnknown(t, inInst)
		b.eChange(t, "-e", "import", "config_directory="+inInst.configDir())
		b.requireKnown(t, inInst, false)
	})

	step(t, "the generator reported no problem on any run", func(t *testing.T) {
		for _, rec := range strings.Split(c.Kmsg(), "\n") {
			var pri int
			if _, err := fmt.Sscanf(rec, "<%d>postfix-instance-generator[", &pri); err == nil && pri&7 <= 4 {
				t.Errorf("generator: %s", rec)
			}
		}
	})
}

// requireStartOrder checks that systemd began to start b only once a was
// active: with Type=forking, once a's master had initialised.
func requireStartOrder(t *testing.T, a testInstance, pa map[string]string, b testInstance, pb map[string]string) {
	t.Helper()
	if x, y := mono(pa, "ActiveEnterTimestampMonotonic"), mono(pb, "InactiveExitTimestampMonotonic"); x == 0 || y == 0 || x > y {
		t.Errorf("%s active at %d µs, %s starting at %d µs: want %s started first", a.unit(), x, b.unit(), y, a.Name)
	}
}

// requireStopOrder checks that systemd began to stop b only once a was
// inactive.
func requireStopOrder(t *testing.T, a testInstance, pa map[string]string, b testInstance, pb map[string]string) {
	t.Helper()
	if x, y := mono(pa, "InactiveEnterTimestampMonotonic"), mono(pb, "ActiveExitTimestampMonotonic"); x == 0 || y == 0 || x > y {
		t.Errorf("%s inactive at %d µs, %s stopping at %d µs: want %s stopped first", a.unit(), x, b.unit(), y, a.Name)
	}
}

// step runs one stage; a failed stage ends the test, since later stages
// build on it.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// box runs commands in the container on behalf of the (sub)test given to
// each method, so that failures end that subtest, not its parent.
type box struct{ c *harness.Container }

// exec runs args inside; a non-zero exit is returned, not fatal.
func (b *box) exec(t *testing.T, args ...string) harness.Result {
	t.Helper()
	t0 := time.Now()
	res, err := b.c.Exec(args...)
	logSlow(t, t0, args)
	if _, ok := err.(*harness.ExitError); err != nil && !ok {
		t.Fatalf("in the container: %v", err)
	}
	return res
}

// run runs args inside and returns stdout; any failure is fatal.
func (b *box) run(t *testing.T, args ...string) string {
	t.Helper()
	t0 := time.Now()
	res, err := b.c.Exec(args...)
	logSlow(t, t0, args)
	if err != nil {
		t.Fatalf("in the container: %v\nstdout: %s", err, res.Stdout)
	}
	return res.Stdout
}

// logSlow logs a command that took more than a second.
func logSlow(t *testing.T, t0 time.Time, args []string) {
	t.Helper()
	if d := time.Since(t0); d > time.Second {
		t.Logf("slow: %q took %s", args, d.Round(time.Millisecond))
	}
}

// postmultiResult runs our postmulti and logs what it did and how long it
// took.
func (b *box) postmultiResult(t *testing.T, args ...string) harness.Result {
	t.Helper()
	t0 := time.Now()
	res := b.exec(t, append([]string{"postmulti"}, args...)...)
	t.Logf("postmulti %s: exit %d in %s", strings.Join(args, " "), res.ExitCode, time.Since(t0).Round(time.Millisecond))
	return res
}

// postmulti runs our postmulti, which must succeed without a word on
// stderr.
func (b *box) postmulti(t *testing.T, args ...string) string {
	t.Helper()
	res := b.postmultiResult(t, args...)
	if res.ExitCode != 0 || res.Stderr != "" {
		t.Fatalf("postmulti %s: exit %d, stderr %q", strings.Join(args, " "), res.ExitCode, res.Stderr)
	}
	return res.Stdout
}

// eChange runs a postmulti -e action and checks that it made systemd run
// the generator again before it returned.
func (b *box) eChange(t *testing.T, args ...string) {
	t.Helper()
	before := b.generatorRun(t)
	b.postmulti(t, args...)
	if after := b.generatorRun(t); after == before {
		t.Errorf("postmulti %s returned and the generator has not run again (%s): systemd was not reloaded", strings.Join(args, " "), after)
	}
}

// generatorRun identifies the generator's latest run: before every run
// systemd empties /run/systemd/generator, and the generator creates its
// files anew (new inode, new change time).
func (b *box) generatorRun(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(b.run(t, "stat", "-c", "%i %z", "/run/systemd/generator/postfix@-.service.d/50-instance.conf"))
}

// show returns unit properties.
func (b *box) show(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	args := []string{"systemctl", "show", unit}
	for _, p := range props {
		args = append(args, "--property="+p)
	}
	m := map[string]string{}
	for _, line := range strings.Split(b.run(t, args...), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// unitProps are the properties the checks look at.
var unitProps = []string{"LoadState", "ActiveState", "SubState", "Result", "MainPID", "NeedDaemonReload",
	"DropInPaths", "Environment", "ActiveEnterTimestampMonotonic", "ActiveExitTimestampMonotonic",
	"InactiveEnterTimestampMonotonic", "InactiveExitTimestampMonotonic"}

func mono(p map[string]string, name string) int64 {
	n, _ := strconv.ParseInt(p[name], 10, 64)
	return n
}

// requireKnown checks that systemd knows the instance's unit as the
// generator describes it right now: loaded, with the generator's drop-in
// for this instance, no pending daemon-reload, and wanted by
// postfix.service exactly when the instance is enabled.
func (b *box) requireKnown(t *testing.T, in testInstance, enabled bool) {
	t.Helper()
	p := b.show(t, in.unit(), unitProps...)
	dropIn := "/run/systemd/generator/" + in.unit() + ".d/50-instance.conf"
	conf := in.configDir()
	switch {
	case p["LoadState"] != "loaded":
		t.Errorf("%s: LoadState=%s, want loaded", in.unit(), p["LoadState"])
	case p["NeedDaemonReload"] != "no":
		t.Errorf("%s: NeedDaemonReload=%s, want no", in.unit(), p["NeedDaemonReload"])
	case !slices.Contains(strings.Fields(p["DropInPaths"]), dropIn):
		t.Errorf("%s: drop-ins %q lack the generator's %s", in.unit(), p["DropInPaths"], dropIn)
	case !slices.Contains(strings.Fields(p["Environment"]), "MAIL_CONFIG="+conf):
		t.Errorf("%s: Environment=%q, want MAIL_CONFIG=%s", in.unit(), p["Environment"], conf)
	}
	u := b.show(t, "postfix.service", "Wants", "NeedDaemonReload")
	if wanted := slices.Contains(strings.Fields(u["Wants"]), in.unit()); wanted != enabled {
		t.Errorf("postfix.service wants %q: %s wanted %v, want %v (multi_instance_enable)", u["Wants"], in.unit(), wanted, enabled)
	}
	if u["NeedDaemonReload"] != "no" {
		t.Errorf("postfix.service: NeedDaemonReload=%s, want no", u["NeedDaemonReload"])
	}
}

// requireUnknown checks that the generator no longer describes the unit
// (the template alone still loads it, without MAIL_CONFIG) and that
// systemd has taken note.
func (b *box) requireUnknown(t *testing.T, in testInstance) {
	t.Helper()
	p := b.show(t, in.unit(), unitProps...)
	if slices.Contains(strings.Fields(p["DropInPaths"]), "/run/systemd/generator/"+in.unit()+".d/50-instance.conf") {
		t.Errorf("%s still has the generator's drop-in: %q", in.unit(), p["DropInPaths"])
	}
	if strings.Contains(p["Environment"], "MAIL_CONFIG=") || p["NeedDaemonReload"] != "no" {
		t.Errorf("%s: Environment=%q NeedDaemonReload=%s, want no MAIL_CONFIG and no", in.unit(), p["Environment"], p["NeedDaemonReload"])
	}
	if u := b.show(t, "postfix.service", "Wants"); slices.Contains(strings.Fields(u["Wants"]), in.unit()) {
		t.Errorf("postfix.service still wants %s: %q", in.unit(), u["Wants"])
	}
}

// requireTracked checks that the instance's unit is active with its
// master, the PID in master.pid, as main process, and that the master
// lives in the unit's cgroup; it returns the unit's properties.
func (b *box) requireTracked(t *testing.T, in testInstance) map[string]string {
	t.Helper()
	p := b.show(t, in.unit(), unitProps...)
	if p["ActiveState"] != "active" || p["SubState"] != "running" {
		t.Fatalf("%s is %s/%s (result %s), want active/running\n%s", in.unit(), p["ActiveState"], p["SubState"], p["Result"],
			b.run(t, "journalctl", "-b", "--no-pager", "-o", "short-monotonic", "-u", in.unit()))
	}
	pid := b.masterPID(t, in)
	if p["MainPID"] != strconv.Itoa(pid) {
		t.Fatalf("%s: MainPID=%s, but %s says %d", in.unit(), p["MainPID"], in.pidFile(), pid)
	}
	if u := b.masters(t)[pid]; u != in.unit() {
		t.Fatalf("%s's master (PID %d) runs in the cgroup of %q", in.unit(), pid, u)
	}
	return p
}

// requireNotRunning checks that the unit is inactive and no master runs
// in its cgroup or holds its master.pid lock.
func (b *box) requireNotRunning(t *testing.T, in testInstance) map[string]string {
	t.Helper()
	p := b.show(t, in.unit(), unitProps...)
	if p["ActiveState"] != "inactive" {
		t.Errorf("%s is %s/%s, want inactive", in.unit(), p["ActiveState"], p["SubState"])
	}
	for pid, u := range b.masters(t) {
		if u == in.unit() {
			t.Errorf("a master (PID %d) still runs in %s's cgroup", pid, u)
		}
	}
	// postfix status asks the master's lock, not the unit.
	conf := in.configDir()
	if res := b.exec(t, "postfix", "-c", conf, "status"); res.ExitCode == 0 {
		t.Errorf("postfix -c %s status says a master runs", conf)
	}
	return p
}

// masterPID reads the instance's master.pid.
func (b *box) masterPID(t *testing.T, in testInstance) int {
	t.Helper()
	s := strings.TrimSpace(b.run(t, "cat", in.pidFile()))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		t.Fatalf("%s holds %q, not a PID", in.pidFile(), s)
	}
	return pid
}

// masters lists the running Postfix master processes, each with the unit
// whose cgroup holds it ("" when none does).
func (b *box) masters(t *testing.T) map[int]string {
	t.Helper()
	res := b.exec(t, "pgrep", "-x", "master")
	if res.ExitCode > 1 {
		t.Fatalf("pgrep -x master: exit %d: %s", res.ExitCode, res.Stderr)
	}
	out := map[int]string{}
	for _, f := range strings.Fields(res.Stdout) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pgrep printed %q", f)
		}
		unit, ok := b.c.ServiceOf(pid)
		if !ok {
			continue // gone meanwhile
		}
		out[pid] = unit
	}
	return out
}

func mapsEqual(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// requireNoRecursion checks that the wrapper left nothing behind: no
// postmulti still running (a unit whose start ran "postmulti -p" would
// wait for its own job) and no job queued.
func (b *box) requireNoRecursion(t *testing.T) {
	t.Helper()
	if res := b.exec(t, "pgrep", "-a", "-x", "postmulti"); res.ExitCode != 1 {
		t.Errorf("postmulti processes still running: %s", res.Stdout)
	}
	if jobs := b.run(t, "systemctl", "list-jobs", "--no-legend"); strings.TrimSpace(jobs) != "" {
		t.Errorf("systemd jobs still queued:\n%s", jobs)
	}
}

// requireBanner checks that the instance's own smtpd answers on its port.
func (b *box) requireBanner(t *testing.T, in testInstance) {
	t.Helper()
	got := strings.TrimSpace(b.run(t, "/bin/bash", "-c", `exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r line <&3 && printf '%s\n' "$line"`, "banner", in.Port))
	if want := "220 " + in.Host + " ESMTP"; !strings.HasPrefix(got, want) {
		t.Errorf("127.0.0.1:%s greets with %q, want %q…", in.Port, got, want)
	}
}

// reloadLines counts the master's "reload" log records for the instance in
// this boot's journal.
func (b *box) reloadLines(t *testing.T, in testInstance) int {
	t.Helper()
	res := b.exec(t, "journalctl", "-b", "--no-pager", "-o", "cat", "--grep",
		"reload -- version .*, configuration "+regexp.QuoteMeta(in.configDir())+"$")
	if s := strings.TrimSpace(res.Stdout); s != "" {
		return strings.Count(s, "\n") + 1
	}
	return 0
}

// requireSameAsUpstream runs ours and upstream's command, each on a
// terminal (script(1)): Postfix's postfix-script speaks through postlog,
// which writes to stderr only when it is a terminal. Output and exit
// status must be identical.
func (b *box) requireSameAsUpstream(t *testing.T, what, ours, theirs string) harness.Result {
	t.Helper()
	o := b.exec(t, "script", "-qec", ours, "/dev/null")
	u := b.exec(t, "script", "-qec", theirs, "/dev/null")
	if o.Stdout != u.Stdout || o.ExitCode != u.ExitCode {
		t.Errorf("%s: ours (exit %d):\n%s\nupstream's (exit %d):\n%s", what, o.ExitCode, o.Stdout, u.ExitCode, u.Stdout)
	}
	t.Logf("%s (exit %d):\n%s", ours, o.ExitCode, strings.ReplaceAll(o.Stdout, "\r", ""))
	return o
}

// eventually polls cond every 100ms until it holds or timeout passes.
func (b *box) eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
