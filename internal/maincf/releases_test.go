package maincf

// The differential tests against each supported Debian release's own
// Postfix, run inside a container of that release (internal/harness).

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

var update = flag.Bool("update", false, "TestReleaseDefaults: rewrite defaults_*_gen.go from each release's postconf")

// releaseTests are the tests that compare this package with postconf.
const releaseTests = "^(TestOracle.*|TestBuiltinIsInstalled|TestBuiltinScanFree|TestOracleDefaultsComplete)$"

// sameAsHost reports whether release r's tree has the very Postfix
// installed on the host, whose tests then already ran against it.
func sameAsHost(t *testing.T, r harness.Release) bool {
	if os.Getenv(harness.ReleaseEnv) != "" {
		return false // asked for explicitly
	}
	host, _, err := InstalledVersion(os.DirFS("/"))
	if err != nil {
		return false
	}
	tree, _, err := InstalledVersion(os.DirFS(harness.TreeOf(t, r)))
	return err == nil && tree == host
}

// TestReleases runs the oracle tests inside a container of each release
// under test (Debian 12 and 13; $PFI_TEST_RELEASE alone when set), against
// that release's postconf, with the defaults table the package selects
// there by itself.
func TestReleases(t *testing.T) {
	if harness.InRelease() != "" {
		t.Skip("inside a release container already")
	}
	harness.Require(t)
	rels, err := harness.SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rels {
		t.Run(string(r), func(t *testing.T) {
			if sameAsHost(t, r) {
				t.Skipf("%s has the host's own Postfix: the host run covers it", r)
			}
			// More generated files than on the host, where the suite
			// has run for long: 3.10 and 3.11 are new ground.
			out := harness.RunTestsWith(t, harness.InReleaseOptions{Release: r, Run: releaseTests,
				Timeout: 20 * time.Minute, Args: []string{"-maincf.random=200"}})
			t.Logf("%s: %s", r, harness.Summary(out))
		})
	}
}

// TestOracleDefaultsComplete: the table in use lists exactly what postconf
// -d prints on an empty configuration directory, with the same values
// (host-dependent ones aside).
func TestOracleDefaultsComplete(t *testing.T) {
	requirePostconf(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := runPostconf(t, dir, "-d")
	if o.Code != 0 {
		t.Fatalf("postconf -d: %v", o)
	}
	tab := builtin()
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(o.Stdout, "\n"), "\n") {
		name, value, ok := strings.Cut(l, " = ")
		if !ok {
			name, value = strings.TrimSuffix(l, " ="), ""
		}
		seen[name] = true
		got, known := tab.Default(name)
		switch {
		case !known:
			t.Errorf("postconf -d lists %s = %q; the table (Postfix %s) lacks it", name, value, BuiltinSelection().Series)
		case tab.Flags(name)&FlagHost != 0:
		case got != value:
			t.Errorf("%s: postconf -d %q, table %q", name, value, got)
		}
	}
	for _, n := range tab.Names() {
		if !seen[n] && tab.Flags(n)&FlagLegacy == 0 {
			t.Errorf("the table has %s, postconf -d does not list it", n)
		}
	}
}

// TestReleaseDefaults regenerates each release's table of defaults inside
// a container of that release (gendefaults.go, built here, run there) and
// compares it with defaults_<series>_gen.go; -update rewrites the file.
func TestReleaseDefaults(t *testing.T) {
	if harness.InRelease() != "" {
		t.Skip("inside a release container already")
	}
	harness.Require(t)
	rels, err := harness.SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "gendefaults")
	cmd := exec.Command("go", "build", "-o", bin, "gendefaults.go")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build gendefaults: %v\n%s", err, out)
	}
	for _, r := range rels {
		t.Run(string(r), func(t *testing.T) {
			c := harness.Boot(t, harness.Options{Release: r, Volatile: true, BindRO: []string{bin + ":/pfi/gendefaults"}})
			src := c.Run("/pfi/gendefaults", "-o", "-")
			version := strings.TrimSpace(c.Run("postconf", "-dh", "mail_version"))
			f := strings.Split(version, ".")
			file := "defaults_" + f[0] + "_" + f[1] + "_gen.go"
			if *update {
				if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			have, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%s has Postfix %s and there is no table for it: %v (run with -update)", r, version, err)
			}
			if !bytes.Equal(have, []byte(src)) {
				t.Errorf("%s is not what gendefaults makes of %s's postconf %s; run go test -run TestReleaseDefaults -update", file, r, version)
			}
		})
	}
}
