package check_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/check"
	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
	"github.com/postfix-systemd/postfix-instances/test/e2e"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.CleanupBuilds()
	os.Exit(code)
}

// helperEnv makes this test binary, copied into a container, run check on
// the container's own file system (TestCheckHelper).
const helperEnv = "PFI_CHECK_HELPER"

// TestCheckHelper is not a test: run by TestContainerWalkthrough inside
// the container (with helperEnv set), it prints check's report on "/"
// between markers.
func TestCheckHelper(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper for TestContainerWalkthrough")
	}
	fsys := instance.DirFS("/")
	set, err := instance.Load(fsys, "/etc/postfix")
	if err != nil {
		t.Fatal(err)
	}
	in := check.Input{Set: set, FS: fsys}
	if os.Getenv(helperEnv) == "dbus" {
		m, err := systemd.Connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		in.Systemd = m
	}
	r := check.Run(context.Background(), in)
	var b strings.Builder
	r.WriteText(&b)
	os.Stdout.WriteString("--- report\n" + b.String() + "--- end\n")
}

// TestContainerWalkthrough runs check inside a booted Debian 12
// container, on the end-to-end walk-through with its instances running
// under real systemd, reading systemd from the files and over D-Bus:
// clean. An edit of postfix-in's main.cf makes a daemon-reload due (in
// both views, systemd's own NeedDaemonReload included) until it is done.
// Then postfix-out gets a second listener on postfix-in's address: check
// reports exactly that, and the real masters agree: both listen there.
func TestContainerWalkthrough(t *testing.T) {
	harness.Require(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const bin = "/usr/local/libexec/pfi-test/check.test"
	p := e2e.BuildProduct(t)
	c := harness.Boot(t, harness.Options{Files: append(p.Files(), harness.File{Path: bin, Src: self, Mode: 0o755})})
	e2e.SetUp(t, c, e2e.Walkthrough)
	c.Run("systemctl", "start", "postfix-mta.target")
	report := func(mode string) string {
		t.Helper()
		res, err := c.Exec("env", helperEnv+"="+mode, bin, "-test.run=^TestCheckHelper$", "-test.v")
		if err != nil {
			t.Fatalf("check in the container: %v\n%s", err, res.Stdout)
		}
		_, r, ok := strings.Cut(res.Stdout, "--- report\n")
		r, _, ok2 := strings.Cut(r, "--- end\n")
		if !ok || !ok2 {
			t.Fatalf("no report in:\n%s", res.Stdout)
		}
		return r
	}
	for _, mode := range []string{"files", "dbus"} {
		if r := report(mode); r != "0 errors, 0 warnings in 3 instances\n" {
			t.Errorf("the running walk-through is not clean (%s):\n%s", mode, r)
		}
	}
	// main.cf edited: systemd itself says a daemon-reload is due (the
	// drop-in's SourcePath=), and so do the files.
	time.Sleep(1100 * time.Millisecond) // a newer mtime, whatever the file system's granularity
	c.Run("postconf", "-c", "/etc/postfix-in", "-e", "smtpd_banner = $myhostname ESMTP")
	for _, mode := range []string{"files", "dbus"} {
		r := report(mode)
		if !strings.HasPrefix(r, "warning: postfix-in: /etc/postfix-in/main.cf: ") || !strings.Contains(r, "[daemon-reload-due]") ||
			!strings.HasSuffix(r, "0 errors, 1 warning in 3 instances\n") {
			t.Errorf("after editing postfix-in's main.cf (%s):\n%s", mode, r)
		}
	}
	c.DaemonReload()
	if r := report("dbus"); r != "0 errors, 0 warnings in 3 instances\n" {
		t.Errorf("after daemon-reload:\n%s", r)
	}

	c.Run("postconf", "-c", "/etc/postfix-out", "-M", "127.0.0.1:"+e2e.InPort+"/inet=127.0.0.1:"+e2e.InPort+" inet n - n - - smtpd")
	r := report("dbus")
	want := "error: postfix-in: /etc/postfix-in/master.cf:"
	if !strings.HasPrefix(r, want) || !strings.Contains(r, "service 127.0.0.1:"+e2e.InPort+" listens on 127.0.0.1:"+e2e.InPort+", as does instance postfix-out's service 127.0.0.1:"+e2e.InPort) ||
		!strings.HasSuffix(r, "1 error, 0 warnings in 3 instances\n") {
		t.Errorf("after adding 127.0.0.1:%s to postfix-out, check says:\n%s", e2e.InPort, r)
	}
	// The real masters: restarted, postfix-out binds postfix-in's address
	// too (Postfix sets SO_REUSEPORT), and both listen there.
	c.Run("systemctl", "restart", "postfix@postfix-out.service")
	var units []string
	c.Eventually("two masters listening on 127.0.0.1:"+e2e.InPort, 30*time.Second, func() (bool, error) {
		res, err := c.Exec("ss", "-Hltnp", "sport = :"+e2e.InPort)
		if err != nil {
			return false, err
		}
		units = nil
		for _, m := range regexp.MustCompile(`"master",pid=([0-9]+)`).FindAllStringSubmatch(res.Stdout, -1) {
			pid, _ := strconv.Atoi(m[1])
			if u, ok := c.ServiceOf(pid); ok {
				units = append(units, u)
			}
		}
		slices.Sort(units)
		return len(units) == 2, nil
	})
	if want := []string{"postfix@postfix-in.service", "postfix@postfix-out.service"}; !slices.Equal(units, want) {
		t.Errorf("masters listening on 127.0.0.1:%s run in %q, want %q", e2e.InPort, units, want)
	}
}
