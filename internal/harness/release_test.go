package harness

import (
	"os"
	"strings"
	"testing"
)

func TestParseRelease(t *testing.T) {
	for in, want := range map[string]Release{
		"bookworm": Bookworm, "12": Bookworm, "debian12": Bookworm,
		"trixie": Trixie, "13": Trixie, " Debian13 ": Trixie,
		"sid": Sid, "unstable": Sid,
	} {
		if got, err := ParseRelease(in); err != nil || got != want {
			t.Errorf("ParseRelease(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "forky", "14", "../x"} {
		if got, err := ParseRelease(in); err == nil {
			t.Errorf("ParseRelease(%q) = %q, want an error", in, got)
		}
	}
}

// TestTreeKeys pins the Debian 12 tree's key (so that a refactoring never
// orphans the cached tree) and checks that every release has its own.
func TestTreeKeys(t *testing.T) {
	t.Setenv(CacheEnv, "/cache")
	const bookwormSpec = "suite=bookworm\nvariant=minbase\ninclude=ansible-core,dbus,iproute2,postfix,procps,python3,python3-apt,python3-cffi-backend,swaks,systemd,systemd-sysv\nprovision=1\n"
	// Changing Packages changes the spec and so the key: update both here,
	// knowing every cached tree is then rebuilt once.
	if got := treeSpec(Bookworm); got != bookwormSpec {
		t.Errorf("treeSpec(bookworm) = %q, want %q", got, bookwormSpec)
	}
	if TreeDir(Bookworm) != "/cache/debian12-b0ebf04016dd36db" {
		t.Errorf("TreeDir(bookworm) = %s, want /cache/debian12-b0ebf04016dd36db", TreeDir(Bookworm))
	}
	if TreeKey() != TreeKeyFor(Bookworm) {
		t.Errorf("TreeKey() = %s, TreeKeyFor(bookworm) = %s", TreeKey(), TreeKeyFor(Bookworm))
	}
	seen := map[string]Release{}
	for _, r := range Releases() {
		d := TreeDir(r)
		if !strings.HasPrefix(d, "/cache/"+r.dirPrefix()+"-") {
			t.Errorf("TreeDir(%s) = %s", r, d)
		}
		if o, dup := seen[d]; dup {
			t.Errorf("%s and %s share the tree %s", r, o, d)
		}
		seen[d] = r
	}
}

func TestDefaultRelease(t *testing.T) {
	t.Setenv(ReleaseEnv, "")
	if r, err := DefaultRelease(); err != nil || r != Bookworm {
		t.Errorf("default = %q, %v", r, err)
	}
	if rs, err := SuiteReleases(); err != nil || len(rs) != 2 || rs[0] != Bookworm || rs[1] != Trixie {
		t.Errorf("SuiteReleases() = %v, %v", rs, err)
	}
	t.Setenv(ReleaseEnv, "sid")
	if r, err := DefaultRelease(); err != nil || r != Sid {
		t.Errorf("PFI_TEST_RELEASE=sid: %q, %v", r, err)
	}
	if rs, err := SuiteReleases(); err != nil || len(rs) != 1 || rs[0] != Sid {
		t.Errorf("PFI_TEST_RELEASE=sid: SuiteReleases() = %v, %v", rs, err)
	}
	t.Setenv(ReleaseEnv, "forky")
	if _, err := DefaultRelease(); err == nil {
		t.Errorf("PFI_TEST_RELEASE=forky accepted")
	}
}

// postfixSeries is the Postfix each release ships (mail_version's prefix).
var postfixSeries = map[Release]string{Bookworm: "3.7.", Trixie: "3.10.", Sid: "3.11."}

// TestBootReleases boots every release under test (Debian 12 and 13; only
// $PFI_TEST_RELEASE when set): systemd as PID 1 reaches running or
// degraded, answers on the system bus, and the release's Postfix is there.
func TestBootReleases(t *testing.T) {
	Require(t)
	rels, err := SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		t.Run(string(r), func(t *testing.T) {
			c := Boot(t, Options{Release: r})
			if got, err := c.Release(); err != nil || got != r {
				t.Errorf("Release() = %q, %v", got, err)
			}
			osr := c.Run("cat", "/etc/os-release")
			if want := "VERSION_CODENAME=" + string(r); r != Sid && !strings.Contains(osr, want+"\n") {
				t.Errorf("/etc/os-release lacks %s:\n%s", want, osr)
			}
			if got := strings.TrimSpace(c.Run("cat", "/proc/1/comm")); got != "systemd" {
				t.Errorf("PID 1 is %q", got)
			}
			state := strings.TrimSpace(c.Run("systemctl", "is-system-running"))
			if state != "running" && state != "degraded" {
				t.Errorf("is-system-running = %q", state)
			}
			if state == "degraded" {
				t.Logf("degraded; failed units:\n%s", c.Run("systemctl", "--failed", "--no-legend"))
			}
			// D-Bus: the bus daemon answers and PID 1 is on it.
			names := c.Run("busctl", "--system", "--no-pager", "--no-legend", "list")
			if !strings.Contains(names, "org.freedesktop.systemd1") || !strings.Contains(names, "org.freedesktop.DBus") {
				t.Errorf("busctl list lacks systemd1 or DBus:\n%s", names)
			}
			if got := c.Run("busctl", "--system", "get-property", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
				"org.freedesktop.systemd1.Manager", "SystemState"); !strings.Contains(got, "running") && !strings.Contains(got, "degraded") {
				t.Errorf("SystemState over D-Bus = %q", got)
			}
			v := strings.TrimSpace(c.Run("postconf", "-h", "mail_version"))
			if !strings.HasPrefix(v, postfixSeries[r]) {
				t.Errorf("mail_version = %q, want %s*", v, postfixSeries[r])
			}
			t.Logf("%s: systemd %s, postfix %s, state %s", r,
				strings.Fields(c.Run("systemctl", "--version"))[1], v, state)
			if _, err := os.Stat(TreeDir(r)); err != nil {
				t.Errorf("tree not cached: %v", err)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	out := "=== RUN   TestA\n    x_test.go:12: 695 cases, 4 differ, in 2s\n--- PASS: TestA (0.1s)\n--- FAIL: TestB (0.1s)\n    --- PASS: TestB/sub (0s)\n--- SKIP: TestC (0s)\n"
	want := "passed 1, failed 1, skipped 1; 695 cases, 4 differ, in 2s"
	if got := Summary(out); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}
