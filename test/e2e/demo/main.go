// Command demo runs the border-MTA walk-through of Postfix's
// MULTI_INSTANCE_README under real systemd, as a user would: it installs
// what the machine lacks (scripts/install-deps.sh demo), builds this tree's
// .deb (scripts/build-packages.sh), boots a throw-away Debian container
// under systemd-nspawn from the cached root tree (internal/harness),
// installs the package there with apt-get and types the walk-through:
// postmulti -e init, -I postfix-out -G mta -e create, ..., systemctl start
// postfix-mta.target, a message through postfix-in, the content filter and
// postfix-out, a master killed with kill -9, systemctl stop
// postfix-mta.target. It narrates each step with its command and essential
// output, and tears the container down whatever happens.
//
// The steps are the end-to-end tests' own (package e2e's Walk), and
// TestDemo runs this program: a step the transcript shows that fails makes
// it exit 1. It needs root; scripts/demo.sh (make demo) runs it, or,
// without root, shows the generator's --dry-run instead.
//
//	demo [-release bookworm] [-v]
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/test/e2e"
)

// demoT gives the harness and the steps what they need from a testing.T.
// Harness logs are kept, and shown only with -v or when the demo fails.
type demoT struct {
	mu       sync.Mutex
	cleanups []func()
	failed   bool
	stopping bool // interrupted: the signal handler tears down and exits
	once     sync.Once
	verbose  bool
	logs     strings.Builder
}

type fatal struct{}

func (d *demoT) Helper() {}
func (d *demoT) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if d.verbose {
		fmt.Fprintln(os.Stderr, "    "+line)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.logs.WriteString(line + "\n")
}
func (d *demoT) Fatalf(format string, args ...any) {
	d.mu.Lock()
	d.failed = true
	stopping := d.stopping
	d.mu.Unlock()
	if !stopping { // else the failure is the teardown's doing
		fmt.Fprintf(os.Stderr, "\ndemo: FAILED: "+format+"\n", args...)
	}
	panic(fatal{})
}

// interrupted reports whether the demo was interrupted.
func (d *demoT) interrupted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopping
}
func (d *demoT) Cleanup(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cleanups = append(d.cleanups, f)
}
func (d *demoT) Failed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failed
}

// cleanup runs the cleanups once, last registered first.
func (d *demoT) cleanup() {
	d.once.Do(func() {
		d.mu.Lock()
		fs := d.cleanups
		d.mu.Unlock()
		for i := len(fs) - 1; i >= 0; i-- {
			fs[i]()
		}
	})
}

// releases maps the Debian releases the demo knows to their names.
var releases = map[string]string{
	"bookworm": "Debian 12 (bookworm)",
	"trixie":   "Debian 13 (trixie)",
	"sid":      "Debian unstable (sid)",
}

// checkRelease says whether the demo knows release (the harness builds
// and boots each of them).
func checkRelease(release string) error {
	if _, ok := releases[release]; !ok {
		return fmt.Errorf("unknown release %q (bookworm, trixie, sid)", release)
	}
	return nil
}

