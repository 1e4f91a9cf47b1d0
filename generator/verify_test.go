package generator

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// verifyTree runs "systemd-analyze verify" on every unit the tree in dir
// defines or instantiates, with the shipped units/postfix@.service and
// units/postfix.service, and Debian's drop-in for the template, beside them. systemd-analyze verify only loads unit
// files; it boots nothing. Any message on its output (an unknown key, a bad
// value, a missing executable, a dependency cycle) fails the test.
func verifyTree(t *testing.T, dir string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is needed to verify the generated units (install systemd): %v", err)
	}
	for _, u := range []string{"postfix@.service", "postfix.service"} {
		data, err := os.ReadFile(filepath.Join("..", "units", u))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, u), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Debian's drop-in for the template (configure-instance.sh) is part of
	// what the .deb installs; verify it with the rest.
	deb := filepath.Join(dir, "postfix@.service.d")
	if err := os.MkdirAll(deb, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "units", "debian", "postfix@.service.d", "40-debian-configure-instance.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(deb, "40-debian-configure-instance.conf"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	units := map[string]bool{"postfix.service": true}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := d.Name()
		switch {
		case strings.HasSuffix(base, ".service.d") && base != "postfix@.service.d":
			units[strings.TrimSuffix(base, ".d")] = true
		case strings.HasSuffix(base, ".target") && !d.IsDir():
			units[base] = true
		case strings.HasSuffix(base, ".wants") && d.IsDir():
			units[strings.TrimSuffix(base, ".wants")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for u := range units {
		args = append(args, filepath.Join(dir, u))
	}
	sort.Strings(args)
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, args...)...)
	// The directory first; the trailing colon appends the default search
	// path, for network-online.target and friends.
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":", "SYSTEMD_LOG_LEVEL=warning")
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if len(args) < 2 {
		t.Errorf("nothing verified in %s", dir)
	}
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	set := walkthrough()
	set = newSet(append(set.Instances,
		inst("", "relays", true, "/etc/postfix-nameless"),
		inst("postfix-test", "", false, "/etc/postfix-test"),
	))
	tr := Plan(set, Options{})
	dir := t.TempDir()
	if errs := Apply(tr, dir); len(errs) > 0 {
		t.Fatal(errs)
	}
	verifyTree(t, dir)
}

// TestSystemdAnalyzeVerifyGolden verifies every expected golden tree.
func TestSystemdAnalyzeVerifyGolden(t *testing.T) {
	trees, _ := filepath.Glob("testdata/*/expected")
	if len(trees) == 0 {
		t.Fatal("no testdata/*/expected trees; run go test -update")
	}
	for _, tree := range trees {
		t.Run(filepath.Base(filepath.Dir(tree)), func(t *testing.T) {
			dir := t.TempDir()
			// os.CopyFS does not copy symlinks; cp -a does.
			if out, err := exec.Command("cp", "-a", tree+"/.", dir).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			verifyTree(t, dir)
		})
	}
}
