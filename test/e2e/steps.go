package e2e

// The walk-through's steps, shared by the end-to-end tests (e2e_test.go) and
// the demo (test/e2e/demo): one place for what is typed and what must hold.
// Each step types the commands a person would, checks what it shows, fails
// t when that does not hold, and returns what the demo prints.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// Walk runs the walk-through's steps in a container.
type Walk struct {
	C *harness.Container
	// Shim says /usr/sbin/postmulti is this project's shim, which makes
	// systemd rerun the generator after every -e change. With upstream's
	// postmulti the layout ends with an explicit systemctl daemon-reload.
	Shim bool
	// Typed, when set, is told every command a person would type, with a
	// note on what it is for ("" when it speaks for itself), just before
	// it runs.
	Typed func(args []string, note string)
	// Names are the release's names; the zero value means Classic
	// (Debian 12).
	Names Names
}

// names returns w.Names, Classic when unset.
func (w *Walk) names() Names {
	if w.Names.Release == "" {
		return Classic
	}
	return w.Names
}

// Type runs a command a person would type, failing t when it fails, and
// returns its stdout.
func (w *Walk) Type(t harness.TB, note string, args ...string) string {
	t.Helper()
	if w.Typed != nil {
		w.Typed(args, note)
	}
	res, err := w.C.Exec(args...)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s", strings.Join(args, " "), err, res.Stdout)
	}
	return res.Stdout
}

// BuildDeb builds this tree's Debian 12 .deb (BuildDebFor Classic).
func BuildDeb(dir string) (string, error) { return BuildDebFor(dir, Classic) }

// BuildDebFor builds this tree's .deb for the host's architecture and the
// release of n (its Flavour) with scripts/build-packages.sh into dir and
// returns its path; the staging area is dir/stage.
func BuildDebFor(dir string, n Names) (string, error) {
	debs, err := BuildDebsFor(dir, n)
	if err != nil {
		return "", err
	}
	return debs[n.Flavour], nil
}

// BuildDebsFor builds this tree's .deb for the host's architecture and
// each flavour of ns with one scripts/build-packages.sh run (the binaries
// are built once) into dir, and returns their paths by flavour.
func BuildDebsFor(dir string, ns ...Names) (map[string]string, error) {
	root, err := harness.ModuleRoot()
	if err != nil {
		return nil, err
	}
	var flavours []string
	for _, n := range ns {
		if !slices.Contains(flavours, n.Flavour) {
			flavours = append(flavours, n.Flavour)
		}
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "build-packages.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PKG_DIST="+dir, "PKG_ARCHES="+runtime.GOARCH, "PKG_FORMATS=deb", "PKG_DEB_FLAVOURS="+strings.Join(flavours, " "))
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("scripts/build-packages.sh: %w\n%s", err, out)
	}
	debs := map[string]string{}
	for _, f := range flavours {
		found, _ := filepath.Glob(filepath.Join(dir, "*+"+f+"_*.deb"))
		if len(found) != 1 {
			return nil, fmt.Errorf("scripts/build-packages.sh made %d .deb files of flavour %s in %s, want 1", len(found), f, dir)
		}
		debs[f] = found[0]
	}
	return debs, nil
}

// InstallDeb copies the package into the container's /root and installs it
// with apt-get, as a user would; it checks that the shim (and on Debian 12
// the generator) are then ours by a diversion, that no unit is diverted
// and that the package's drop-ins on Debian's units are there, and returns
// apt-get's output. The package leaves running instances alone (their new
// settings apply from their next start): RestartPostfix follows.
func (w *Walk) InstallDeb(t harness.TB, deb string) string {
	t.Helper()
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatalf("read the package: %v", err)
	}
	in := "/root/" + filepath.Base(deb)
	w.C.WriteFile(in, data, 0o644)
	out := w.Type(t, "", "apt-get", "install", "-y", in)
	if res, err := w.C.Exec("dpkg-query", "-W", "-f", "${Status}", "postfix-instances"); err != nil || res.Stdout != "install ok installed" {
		t.Fatalf("after apt-get install, dpkg says postfix-instances is %q (%v)", res.Stdout, err)
	}
	n := w.names()
	diverts := w.C.Run("dpkg-divert", "--list")
	for _, f := range n.Diverted {
		if !strings.Contains(diverts, "diversion of "+f+" to ") {
			t.Fatalf("after apt-get install, Debian's %s is not diverted:\n%s", f, diverts)
		}
	}
	for _, f := range n.NotDiverted {
		if strings.Contains(diverts, f) {
			t.Fatalf("after apt-get install, %s is diverted:\n%s", f, diverts)
		}
	}
	for _, f := range n.DropIns {
		if _, err := w.C.Exec("test", "-f", f); err != nil {
			t.Fatalf("after apt-get install, the package's drop-in %s is missing: %v", f, err)
		}
	}
	w.Shim = true
	return out
}

