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
// defines or instantiates, beside the unit files the .deb of that release
// installs: on Debian 12 (debian13 == "") the shipped units/postfix@.service,
// units/postfix.service and Debian's drop-in for the template; on Debian 13
// and sid, the golden root's copy of Debian's own postfix.service and
// postfix@.service (in debian13), our drop-ins on them and
// units/postfix-dir@.service. systemd-analyze verify only loads unit files;
// it boots nothing. Any message on its output (an unknown key, a bad value,
// a missing executable, a dependency cycle) fails the test.
func verifyTree(t *testing.T, dir, debian13 string) {
	t.Helper()
	analyze := systemdAnalyze(t)
	install := func(from, to string) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join("..", "units")
	if debian13 == "" {
		for _, u := range []string{"postfix@.service", "postfix.service"} {
			install(filepath.Join(src, u), filepath.Join(dir, u))
		}
		drop := filepath.Join("postfix@.service.d", "40-debian-configure-instance.conf")
		install(filepath.Join(src, "debian", drop), filepath.Join(dir, drop))
	} else {
		for _, u := range []string{"postfix@.service", "postfix.service"} {
			install(filepath.Join(debian13, u), filepath.Join(dir, u))
			drop := filepath.Join(u+".d", "20-postfix-instances.conf")
			install(filepath.Join(src, "debian13", drop), filepath.Join(dir, drop))
		}
		install(filepath.Join(src, "postfix-dir@.service"), filepath.Join(dir, "postfix-dir@.service"))
	}
	units := map[string]bool{"postfix.service": true}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := d.Name()
		switch {
		case strings.HasSuffix(base, ".service.d") && base != "postfix@.service.d" && base != "postfix-dir@.service.d":
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

// systemdAnalyze finds systemd-analyze. Without it the test fails, or,
// under -short, is skipped, saying so.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if testing.Short() {
			t.Skipf("skipping systemd-analyze verify of the generated units: systemd-analyze is not installed (%v)", err)
		}
		t.Fatalf("systemd-analyze is needed to verify the generated units (install systemd): %v", err)
	}
	return analyze
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
	verifyTree(t, dir, "")
}

// TestSystemdAnalyzeVerifyGolden verifies every expected golden tree.
func TestSystemdAnalyzeVerifyGolden(t *testing.T) {
	systemdAnalyze(t)
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
			// A golden root holding Debian 13's units is verified
			// beside them, as the deb13 package installs there.
			debian13 := filepath.Join(filepath.Dir(tree), "root", "usr", "lib", "systemd", "system")
			if _, err := os.Stat(filepath.Join(debian13, "postfix.service")); err != nil {
				debian13 = ""
			}
			verifyTree(t, dir, debian13)
		})
	}
}
