// Package ansible tests the Ansible role ansible/roles/postfix_instances:
// ansible/walkthrough.yml run with ansible-core from Debian (connection
// local) inside a container booted by package harness, with the product
// installed from its .deb, as test/e2e does.
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

var units = []string{e2e.Unit("-"), e2e.Unit("postfix-out"), e2e.Unit("postfix-in")}

// ansibleFiles are the repository's ansible/ files, for the container.
func ansibleFiles(t *testing.T, root string) []harness.File {
	t.Helper()
	var files []harness.File
	src := filepath.Join(root, "ansible")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		files = append(files, harness.File{Path: filepath.Join(guestDir, rel), Src: path, Mode: 0o644})
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
	args := append([]string{"ansible-playbook", "-c", "local", "-i", "localhost,", filepath.Join(guestDir, name)}, extra...)
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

func snapshot(t *testing.T, c *harness.Container) map[string]state {
	t.Helper()
	out := map[string]state{}
	for _, u := range units {
		p := e2e.RequireActive(t, c, u)
		res, _ := c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "-u", u, "--grep", "^Reloaded ")
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

// TestWalkthroughPlaybook runs ansible/walkthrough.yml on a fresh Debian
// host with the package installed, then checks idempotence, a one-parameter
// change, check mode and pruning.
func TestWalkthroughPlaybook(t *testing.T) {
	harness.Require(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	deb, err := e2e.BuildDeb(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	smtptool := harness.MustBuildGo(t, "./test/e2e/smtptool")
	c := harness.Boot(t, harness.Options{Files: append(e2e.Scaffolding(smtptool), ansibleFiles(t, root)...)})
	w := &e2e.Walk{C: c}
	w.InstallDeb(t, deb)
	w.RestartPostfix(t)
	w.Type(t, "", "systemctl", "enable", "--now", "pfi-sink.service", "pfi-filter.service")

	step(t, "first run", func(t *testing.T) {
		out, recap, changed := playbook(t, c, true, "walkthrough.yml")
		t.Logf("first run: %s", recap)
		if changed == 0 {
			t.Fatalf("first run changed nothing:\n%s", out)
		}
		for _, u := range units {
			e2e.RequireActive(t, c, u)
		}
		if got := param(t, c, "/etc/postfix-in", "default_transport"); got != "smtp:[127.0.0.1]:"+e2e.FilterPort {
			t.Fatalf("postfix-in default_transport = %q", got)
		}
		e2e.CheckDelivered(t, c, e2e.Send(t, c, "alice@example.com"), "alice@example.com")
	})

	step(t, "second run changes nothing", func(t *testing.T) {
		before := snapshot(t, c)
		out, recap, changed := playbook(t, c, true, "walkthrough.yml")
		t.Logf("second run: %s", recap)
		if changed != 0 {
			t.Fatalf("second run: %s, want changed=0\n%s", recap, out)
		}
		if after := snapshot(t, c); !equal(before, after) {
			t.Fatalf("second run touched the units: before %v, after %v", before, after)
		}
	})

	oneParam := func(s string) string {
		return strings.Replace(s, `smtp_destination_recipient_limit: "1000"`, `smtp_destination_recipient_limit: "999"`, 1)
	}
	writePlaybook(t, c, root, "changed.yml", oneParam)

	step(t, "check mode predicts and changes nothing", func(t *testing.T) {
		before := snapshot(t, c)
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
		if after := snapshot(t, c); !equal(before, after) {
			t.Errorf("--check touched the units: before %v, after %v", before, after)
		}
		if t.Failed() {
			t.Logf("%s", out)
		}
	})

	step(t, "one parameter reloads one instance", func(t *testing.T) {
		before := snapshot(t, c)
		out, recap, _ := playbook(t, c, true, "changed.yml")
		t.Logf("changed run: %s", recap)
		if got := param(t, c, "/etc/postfix-in", "smtp_destination_recipient_limit"); got != "999" {
			t.Fatalf("smtp_destination_recipient_limit = %q, want 999\n%s", got, out)
		}
		after := snapshot(t, c)
		for _, u := range units {
			b, a := before[u], after[u]
			t.Logf("%s: MainPID %s -> %s, ExecMainStart %s -> %s, reloads %d -> %d", u, b.pid, a.pid, b.started, a.started, b.reloads, a.reloads)
			if a.pid != b.pid || a.started != b.started {
				t.Errorf("%s was restarted", u)
			}
			want := b.reloads
			if u == e2e.Unit("postfix-in") {
				want++
			}
			if a.reloads != want {
				t.Errorf("%s reloaded %d times, want %d", u, a.reloads-b.reloads, want-b.reloads)
			}
		}
		_, recap, changed := playbook(t, c, true, "changed.yml")
		if changed != 0 {
			t.Errorf("rerun of the changed playbook: %s, want changed=0", recap)
		}
		e2e.CheckDelivered(t, c, e2e.Send(t, c, "bob@example.com"), "bob@example.com")
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
			return strings.Replace(s, "      vars:\n", "      vars:\n        postfix_instances_prune: true\n", 1)
		})
		out, recap, _ := playbook(t, c, false, "prune.yml")
		t.Logf("prune: %s", recap)
		if _, err := c.Exec("test", "-f", "/etc/postfix-out/main.cf"); err != nil {
			t.Fatalf("postfix-out's configuration is gone after a refused prune\n%s", out)
		}
		res, err := c.Exec("postqueue", "-c", "/etc/postfix-out", "-j")
		if err != nil || !strings.Contains(res.Stdout, "carol@example.com") {
			t.Fatalf("the queued message is gone from postfix-out: %v %s\n%s", err, res.Stdout, out)
		}
		if !strings.Contains(out, "postmulti -i postfix-out -e destroy") {
			t.Errorf("the failure does not name the refused destroy:\n%s", out)
		}
		t.Logf("refusal: %s", refusal(out))
		e2e.RequireActive(t, c, e2e.Unit("postfix-in"))
	})
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