// RestartPostfix types "systemctl restart postfix", as a user does after
// installing the package: the default instance, started at boot by
// Debian's unit, comes under the package's drop-ins.
func (w *Walk) RestartPostfix(t harness.TB) {
	t.Helper()
	n := w.names()
	if !n.Debian13 {
		w.Type(t, "the running default instance comes under the new template", "systemctl", "restart", "postfix")
		if p := RequireActive(t, w.C, n.Default()); !strings.Contains(p["FragmentPath"]+p["DropInPaths"], "postfix@") {
			t.Fatalf("%s runs without our template: %v", n.Default(), p)
		}
		return
	}
	w.Type(t, "the running default instance comes under the package's drop-ins", "systemctl", "restart", "postfix")
	p := RequireActive(t, w.C, n.Default())
	want := []string{"/run/systemd/generator/" + unit.DropIn(n.Default())}
	for _, d := range n.DropIns {
		if filepath.Base(filepath.Dir(d)) == n.Default()+".d" {
			want = append(want, d)
		}
	}
	for _, d := range want {
		if !slices.Contains(strings.Fields(p["DropInPaths"]), d) {
			t.Fatalf("%s runs without the drop-in %s: DropInPaths=%s", n.Default(), d, p["DropInPaths"])
		}
	}
}

// Layout lays out the walk-through: "postmulti -e init", then each
// instance (CreateInstance), then the demo's content filter and internal
// destination. Nothing is started: that is StartGroup's business.
func (w *Walk) Layout(t harness.TB, instances []Instance) {
	t.Helper()
	w.Type(t, "", "postmulti", "-e", "init")
	for _, in := range instances {
		w.CreateInstance(t, in)
	}
	w.Type(t, "the content filter and the internal mail host of this walk-through", "systemctl", "enable", "--now", "pfi-sink.service", "pfi-filter.service")
	if !w.Shim {
		w.Type(t, "upstream's postmulti does not tell systemd", "systemctl", "daemon-reload")
	}
}

// CreateInstance creates and configures one instance with postmulti, as
// MULTI_INSTANCE_README types it: -e create, its settings and its
// listener with "postmulti -x postconf", then -e enable.
func (w *Walk) CreateInstance(t harness.TB, in Instance) {
	t.Helper()
	args := []string{"postmulti"}
	if in.Name != "" {
		args = append(args, "-I", in.Name)
	}
	if in.Group != "" {
		args = append(args, "-G", in.Group)
	}
	args = append(args, "-e", "create")
	if in.Dir != "" {
		args = append(args, "config_directory="+in.Dir)
	}
	w.Type(t, "", append(args, in.Create...)...)
	x := []string{"postmulti", "-i", in.Selector(), "-x", "postconf"}
	if len(in.Settings) > 0 {
		w.Type(t, "", append(append(x, "-e"), in.Settings...)...)
	}
	if in.Listen != "" {
		// Replace the stock "smtp inet" listener with one on Listen.
		w.Type(t, "", append(x, "-MX", "smtp/inet")...)
		w.Type(t, "", append(x, "-M", in.Listen+"/inet="+in.Listen+" inet n - n - - smtpd")...)
	}
	w.Type(t, "", append(x, "-e", "master_service_disable =", "authorized_submit_users = root")...)
	if in.Enable {
		w.Type(t, "", "postmulti", "-i", in.Selector(), "-e", "enable")
	}
}

// UnitTimes is when systemd saw a unit change state, in seconds relative
// to the step's first such change.
type UnitTimes struct {
	Unit       string
	Began, End float64 // starting/stopping began; active/inactive reached
	MainPID    string
}

// relative turns monotonic begin/end pairs (µs) into UnitTimes from the
// earliest begin, keeping the units' order.
func relative(units []string, pids []string, begin, end []int64) []UnitTimes {
	base := begin[0]
	for _, b := range begin {
		if b < base {
			base = b
		}
	}
	out := make([]UnitTimes, len(units))
	for i, u := range units {
		out[i] = UnitTimes{Unit: u, Began: float64(begin[i]-base) / 1e6, End: float64(end[i]-base) / 1e6, MainPID: pids[i]}
	}
	return out
}

