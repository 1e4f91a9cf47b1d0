package postmulti

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// debian13Root is testRoot with Debian 13's postfix.service installed (the
// Debian13 layout: postfix-out in /etc/postfix-out is postfix@out.service)
// and, when enabled is given, "systemctl enable" links for those units in
// /etc/systemd/system/multi-user.target.wants/.
func debian13Root(t *testing.T, enabled ...string) string {
	t.Helper()
	root := testRoot(t)
	data, err := os.ReadFile("../../generator/testdata/debian13-walkthrough/root/usr/lib/systemd/system/postfix.service")
	if err != nil {
		t.Fatal(err)
	}
	units := filepath.Join(root, "usr/lib/systemd/system")
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	for _, d := range []string{units, wants} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(units, unit.Umbrella), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range enabled {
		if err := os.Symlink(unit.Debian13.LinkTarget(u), filepath.Join(wants, u)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestDisableWarnsOfSystemctlEnable: on Debian 13, postmulti -e disable
// edits main.cf as upstream does, exit status included, and warns when
// "systemctl enable" linked the instance's unit in /etc, which keeps
// starting it at boot. Upstream prints nothing; so do we elsewhere.
func TestDisableWarnsOfSystemctlEnable(t *testing.T) {
	const warning = `postmulti: warning: postfix-out: multi_instance_enable = no, but /etc/systemd/system/multi-user.target.wants/postfix@out.service ("systemctl enable") still starts postfix@out.service at boot; postmulti -e disable does not remove that link: run "systemctl disable postfix@out.service"` + "\n"
	for _, tc := range []struct {
		name       string
		root       func(t *testing.T) string
		args       []string
		wantStderr string
		wantEnable string
	}{
		{"debian13, linked", func(t *testing.T) string { return debian13Root(t, "postfix@out.service") },
			a("-i", "postfix-out", "-e", "disable"), warning, "no"},
		{"debian13, linked, already disabled", func(t *testing.T) string {
			root := debian13Root(t, "postfix@out.service")
			if _, stderr, code := runTest(t, root, &fakeLifecycle{}, "-i", "postfix-out", "-e", "disable"); code != 0 {
				t.Fatalf("first disable: exit %d: %s", code, stderr)
			}
			return root
		}, a("-i", "postfix-out", "-e", "disable"), warning, "no"},
		{"debian13, not linked", func(t *testing.T) string { return debian13Root(t, "postfix@in.service") },
			a("-i", "postfix-out", "-e", "disable"), "", "no"},
		{"debian13, linked, enable", func(t *testing.T) string { return debian13Root(t, "postfix@out.service") },
			a("-i", "postfix-out", "-e", "enable"), "", "yes"},
		{"debian13, default instance", func(t *testing.T) string { return debian13Root(t, "postfix.service") },
			a("-i", "-", "-e", "disable"), "", "no"},
		{"classic, linked", func(t *testing.T) string {
			root := testRoot(t)
			wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
			if err := os.MkdirAll(wants, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("/lib/systemd/system/postfix@.service", filepath.Join(wants, "postfix@postfix-out.service")); err != nil {
				t.Fatal(err)
			}
			return root
		}, a("-i", "postfix-out", "-e", "disable"), "", "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.root(t)
			f := &fakeLifecycle{}
			_, stderr, code := runTest(t, root, f, tc.args...)
			if code != 0 || stderr != tc.wantStderr {
				t.Errorf("%q: exit %d, stderr %q; want 0, %q", tc.args, code, stderr, tc.wantStderr)
			}
			dir := "etc/postfix-out"
			if tc.args[1] == "-" {
				dir = "etc/postfix"
			}
			b, err := os.ReadFile(filepath.Join(root, dir, "main.cf"))
			if err != nil {
				t.Fatal(err)
			}
			other := map[string]string{"yes": "no", "no": "yes"}[tc.wantEnable]
			if !strings.Contains(string(b), "multi_instance_enable = "+tc.wantEnable+"\n") || strings.Contains(string(b), "multi_instance_enable = "+other) {
				t.Errorf("%q: main.cf is now %q, want multi_instance_enable = %s", tc.args, b, tc.wantEnable)
			}
			if f.reloads != 1 {
				t.Errorf("%q: %d daemon-reloads, want 1", tc.args, f.reloads)
			}
		})
	}
}

// TestPostfixModeLayout: -p hands the lifecycle the detected layout, and
// says whether the selection is every instance (lifecycle.Options.Whole,
// on which the Debian13 refusal of a stop of the default instance alone
// depends).
func TestPostfixModeLayout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		root   func(t *testing.T) string
		args   []string
		layout unit.Layout
		whole  bool
	}{
		{"debian13, all", func(t *testing.T) string { return debian13Root(t) }, a("-p", "stop"), unit.Debian13, true},
		{"debian13, -a", func(t *testing.T) string { return debian13Root(t) }, a("-a", "-p", "stop"), unit.Debian13, true},
		{"debian13, default", func(t *testing.T) string { return debian13Root(t) }, a("-i", "-", "-p", "stop"), unit.Debian13, false},
		{"debian13, group", func(t *testing.T) string { return debian13Root(t) }, a("-g", "mta", "-p", "stop"), unit.Debian13, false},
		{"classic, all", testRoot, a("-p", "stop"), unit.Classic, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLifecycle{}
			if _, stderr, code := runTest(t, tc.root(t), f, tc.args...); code != 0 {
				t.Fatalf("%q: exit %d: %s", tc.args, code, stderr)
			}
			if f.opts.Layout != tc.layout || f.opts.Whole != tc.whole {
				t.Errorf("%q: lifecycle got Layout %v, Whole %v; want %v, %v", tc.args, f.opts.Layout, f.opts.Whole, tc.layout, tc.whole)
			}
		})
	}
}