func main() {
	release := flag.String("release", envOr("RELEASE", harness.Suite), "Debian release to boot (bookworm, trixie, sid; $RELEASE)")
	verbose := flag.Bool("v", false, "show the harness's own log lines as they come")
	flag.Parse()
	if err := checkRelease(*release); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: must run as root (it installs packages and boots a container); scripts/demo.sh shows a preview without root")
		os.Exit(2)
	}

	t := &demoT{verbose: *verbose}
	n := newNarrator()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "\ndemo: interrupted, tearing down")
		t.mu.Lock()
		t.failed, t.stopping = true, true
		t.mu.Unlock()
		t.cleanup()
		harness.CleanupBuilds()
		os.Exit(130)
	}()
	start := time.Now()
	code := 0
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatal); !ok {
					t.mu.Lock()
					t.failed = true
					t.mu.Unlock()
					fmt.Fprintf(os.Stderr, "demo: panic: %v\n", r)
				}
				code = 1
			}
			t.cleanup()
		}()
		run(t, n, *release)
	}()
	if t.interrupted() {
		select {} // the signal handler exits
	}
	harness.CleanupBuilds()
	if t.Failed() {
		if !t.verbose && t.logs.Len() > 0 {
			fmt.Fprintf(os.Stderr, "\ndemo: the harness's log (the container's journal, if it was up):\n%s", t.logs.String())
		}
		fmt.Fprintf(os.Stderr, "demo: failed after %s; the container is gone, the root tree stays cached in %s\n",
			clock(time.Since(start)), harness.CacheDir())
		os.Exit(1)
	}
	n.printf("\n%s in %s.\n", n.paint(green, "The walk-through ran to the end"), clock(time.Since(start)))
	tryNext(n, e2e.NamesFor(harness.Release(*release)))
	os.Exit(code)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(t *demoT, n *narrator, release string) {
	name := releases[release]
	names := e2e.NamesFor(harness.Release(release))
	n.printf("%s\n", n.paint(bold, "postfix-instances: the border MTA of MULTI_INSTANCE_README under real systemd"))
	n.Note("A null-client default instance, postfix-in and postfix-out in group \"mta\", a content filter between them;")
	n.Note("%s booted with systemd-nspawn, this tree's .deb installed with apt-get.", name)

	n.Step("What this machine needs")
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatalf("%v", err)
	}
	n.Typed([]string{"scripts/install-deps.sh", "demo"}, "the same install step make test uses, restricted to the demo's needs")
	var out []byte
	if _, err := n.Progress("checking and installing packages (apt-get)", nil, func(func(string)) error {
		cmd := exec.Command(filepath.Join(root, "scripts", "install-deps.sh"), "demo")
		cmd.Dir = root
		out, err = cmd.CombinedOutput()
		return err
	}); err != nil {
		t.Fatalf("scripts/install-deps.sh demo: %v\n%s", err, out)
	}
	n.Output(string(out))
	if err := harness.Prerequisites(); err != nil {
		t.Fatalf("still %v", err)
	}

	n.Step("The package, built as make packages builds it")
	n.Typed([]string{"scripts/build-packages.sh"}, "PKG_FORMATS=deb PKG_ARCHES=this machine's")
	dist, err := os.MkdirTemp("", "pfi-demo-deb-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dist) })
	var deb, smtptool string
	took, err := n.Progress("building the binaries and the .deb (Go, nfpm)", nil, func(set func(string)) error {
		var err error
		if deb, err = e2e.BuildDebFor(dist, names); err != nil {
			return err
		}
		set("building the demo's test SMTP filter and sink")
		smtptool, err = harness.BuildGo("./test/e2e/smtptool")
		return err
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	n.Say("%s (%s) in %s", filepath.Base(deb), size(deb), seconds(took))

	n.Step("The " + name + " root tree")
	var tree string
	took, err = n.Progress("looking for the cached tree in "+harness.CacheDir(), buildFigures, func(set func(string)) error {
		var err error
		tree, err = harness.EnsureTreeOf(names.Release, func(format string, args ...any) {
			msg := strings.TrimPrefix(fmt.Sprintf(format, args...), "harness: ")
			if strings.HasPrefix(msg, "building the root tree") {
				msg = "building the root tree with debootstrap from this machine's apt mirror (about a minute, once)"
			}
			set(msg)
			t.Logf("harness: %s", msg)
		})
		return err
	})
	if err != nil {
		t.Fatalf("%v", err)
	}
	if took < 2*time.Second {
		n.Say("cached: %s", tree)
	} else {
		n.Say("built in %s: %s", clock(took), tree)
	}

	n.Step("Booting it under systemd-nspawn")
	n.Note("a copy-on-write layer over the tree; private network; the demo's filter and internal mail host are test services")
	var c *harness.Container
	took, _ = n.Progress("booting", nil, func(func(string)) error {
		c = harness.Boot(t, harness.Options{Tree: tree, Files: e2e.Scaffolding(smtptool), Kmsg: true})
		return nil
	})
	n.Say("container %s is up: systemd is its PID 1 (PID %d on this host), %s after systemd-nspawn started", c.Machine, c.PID1(), seconds(took))

	w := &e2e.Walk{C: c, Names: names, Typed: func(args []string, note string) {
		if t.interrupted() {
			panic(fatal{}) // type nothing more
		}
		n.Typed(args, note)
	}}
	n.Step("Installing the package, as a user would")
	diversions := 0
	for _, line := range strings.Split(w.InstallDeb(t, deb), "\n") {
		switch {
		case strings.HasPrefix(line, "Adding 'diversion"):
			diversions++
		case strings.HasPrefix(line, "Unpacking ") || strings.HasPrefix(line, "Setting up "):
			n.Output(line)
		}
	}
	if names.Debian13 {
		n.OK("%d diversions: postmulti and its manual page moved aside, ours in their place; no unit diverted: drop-ins on Debian's %s and postfix@.service, and the generator, which Debian 13 no longer has", diversions, names.Default())
	} else {
		n.OK("%d diversions: Debian's generator (under both of its merged-/usr names), postmulti and its manual page moved aside, ours in their place; no unit diverted: our template is a drop-in on Debian's postfix@.service", diversions)
	}
	w.RestartPostfix(t)

	n.Step("Laying out the instances with postmulti")
	n.Note("/etc/postfix/main.cf is the walk-through's null client: local submission only, relayhost = [mailhub.example.com]")
	out2, in := names.Unit("postfix-out"), names.Unit("postfix-in")
	w.Layout(t, e2e.Walkthrough)
	n.Output(w.Type(t, "", "postmulti", "-l"))
	n.OK("postmulti -e enable made systemd rerun the generator: no daemon-reload typed")
	if names.Debian13 {
		n.Note("%s names an instance by its directory, as its postfix@.service does: /etc/postfix-out runs as %s, /etc/postfix-in as %s", name, out2, in)
	}

	n.Step("Starting the group")
	group := names.Group("mta")
	started := w.StartGroup(t, group, out2, in)
	n.Output(legendless(w.Type(t, "", "systemctl", "list-units", "postfix*")))
	n.Say("start order (systemd's timestamps):")
	for _, u := range started {
		n.Output(fmt.Sprintf("%-28s starting %+.3f s   active %+.3f s   master PID %s", u.Unit, u.Began, u.End, u.MainPID))
	}
	n.OK("postfix-out was up before systemd began to start postfix-in (After= from multi_instance_directories)")

	// Optional: shown when the installed package has postfix-instances(1).
	// With the whole group up it must say so (exit status 0).
	if _, err := c.Exec("test", "-x", "/usr/bin/postfix-instances"); err == nil {
		n.Step("The instances as postfix-instances sees them")
		n.Output(w.Type(t, "", "postfix-instances", "status"))
	}

	n.Step("A message to postfix-in")
	d := w.SendTo(t, "alice@example.com", "bob@example.com")
	n.Say("the sink received it once, for both recipients; its Received: chain, newest first:")
	head, _, _ := strings.Cut(d.Message, "\n\n")
	showing := false // within a header shown
	for _, line := range strings.Split(head, "\n") {
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " ") {
			showing = strings.HasPrefix(line, "Received:") || strings.HasPrefix(line, "X-PFI-Filter:")
		}
		if showing {
			n.Output(line)
		}
	}
	n.Say("postfix-out's smtpd, told by XFORWARD who the client was and postfix-in's queue id:")
	n.Output(d.OutLog)
	n.OK("postfix-in %s -> content filter -> postfix-out %s -> internal mail host", d.InID, d.OutID)

	n.Step("A master killed")
	r := w.KillMaster(t, out2)
	n.Say("systemd saw its main process die and started %s again: master PID %s -> %s, %s later",
		out2, r.OldPID, r.NewPID, seconds(r.Back))
	n.Note("Restart=on-failure, RestartSec=1s; NRestarts=%s", r.NRestarts)
	d = w.SendTo(t, "carol@example.com")
	n.OK("mail flows again: postfix-in %s -> postfix-out %s", d.InID, d.OutID)

	n.Step("Stopping the group")
	stopped := w.StopGroup(t, group, out2, in)
	n.Say("stop order (systemd's timestamps):")
	for _, u := range stopped {
		n.Output(fmt.Sprintf("%-28s stopping %+.3f s   inactive %+.3f s", u.Unit, u.Began, u.End))
	}
	e2e.RequireActive(t, c, names.Default())
	n.OK("reverse order: postfix-in was down before postfix-out began to stop; %s, not in the group, runs on", names.Default())

	n.Step("Tearing down")
	took, _ = n.Progress("powering the container off", nil, func(func(string)) error {
		c.Shutdown()
		return nil
	})
	if machineRunning(c.Machine) {
		t.Fatalf("systemd-nspawn for %s still runs after teardown", c.Machine)
	}
	n.Say("container %s powered off and its layer removed in %s; nothing of it runs on this host", c.Machine, seconds(took))
}

// legendless drops systemctl's legend: everything from the first blank line.
func legendless(out string) string {
	before, _, _ := strings.Cut(out, "\n\n")
	return before
}

// buildFigures reports how far a debootstrap under the cache has got.
func buildFigures() string {
	builds, _ := filepath.Glob(filepath.Join(harness.CacheDir(), ".build-*"))
	if len(builds) == 0 {
		return ""
	}
	debs, _ := filepath.Glob(filepath.Join(builds[0], "var/cache/apt/archives/*.deb"))
	lists, _ := filepath.Glob(filepath.Join(builds[0], "var/lib/dpkg/info/*.list"))
	return fmt.Sprintf("(%d packages downloaded, %d installed)", len(debs), len(lists))
}

// machineRunning reports whether a systemd-nspawn for machine still runs.
func machineRunning(machine string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(data), "--machine="+machine+"\x00") {
			return true
		}
	}
	return false
}

