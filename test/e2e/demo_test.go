package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// TestDemo runs make demo's script as a user runs it, as root, to the
// end, on each release of the suite (make demo RELEASE=...; Debian 12 and
// 13, sid in make test-sid): it must exit 0 (it exits 1 when a step the
// transcript shows fails, since its steps are this package's Walk),
// narrate every step, show the essential output, use no colour when stdout
// is not a terminal, and leave its container gone.
func TestDemo(t *testing.T) {
	harness.Require(t)
	releases, err := harness.SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range releases {
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			demo(t, NamesFor(r))
		})
	}
}

func demo(t *testing.T, names Names) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "scripts", "demo.sh"))
	cmd.Dir = root
	release := string(names.Release)
	if names.Release == harness.Bookworm {
		release = "" // scripts/demo.sh's default
	}
	cmd.Env = append(os.Environ(), "RELEASE="+release)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	out := stdout.String()
	t.Logf("RELEASE=%s scripts/demo.sh ran %s", release, time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	for _, want := range []string{
		"1. What this machine needs",
		"# scripts/install-deps.sh demo",
		"# apt-get install -y '/root/postfix-instances_",
		"Setting up postfix-instances (",
		"# postmulti -e init\n",
		"# postmulti -I postfix-out -G mta -e create\n",
		"# postmulti -I postfix-in -G mta -e create\n",
		"postfix-out     mta             y         /etc/postfix-out\n",
		"postfix-in      mta             y         /etc/postfix-in\n",
		"# systemctl start " + names.Group("mta") + "\n",
		"# systemctl list-units 'postfix*'\n",
		names.Unit("postfix-out") + " loaded active running",
		"by out.mta1.example.com (Postfix) with ESMTP id",
		"X-PFI-Filter: passed",
		"by in.mta1.example.com (Postfix) with ESMTP id",
		"orig_queue_id=",
		"# kill -9 ",
		"# systemctl stop " + names.Group("mta") + "\n",
		"The walk-through ran to the end in ",
		"rm -rf " + harness.CacheDir(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the transcript lacks %q", want)
		}
	}
	// The start and stop orders, as shown.
	o, i := regexp.QuoteMeta(names.Unit("postfix-out")), regexp.QuoteMeta(names.Unit("postfix-in"))
	if !regexp.MustCompile(`(?s)start order.*` + o + ` +starting.*` + i + ` +starting`).MatchString(out) {
		t.Errorf("the transcript does not show postfix-out starting before postfix-in")
	}
	if !regexp.MustCompile(`(?s)stop order.*` + i + ` +stopping.*` + o + ` +stopping`).MatchString(out) {
		t.Errorf("the transcript does not show postfix-in stopping before postfix-out")
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("the transcript has terminal escapes although stdout is not a terminal")
	}
	if m := regexp.MustCompile(`container (pfi-[0-9a-f]+) powered off`).FindStringSubmatch(out); m == nil {
		t.Errorf("the transcript does not say the container was powered off")
	} else if procs := nspawnFor(m[1]); len(procs) > 0 {
		t.Errorf("systemd-nspawn for %s still runs after the demo: PIDs %v", m[1], procs)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
	}
}

// TestDemoUnknownRelease: make demo RELEASE=X with a release the demo does
// not know fails at once, saying so.
func TestDemoUnknownRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go run")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./test/e2e/demo", "-release", "woody")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `demo: unknown release "woody" (bookworm, trixie, sid)`) {
		t.Fatalf("demo -release woody: %v\n%s", err, out)
	}
}

// nspawnFor lists the systemd-nspawn processes running machine.
func nspawnFor(machine string) []string {
	var pids []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte("--machine="+machine+"\x00")) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}
