// Package ansible tests the Ansible role ansible/roles/postfix_instances:
// ansible/walkthrough.yml run with ansible-core from Debian (connection
// local) inside a container booted by package harness, on Debian 12 and
// Debian 13 (harness.SuiteReleases), the role installing the release's
// .deb build from a signed APT repository.
package ansible

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/test/e2e"
)

// guestDir is where the repository's ansible/ directory is copied.
const guestDir = "/root/ansible"

// host is one release's container and what the role should do there.
type host struct {
	c    *harness.Container
	n    e2e.Names
	root string
	// units are the default instance's, postfix-out's and postfix-in's,
	// as the release names them.
	units []string
}

// ansibleFiles are the repository's ansible/ files, for the container.
func ansibleFiles(t *testing.T, root string) []harness.File {
	t.Helper()
	return treeFiles(t, filepath.Join(root, "ansible"), guestDir)
}

// treeFiles are the files under the host directory src, for the container
// under guest.
func treeFiles(t *testing.T, src, guest string) []harness.File {
	t.Helper()
	var files []harness.File
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		files = append(files, harness.File{Path: filepath.Join(guest, rel), Src: path, Mode: 0o644})
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", src, err)
	}
	return files
}

// recapRE is the PLAY RECAP line for localhost.
var recapRE = regexp.MustCompile(`(?m)^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+).*$`)

// playbook runs ansible-playbook on a playbook in guestDir and returns its
// output, its PLAY RECAP line for localhost and the changed count.
func playbook(t *testing.T, c *harness.Container, wantOK bool, name string, extra ...string) (out, recap string, changed int) {
	t.Helper()
	args := append([]string{"ansible-playbook", "-c", "local", "-i", "localhost,", "-e", "@" + repoVars, filepath.Join(guestDir, name)}, extra...)
	res, err := c.Exec(args...)
	out = res.Stdout + res.Stderr
	if (err == nil) != wantOK {
		t.Fatalf("%s: %v (want success: %v)\n%s", strings.Join(args, " "), err, wantOK, out)
	}
	m := recapRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no PLAY RECAP line for localhost\n%s", strings.Join(args, " "), out)
	}
	changed, _ = strconv.Atoi(m[2])
	return out, m[0], changed
}

// writePlaybook writes a variant of walkthrough.yml next to it, so that the
// role is found the same way.
func writePlaybook(t *testing.T, c *harness.Container, root, name string, edit func(string) string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "ansible", "walkthrough.yml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	changed := edit(text)
	if changed == text {
		t.Fatalf("%s: the edit changed nothing in walkthrough.yml", name)
	}
	c.WriteFile(filepath.Join(guestDir, name), []byte(changed), 0o644)
}

// state is what a reload must keep and a restart changes.
type state struct {
	pid, started string
	reloads      int
}

func snapshot(t *testing.T, h *host) map[string]state {
	t.Helper()
	out := map[string]state{}
	for _, u := range h.units {
		p := e2e.RequireActive(t, h.c, u)
		res, _ := h.c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "-u", u, "--grep", "^Reloaded ")
		n := 0
		for _, l := range strings.Split(res.Stdout, "\n") {
			if strings.HasPrefix(l, "Reloaded ") {
				n++
			}
		}
		out[u] = state{pid: p["MainPID"], started: p["ExecMainStartTimestampMonotonic"], reloads: n}
	}
	return out
}