// StartGroup types "systemctl start TARGET" and checks that units (in
// start order) run, each with a master in its own cgroup and the
// generator's drop-in, and that each was active before systemd began to
// start the next. It returns their start times.
func (w *Walk) StartGroup(t harness.TB, target string, units ...string) []UnitTimes {
	t.Helper()
	for _, u := range units {
		if p := UnitProps(w.C, u); p["ActiveState"] != "inactive" {
			t.Fatalf("%s is %s before %s was started", u, p["ActiveState"], target)
		}
	}
	w.Type(t, "", "systemctl", "start", target)
	var props []Props
	for _, u := range units {
		p := RequireActive(t, w.C, u)
		if !strings.Contains(p["DropInPaths"], "/50-instance.conf") {
			t.Fatalf("%s runs without the generator's drop-in: %s", u, p["DropInPaths"])
		}
		props = append(props, p)
	}
	for i := 1; i < len(units); i++ {
		// The previous unit was up (its master initialised: Type=forking)
		// before systemd even began to start this one.
		a, b := props[i-1].Mono("ActiveEnterTimestampMonotonic"), props[i].Mono("InactiveExitTimestampMonotonic")
		if a == 0 || b == 0 || a > b {
			t.Fatalf("%s became active at %d µs, %s began starting at %d µs: want it first", units[i-1], a, units[i], b)
		}
		if c := props[i].Mono("ExecMainStartTimestampMonotonic"); a > c {
			t.Fatalf("%s's ExecStart ran at %d µs, before %s was active at %d µs", units[i], c, units[i-1], a)
		}
	}
	masters := Masters(t, w.C)
	for _, u := range units {
		found := false
		for _, mu := range masters {
			found = found || mu == u
		}
		if !found {
			t.Fatalf("no master process in %s's cgroup; masters: %v", u, masters)
		}
	}
	var pids []string
	var begin, end []int64
	for _, p := range props {
		pids = append(pids, p["MainPID"])
		begin = append(begin, p.Mono("InactiveExitTimestampMonotonic"))
		end = append(end, p.Mono("ActiveEnterTimestampMonotonic"))
	}
	return relative(units, pids, begin, end)
}

// StopGroup types "systemctl stop TARGET", waits for units (in start
// order) to stop, since systemctl returns once the target itself is
// stopped, and checks that they stopped in reverse order with no master
// left. It returns their stop times, in stop order.
func (w *Walk) StopGroup(t harness.TB, target string, units ...string) []UnitTimes {
	t.Helper()
	w.Type(t, "", "systemctl", "stop", target)
	w.C.Eventually(strings.Join(units, " and ")+" to stop", 2*time.Minute, func() (bool, error) {
		for _, u := range units {
			if s := UnitProps(w.C, u)["ActiveState"]; s != "inactive" && s != "failed" {
				return false, fmt.Errorf("%s is %s", u, s)
			}
		}
		return true, nil
	})
	rev := make([]string, len(units))
	for i, u := range units {
		rev[len(units)-1-i] = u
	}
	var props []Props
	for _, u := range rev {
		RequireNotRunning(t, w.C, u)
		props = append(props, UnitProps(w.C, u))
	}
	for i := 1; i < len(rev); i++ {
		// The previous unit was completely down before systemd began to
		// stop this one.
		a, b := props[i-1].Mono("InactiveEnterTimestampMonotonic"), props[i].Mono("ActiveExitTimestampMonotonic")
		if a == 0 || b == 0 || a > b {
			t.Fatalf("%s became inactive at %d µs, %s began stopping at %d µs: want it first", rev[i-1], a, rev[i], b)
		}
	}
	var pids []string
	var begin, end []int64
	for _, p := range props {
		pids = append(pids, p["MainPID"])
		begin = append(begin, p.Mono("ActiveExitTimestampMonotonic"))
		end = append(end, p.Mono("InactiveEnterTimestampMonotonic"))
	}
	return relative(rev, pids, begin, end)
}

// Restart is what KillMaster saw.
type Restart struct {
	OldPID, NewPID string
	Back           time.Duration // from the SIGKILL until systemd had a new master running
	NRestarts      string
}