func size(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
}

// diskUsage is the space the files under dir take, in MB.
func diskUsage(dir string) float64 {
	var blocks int64
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				blocks += st.Blocks
			}
		}
		return nil
	})
	return float64(blocks*512) / 1e6
}

// tryNext ends the transcript: the README's day-to-day commands, and where
// the cache is.
func tryNext(n *narrator, names e2e.Names) {
	out, in := strings.TrimSuffix(names.Unit("postfix-out"), ".service"), strings.TrimSuffix(names.Unit("postfix-in"), ".service")
	n.printf("\n%s\n", n.paint(bold, "Try next, on a host with the package installed (make packages; apt-get install ./dist/postfix-instances_*+"+names.Flavour+"_"+runtime.GOARCH+".deb):"))
	for _, l := range [][2]string{
		{"postmulti -l", "the instances, as upstream lists them"},
		{"postfix-instances status", "every instance as systemd runs it; exit status for monitoring"},
		{"postfix-instances check", "conflicts, loops and stale units across all instances"},
		{"systemctl status " + out, "one instance: its master, its log"},
		{"systemctl cat " + out, "what it runs: the template and the generated drop-in"},
		{"systemctl start|stop|restart " + names.Group("mta"), "a group"},
		{"systemctl reload postfix", "every running instance"},
		{"postmulti -g mta -p stop", "the same through the shim, waiting for every unit"},
		{"journalctl -u " + in, "an instance's log"},
		{"postmulti -I postfix-test -e create", "one more instance: its unit exists at once"},
	} {
		n.printf("   %s %s\n", n.paint(cyan, fmt.Sprintf("%-48s", l[0])), n.paint(dim, l[1]))
	}
	cache := harness.CacheDir()
	n.printf("\nThe root tree stays cached under %s (%.0f MB in all), so the next run boots in seconds.\n", cache, diskUsage(cache))
	n.printf("Remove it with: %s   (the next make demo or make test builds it again, about a minute)\n", n.paint(cyan, "rm -rf "+cache))
}