// checkReloads waits until each unit has reloaded want[u] times since
// before (systemctl may return before reloads propagated to other units
// are done), then checks that no master was restarted and no unit
// reloaded more than that.
func checkReloads(t *testing.T, h *host, before map[string]state, want map[string]int) {
	t.Helper()
	var after map[string]state
	deadline := time.Now().Add(30 * time.Second)
	for {
		after = snapshot(t, h)
		done := true
		for _, u := range h.units {
			if after[u].reloads-before[u].reloads < want[u] {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, u := range h.units {
		b, a := before[u], after[u]
		t.Logf("%s: MainPID %s -> %s, ExecMainStart %s -> %s, reloads %d -> %d", u, b.pid, a.pid, b.started, a.started, b.reloads, a.reloads)
		if a.pid != b.pid || a.started != b.started {
			t.Errorf("%s was restarted", u)
		}
		if a.reloads-b.reloads != want[u] {
			t.Errorf("%s reloaded %d times, want %d", u, a.reloads-b.reloads, want[u])
		}
	}
}

func param(t *testing.T, c *harness.Container, dir, name string) string {
	t.Helper()
	return strings.TrimSpace(c.Run("postconf", "-c", dir, "-h", name))
}

func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

// defaultDropIn is the package's static drop-in that applies to the
// default instance's unit on release n: on the unit itself
// (postfix.service.d, Debian 13) or on its template (postfix@.service.d
// for postfix@-.service, Debian 12).
func defaultDropIn(t *testing.T, n e2e.Names) string {
	t.Helper()
	u := n.Default()
	tmpl := u
	if i := strings.Index(u, "@"); i >= 0 {
		tmpl = u[:i+1] + u[strings.LastIndex(u, "."):]
	}
	for _, d := range n.DropIns {
		if dir := filepath.Base(filepath.Dir(d)); dir == u+".d" || dir == tmpl+".d" {
			return d
		}
	}
	t.Fatalf("%s: no package drop-in applies to %s (%v)", n.Release, u, n.DropIns)
	return ""
}

// debVersion is the version of a .deb file, from its name.
func debVersion(deb string) string {
	f := strings.Split(strings.TrimSuffix(filepath.Base(deb), ".deb"), "_")
	if len(f) != 3 {
		return ""
	}
	return f[1]
}

// TestWalkthroughPlaybook runs ansible/walkthrough.yml on a fresh host of
// each release the suite covers (Debian 12 and 13; one container each, in
// parallel), the package installed by the role from a signed repository
// that has both the +deb12 and the +deb13 build, then checks idempotence,
// a one-parameter change, check mode, group reassignment, renames, a
// change to the default instance and pruning.
func TestWalkthroughPlaybook(t *testing.T) {
	harness.Require(t)
	releases, err := harness.SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var all []e2e.Names
	for _, r := range harness.Releases() {
		all = append(all, e2e.NamesFor(r))
	}
	debs, err := e2e.BuildDebsFor(t.TempDir(), all...)
	if err != nil {
		t.Fatal(err)
	}
	smtptool := harness.MustBuildGo(t, "./test/e2e/smtptool")
	repo, key := suiteRepo(t, debs)
	files := append(append(e2e.Scaffolding(smtptool), ansibleFiles(t, root)...), repo...)
	for _, r := range releases {
		n := e2e.NamesFor(r)
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			walkPlaybook(t, n, root, files, key, debs)
			t.Logf("the %s playbook walk-through took %s", r, time.Since(start).Round(time.Second))
		})
	}
}

func walkPlaybook(t *testing.T, n e2e.Names, root string, files []harness.File, key string, debs map[string]string) {
	c := harness.Boot(t, harness.Options{Release: n.Release, Files: files})
	h := &host{c: c, n: n, root: root, units: []string{n.Default(), n.Unit("postfix-out"), n.Unit("postfix-in")}}
	w := &e2e.Walk{C: c, Names: n}
	in := n.Unit("postfix-in")
	c.WriteFile(repoVars, []byte(repoVarsYAML(key)), 0o644)
	// The container has no network: its only repository is the test's.
	w.Type(t, "", "mv", "/etc/apt/sources.list", "/etc/apt/sources.list.offline")
	w.Type(t, "", "systemctl", "enable", "--now", "pfi-sink.service", "pfi-filter.service")

	step(t, "first run installs the +"+n.Flavour+" build from the repository", func(t *testing.T) {
		def := e2e.UnitProps(c, n.Default()) // Debian's unit, before the package
		out, recap, changed := playbook(t, c, true, "walkthrough.yml")
		t.Logf("first run: %s", recap)
		if changed == 0 {
			t.Fatalf("first run changed nothing:\n%s", out)
		}
		want := debVersion(debs[n.Flavour])
		if !strings.HasSuffix(want, "+"+n.Flavour) {
			t.Fatalf("the %s build %s has version %q", n.Flavour, debs[n.Flavour], want)
		}
		if res, err := c.Exec("dpkg-query", "-W", "-f", "${Status} ${Version}", "postfix-instances"); err != nil || res.Stdout != "install ok installed "+want {
			t.Fatalf("after the first run, dpkg says postfix-instances is %q (%v), want %s installed\n%s", res.Stdout, err, want, out)
		}
		pol := c.Run("apt-cache", "policy", "postfix-instances")
		if !strings.Contains(pol, "file:"+repoDir+" "+string(n.Release)+"/main") {
			t.Fatalf("apt-cache policy does not show the repository's %s suite:\n%s", n.Release, pol)
		}
		for f, deb := range debs {
			if v := debVersion(deb); f != n.Flavour && strings.Contains(pol, v) {
				t.Fatalf("apt-cache policy offers the %s build %s on %s:\n%s", f, v, n.Release, pol)
			}
		}
		t.Logf("installed %s", want)
		dropIn := defaultDropIn(t, n)
		p := e2e.RequireActive(t, c, n.Default())
		if !strings.Contains(p["DropInPaths"], dropIn) || p["ExecMainStartTimestampMonotonic"] == def["ExecMainStartTimestampMonotonic"] {
			t.Fatalf("%s was not restarted under the package's drop-in %s: before %v, after %v", n.Default(), dropIn, def, p)
		}
		for _, u := range h.units {
			e2e.RequireActive(t, c, u)
		}
		if got := param(t, c, "/etc/postfix-in", "default_transport"); got != "smtp:[127.0.0.1]:"+e2e.FilterPort {
			t.Fatalf("postfix-in default_transport = %q", got)
		}
		e2e.CheckDelivered(t, c, e2e.Send(t, c, "alice@example.com"), "alice@example.com")
	})

	step(t, "second run changes nothing", func(t *testing.T) {
		before := snapshot(t, h)
		out, recap, changed := playbook(t, c, true, "walkthrough.yml")
		t.Logf("second run: %s", recap)
		if changed != 0 {
			t.Fatalf("second run: %s, want changed=0\n%s", recap, out)
		}
		if after := snapshot(t, h); !equal(before, after) {
			t.Fatalf("second run touched the units: before %v, after %v", before, after)
		}
	})

	oneParam := func(s string) string {
		return strings.Replace(s, `smtp_destination_recipient_limit: "1000"`, `smtp_destination_recipient_limit: "999"`, 1)
	}
	writePlaybook(t, c, root, "changed.yml", oneParam)

	step(t, "check mode predicts and changes nothing", func(t *testing.T) {
		before := snapshot(t, h)
		out, recap, changed := playbook(t, c, true, "changed.yml", "--check", "--diff")
		t.Logf("--check --diff: %s", recap)
		if changed == 0 {
			t.Fatalf("--check did not predict the change: %s\n%s", recap, out)
		}
		for _, want := range []string{"-smtp_destination_recipient_limit = 1000", "+smtp_destination_recipient_limit = 999", "/etc/postfix-in/main.cf"} {
			if !strings.Contains(out, want) {
				t.Errorf("--diff output lacks %q", want)
			}
		}
		if got := param(t, c, "/etc/postfix-in", "smtp_destination_recipient_limit"); got != "1000" {
			t.Errorf("after --check, smtp_destination_recipient_limit = %q, want 1000 still", got)
		}
		if after := snapshot(t, h); !equal(before, after) {
			t.Errorf("--check touched the units: before %v, after %v", before, after)
		}
		if t.Failed() {
			t.Logf("%s", out)
		}
	})

	step(t, "one parameter reloads one instance", func(t *testing.T) {
		before := snapshot(t, h)
		out, recap, _ := playbook(t, c, true, "changed.yml")
		t.Logf("changed run: %s", recap)
		if got := param(t, c, "/etc/postfix-in", "smtp_destination_recipient_limit"); got != "999" {
			t.Fatalf("smtp_destination_recipient_limit = %q, want 999\n%s", got, out)
		}
		// Reloading a secondary does not propagate (on Debian 13 only
		// postfix.service's reloads do).
		checkReloads(t, h, before, map[string]int{in: 1})
		_, recap, changed := playbook(t, c, true, "changed.yml")
		if changed != 0 {
			t.Errorf("rerun of the changed playbook: %s, want changed=0", recap)
		}
		e2e.CheckDelivered(t, c, e2e.Send(t, c, "bob@example.com"), "bob@example.com")
	})

	step(t, "group reassignment", func(t *testing.T) { regroup(t, h) })

	step(t, "renaming is refused", func(t *testing.T) {
		writePlaybook(t, c, root, "rename.yml", func(s string) string {
			s = strings.Replace(s, `smtp_destination_recipient_limit: "1000"`, `smtp_destination_recipient_limit: "998"`, 1) // postfix-in's
			return strings.Replace(s, "          - name: postfix-out\n", "          - name: postfix-out2\n            config_directory: /etc/postfix-out\n", 1)
		})
		before := snapshot(t, h)
		out, recap, _ := playbook(t, c, false, "rename.yml")
		t.Logf("rename: %s", recap)
		if !strings.Contains(out, "the role does not rename instances") {
			t.Errorf("the failure does not say the role does not rename:\n%s", out)
		}
		// rename.yml also changes postfix-in's limit (999, as regroup left
		// it, to 998). The role checks every declaration before it changes
		// anything: the refused run changes nothing at all, so no edit is
		// left behind unreloaded.
		if got := param(t, c, "/etc/postfix-in", "smtp_destination_recipient_limit"); got != "999" {
			t.Errorf("after the refused rename run, postfix-in's smtp_destination_recipient_limit = %q, want 999 still\n%s", got, out)
		}
		checkReloads(t, h, before, nil)
		if l := c.Run("postfix-instances", "list", "--json"); strings.Contains(l, "postfix-out2") {
			t.Errorf("postfix-out2 exists after a refused rename:\n%s", l)
		}
		t.Logf("refusal: %s", refusal(out))
	})

	step(t, "the default instance cannot be declared (nor stopped)", func(t *testing.T) {
		writePlaybook(t, c, root, "stopdefault.yml", func(s string) string {
			return strings.Replace(s, "          - name: postfix-out\n", "          - name: \"-\"\n            enabled: false\n          - name: postfix-out\n", 1)
		})
		before := snapshot(t, h)
		out, recap, changed := playbook(t, c, false, "stopdefault.yml")
		t.Logf("default instance declared: %s", recap)
		if changed != 0 || !strings.Contains(out, "the default instance (/etc/postfix) is configured with postfix_instances_default_parameters") {
			t.Errorf("the run did not stop at the check, before any change: %s\n%s", recap, out)
		}
		if after := snapshot(t, h); !equal(before, after) {
			t.Errorf("declaring the default instance touched the units: before %v, after %v", before, after)
		}
	})

	// Debian 13's postfix@.service has ReloadPropagatedFrom=postfix.service:
	// reloading the default instance reloads every instance there.
	what := "reloads only the default instance"
	if n.Debian13 {
		what = "reloads every instance (ReloadPropagatedFrom=" + n.Default() + ")"
	}
	step(t, "a default-instance parameter "+what, func(t *testing.T) {
		// The host as regroup left it: postfix-out in group relay,
		// postfix-in's limit 999; only relayhost differs.
		writePlaybook(t, c, root, "default.yml", func(s string) string {
			s = strings.Replace(s, "group: mta", "group: relay", 1) // postfix-out's
			s = strings.Replace(s, `smtp_destination_recipient_limit: "1000"`, `smtp_destination_recipient_limit: "999"`, 1)
			return strings.Replace(s, `relayhost: "[mailhub.example.com]"`, `relayhost: "[mailhub2.example.com]"`, 1)
		})
		before := snapshot(t, h)
		out, recap, changed := playbook(t, c, true, "default.yml")
		t.Logf("default-instance change: %s", recap)
		if got := param(t, c, "/etc/postfix", "relayhost"); got != "[mailhub2.example.com]" || changed == 0 {
			t.Fatalf("relayhost = %q (%s), want [mailhub2.example.com]\n%s", got, recap, out)
		}
		want := map[string]int{n.Default(): 1}
		if n.Debian13 {
			for _, u := range h.units {
				want[u] = 1
			}
		}
		checkReloads(t, h, before, want)
	})

	step(t, "prune keeps queued mail", func(t *testing.T) {
		// postfix-out cannot deliver while the internal host is down: the
		// message waits in its queue.
		w.Type(t, "", "systemctl", "stop", "pfi-sink.service")
		e2e.Send(t, c, "carol@example.com")
		c.Eventually("a message queued in postfix-out", 60*time.Second, func() (bool, error) {
			res, err := c.Exec("postqueue", "-c", "/etc/postfix-out", "-j")
			return err == nil && strings.Contains(res.Stdout, "carol@example.com"), nil
		})
		writePlaybook(t, c, root, "prune.yml", func(s string) string {
			i, j := strings.Index(s, "          - name: postfix-out\n"), strings.Index(s, "          - name: postfix-in\n")
			if i < 0 || j < i {
				t.Fatalf("walkthrough.yml: postfix-out's entry not found before postfix-in's")
			}
			s = s[:i] + s[j:]
			// The default instance as the step above left it (on 13 a
			// change there would reload postfix-in too).
			s = strings.Replace(s, `relayhost: "[mailhub.example.com]"`, `relayhost: "[mailhub2.example.com]"`, 1)
			return strings.Replace(s, "      vars:\n", "      vars:\n        postfix_instances_prune: true\n", 1)
		})
		// Prune stops postfix-out before it refuses to destroy it: watch
		// postfix-in alone.
		hin := &host{c: c, n: n, root: root, units: []string{in}}
		before := snapshot(t, hin)
		out, recap, _ := playbook(t, c, false, "prune.yml")
		t.Logf("prune: %s", recap)
		// prune.yml also changes postfix-in's limit back to 1000, before
		// the prune fails: walkthrough.yml's force_handlers reloads it all
		// the same (without it, the edit would never be reloaded: the next
		// run finds nothing to change).
		if got := param(t, c, "/etc/postfix-in", "smtp_destination_recipient_limit"); got != "1000" {
			t.Errorf("after the failed prune run, postfix-in's smtp_destination_recipient_limit = %q, want 1000\n%s", got, out)
		}
		// Polled here, in the step's goroutine (c.Eventually would fail
		// the parent test).
		after := snapshot(t, hin)
		for deadline := time.Now().Add(30 * time.Second); after[in].reloads == before[in].reloads && time.Now().Before(deadline); {
			time.Sleep(500 * time.Millisecond)
			after = snapshot(t, hin)
		}
		if after[in].pid != before[in].pid || after[in].reloads-before[in].reloads != 1 {
			t.Errorf("%s: MainPID %s -> %s, reloads %d -> %d; want the same master, reloaded once",
				in, before[in].pid, after[in].pid, before[in].reloads, after[in].reloads)
		}
		if _, err := c.Exec("test", "-f", "/etc/postfix-out/main.cf"); err != nil {
			t.Fatalf("postfix-out's configuration is gone after a refused prune\n%s", out)
		}
		res, err := c.Exec("postqueue", "-c", "/etc/postfix-out", "-j")
		if err != nil || !strings.Contains(res.Stdout, "carol@example.com") {
			t.Fatalf("the queued message is gone from postfix-out: %v %s\n%s", err, res.Stdout, out)
		}
		if !strings.Contains(out, "postmulti -i postfix-out -e destroy: exit 1: ") || !strings.Contains(out, "has mail in its queue") {
			t.Errorf("the failure does not name the refused destroy and its reason:\n%s", out)
		}
		t.Logf("refusal: %s", refusal(out))
		e2e.RequireActive(t, c, in)
		e2e.RequireActive(t, c, n.Default())
	})
}

// regroup moves postfix-out from group mta to group relay with the role:
// --check predicts it, the run does it with postmulti -e assign and
// touches no master, systemd's dependencies follow (the unit is part of
// and wanted by postfix-relay.target, no longer postfix-mta.target), a
// rerun changes nothing, and restarting each target restarts exactly its
// members.
func regroup(t *testing.T, h *host) {
	c := h.c
	out := h.n.Unit("postfix-out")
	in := h.n.Unit("postfix-in")
	writePlaybook(t, c, h.root, "regroup.yml", func(s string) string {
		s = strings.Replace(s, `smtp_destination_recipient_limit: "1000"`, `smtp_destination_recipient_limit: "999"`, 1)
		return strings.Replace(s, "group: mta", "group: relay", 1) // postfix-out's
	})
	before := snapshot(t, h)
	o, recap, changed := playbook(t, c, true, "regroup.yml", "--check", "--diff")
	t.Logf("--check --diff: %s", recap)
	if changed == 0 || !strings.Contains(o, "-multi_instance_group = mta") || !strings.Contains(o, "+multi_instance_group = relay") {
		t.Fatalf("--check did not predict the move: %s\n%s", recap, o)
	}
	if g := param(t, c, "/etc/postfix-out", "multi_instance_group"); g != "mta" {
		t.Fatalf("after --check, postfix-out's group is %q", g)
	}
	o, recap, changed = playbook(t, c, true, "regroup.yml")
	t.Logf("regroup run: %s", recap)
	if changed == 0 || !strings.Contains(o, "postmulti -i postfix-out -G relay -e assign") && !strings.Contains(o, "changed: [localhost] => (item=postfix-out)") {
		t.Fatalf("the run did not move postfix-out: %s\n%s", recap, o)
	}
	if g := param(t, c, "/etc/postfix-out", "multi_instance_group"); g != "relay" {
		t.Fatalf("postfix-out's group is %q, want relay\n%s", g, o)
	}
	if after := snapshot(t, h); !equal(before, after) {
		t.Errorf("moving postfix-out restarted or reloaded a master: before %v, after %v", before, after)
	}
	show := func(unit, prop string) string {
		return strings.TrimSpace(c.Run("systemctl", "show", "-P", prop, unit))
	}
	t.Logf("%s: PartOf=%s WantedBy=%s NeedDaemonReload=%s", out, show(out, "PartOf"), show(out, "WantedBy"), show(out, "NeedDaemonReload"))
	// Debian's template adds PartOf=postfix.service.
	if p := show(out, "PartOf"); !strings.Contains(p, "postfix-relay.target") || strings.Contains(p, "postfix-mta.target") {
		t.Errorf("%s PartOf=%q, want postfix-relay.target and not postfix-mta.target", out, p)
	}
	if wb := show(out, "WantedBy"); !strings.Contains(wb, "postfix-relay.target") || strings.Contains(wb, "postfix-mta.target") {
		t.Errorf("%s WantedBy=%q, want postfix-relay.target and not postfix-mta.target", out, wb)
	}
	if w := show("postfix-mta.target", "Wants"); strings.Contains(w, out) || !strings.Contains(w, in) {
		t.Errorf("postfix-mta.target Wants=%q, want %s without %s", w, in, out)
	}
	if n := show(out, "NeedDaemonReload"); n != "no" {
		t.Errorf("%s NeedDaemonReload=%s after the move", out, n)
	}
	if _, recap, changed := playbook(t, c, true, "regroup.yml"); changed != 0 {
		t.Errorf("rerun after the move: %s, want changed=0", recap)
	} else {
		t.Logf("rerun after the move: %s", recap)
	}
	pid := func(u string) string { return show(u, "MainPID") }
	o1, i1 := pid(out), pid(in)
	c.Run("systemctl", "restart", "postfix-mta.target")
	e2e.RequireActive(t, c, in)
	if o2, i2 := pid(out), pid(in); o2 != o1 || i2 == i1 {
		t.Errorf("restart postfix-mta.target: %s %s -> %s (want unchanged), %s %s -> %s (want restarted)", out, o1, o2, in, i1, i2)
	}
	o1, i1 = pid(out), pid(in)
	c.Run("systemctl", "restart", "postfix-relay.target")
	e2e.RequireActive(t, c, out)
	if o2, i2 := pid(out), pid(in); o2 == o1 || i2 != i1 {
		t.Errorf("restart postfix-relay.target: %s %s -> %s (want restarted), %s %s -> %s (want unchanged)", out, o1, o2, in, i1, i2)
	}
}

// refusal is the failed task's message in ansible-playbook's output.
func refusal(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "FAILED!") || strings.Contains(l, "failed:") {
			return strings.TrimSpace(l)
		}
	}
	return "(none)"
}

func equal(a, b map[string]state) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestLint runs Debian's ansible-lint on the role and the playbook, on the
// host (scripts/install-deps.sh installs it).
func TestLint(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs ansible-lint")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("ansible-lint"); err != nil {
		t.Fatalf("ansible-lint is not installed (scripts/install-deps.sh): %v", err)
	}
	cmd := exec.Command("ansible-lint", "roles/postfix_instances", "walkthrough.yml")
	cmd.Dir = filepath.Join(root, "ansible")
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Passed with production profile: 0 failure(s), 0 warning(s)") {
		t.Fatalf("ansible-lint: %v\n%s", err, out)
	}
}