// KillMaster types "kill -9" for unit's master and waits for systemd to
// restart the unit with a new master.
func (w *Walk) KillMaster(t harness.TB, unit string) Restart {
	t.Helper()
	old := RequireActive(t, w.C, unit)
	killed := time.Now()
	w.Type(t, "the master of "+unit, "kill", "-9", old["MainPID"])
	var p Props
	w.C.Eventually(unit+" restarted with a new master", 30*time.Second, func() (bool, error) {
		p = UnitProps(w.C, unit)
		return p["ActiveState"] == "active" && p["SubState"] == "running" &&
			p["MainPID"] != "0" && p["MainPID"] != old["MainPID"], nil
	})
	back := time.Since(killed)
	if n, _ := strconv.Atoi(p["NRestarts"]); n < 1 {
		t.Fatalf("NRestarts = %s, want systemd to have restarted %s", p["NRestarts"], unit)
	}
	if _, err := w.C.Exec("kill", "-0", old["MainPID"]); err == nil {
		t.Fatalf("the killed master's PID %s is alive again?", old["MainPID"])
	}
	return Restart{OldPID: old["MainPID"], NewPID: p["MainPID"], Back: back, NRestarts: p["NRestarts"]}
}

// Delivery is a message that went postfix-in -> filter -> postfix-out ->
// sink.
type Delivery struct {
	Tag      string   // its Subject
	Message  string   // as the sink stored it
	Received []string // its Received: headers, unfolded, newest first
	InID     string   // postfix-in's queue id
	OutID    string   // postfix-out's queue id
	OutLog   string   // postfix-out's smtpd line with XFORWARD's orig_queue_id
}

// Send types swaks, sending one message to postfix-in for rcpts, and
// returns its tag, a unique Subject.
func (w *Walk) Send(t harness.TB, rcpts ...string) string {
	t.Helper()
	return w.SendVia(t, "127.0.0.1:"+InPort, rcpts...)
}

// SendVia types swaks, sending one message for rcpts to the SMTP server
// at listen (host:port), and returns its tag, a unique Subject.
func (w *Walk) SendVia(t harness.TB, listen string, rcpts ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(listen, ":")
	tag := fmt.Sprintf("pfi-%d", time.Now().UnixNano())
	w.Type(t, "", "swaks", "--server", host, "--port", port, "--ehlo", ClientHELO,
		"--from", "sender@example.org", "--to", strings.Join(rcpts, ","), "--header", "Subject: "+tag)
	return tag
}

// SendTo sends a message to postfix-in for rcpts and checks its delivery
// (CheckDelivered).
func (w *Walk) SendTo(t harness.TB, rcpts ...string) Delivery {
	t.Helper()
	return CheckDelivered(t, w.C, w.Send(t, rcpts...), rcpts...)
}

// CheckDelivered proves a message went postfix-in -> filter -> postfix-out
// -> sink, once, with every recipient and with XFORWARD passed along.
func CheckDelivered(t harness.TB, c *harness.Container, tag string, rcpts ...string) Delivery {
	t.Helper()
	msgs := WaitDelivered(t, c, tag, 60*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("message %s stored %d times, want once (one transaction for all recipients)", tag, len(msgs))
	}
	d := Delivery{Tag: tag, Message: msgs[0], Received: Headers(msgs[0], "Received")}
	if got := Headers(d.Message, "X-PFI-Filter"); len(got) != 1 || got[0] != "passed" {
		t.Fatalf("X-PFI-Filter headers = %q, want one \"passed\": the message did not go through the filter\n%s", got, d.Message)
	}
	env := strings.Join(Headers(d.Message, "X-Sink-Envelope-To"), "\n")
	for _, r := range rcpts {
		if !strings.Contains(env, "<"+r+">") {
			t.Fatalf("recipient %s missing from the delivered envelope:\n%s", r, env)
		}
	}
	// Received: chain, newest first: postfix-out, then postfix-in.
	if len(d.Received) < 2 || !strings.Contains(d.Received[0], "by out.mta1.example.com") || !strings.Contains(d.Received[1], "by in.mta1.example.com") {
		t.Fatalf("Received: chain = %q, want postfix-out's above postfix-in's", d.Received)
	}
	d.InID, d.OutID = queueID(t, d.Received, "in.mta1.example.com"), queueID(t, d.Received, "out.mta1.example.com")
	// XFORWARD: postfix-out's smtpd logs the original queue id it was told.
	c.Eventually("postfix-out logging orig_queue_id="+d.InID, 10*time.Second, func() (bool, error) {
		res, err := c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "-t", "postfix-out/smtpd", "--grep", "orig_queue_id="+d.InID)
		d.OutLog = strings.TrimSpace(res.Stdout)
		return err == nil && strings.Contains(res.Stdout, d.InID), err
	})
	return d
}

// queueID extracts the queue id from the Received: header added by host.
func queueID(t harness.TB, received []string, host string) string {
	t.Helper()
	re := regexp.MustCompile(`by ` + regexp.QuoteMeta(host) + ` \(Postfix\) with E?SMTP id ([0-9A-Za-z]+)`)
	for _, r := range received {
		if m := re.FindStringSubmatch(r); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no Received: header by %s in %q", host, received)
	return ""
}

// RequireActive checks that unit runs with a live main process and returns
// its properties; it fails t if not, with the unit's journal.
func RequireActive(t harness.TB, c *harness.Container, unit string) Props {
	t.Helper()
	p, err := CheckActive(c, unit)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return p
}

// CheckActive is RequireActive returning the failure instead.
func CheckActive(c *harness.Container, unit string) (Props, error) {
	p := UnitProps(c, unit)
	if p["ActiveState"] != "active" || p["SubState"] != "running" {
		return p, fmt.Errorf("%s is %s/%s (result %s), want active/running; drop-ins: %s\n%s", unit,
			p["ActiveState"], p["SubState"], p["Result"], p["DropInPaths"], c.Journal("-u", unit))
	}
	if pid := p["MainPID"]; pid == "" || pid == "0" {
		return p, errors.New(unit + " has no main PID: systemd cannot watch its master (PIDFile=?)")
	}
	return p, nil
}

// RequireNotRunning checks that unit is not active and no master runs in
// its cgroup.
func RequireNotRunning(t harness.TB, c *harness.Container, unit string) {
	t.Helper()
	p := UnitProps(c, unit)
	if p["ActiveState"] == "active" || p["ActiveState"] == "activating" || p["ActiveState"] == "deactivating" {
		t.Fatalf("%s is %s, want it not running", unit, p["ActiveState"])
	}
	var pids []int
	for pid, u := range Masters(t, c) {
		if u == unit {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	if len(pids) > 0 {
		t.Fatalf("a master (PID %v) is still running in %s's cgroup", pids, unit)
	}
}

// CheckUpInOrder checks that units are active and came up in that order
// (each was active before systemd began to start the next), and that they
// are exactly the Postfix instance units running.
func CheckUpInOrder(t harness.TB, c *harness.Container, units []string) {
	t.Helper()
	var props []Props
	for _, u := range units {
		props = append(props, RequireActive(t, c, u))
	}
	var wrong []string
	for i := 1; i < len(units); i++ {
		a, b := props[i-1].Mono("ActiveEnterTimestampMonotonic"), props[i].Mono("InactiveExitTimestampMonotonic")
		if a == 0 || b == 0 || a > b {
			wrong = append(wrong, fmt.Sprintf("%s became active at %d µs, %s began starting at %d µs: want %s first", units[i-1], a, units[i], b, units[i-1]))
		}
	}
	var running []string
	for _, l := range strings.Split(c.Run("systemctl", "list-units", "--plain", "--no-legend", "--state=active", "--type=service", "postfix*"), "\n") {
		// Instance units only, not the generator's oneshots.
		if f := strings.Fields(l); len(f) > 0 && (f[0] == unit.Umbrella || strings.Contains(f[0], "@")) {
			running = append(running, f[0])
		}
	}
	want := slices.Clone(units)
	sort.Strings(running)
	sort.Strings(want)
	if !slices.Equal(running, want) {
		wrong = append(wrong, fmt.Sprintf("active postfix units %q, want exactly %q", running, want))
	}
	if len(wrong) > 0 {
		t.Fatalf("%s", strings.Join(wrong, "\n"))
	}
}

// RequireMastersIn checks that Postfix masters run in exactly units'
// cgroups, one each, and in no other (none outside systemd).
func RequireMastersIn(t harness.TB, c *harness.Container, units ...string) {
	t.Helper()
	var got []string
	for _, u := range Masters(t, c) {
		got = append(got, u)
	}
	want := slices.Clone(units)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Postfix masters run in %q, want one in each of %q (\"?\": outside any service)", got, want)
	}
}
