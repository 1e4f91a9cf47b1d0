package ansible

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/test/e2e"
)

// repoDir is where the test's APT repository lives in the container.
const repoDir = "/srv/pfi-repo"

// repoVars is the extra-vars file that has the role install the package
// from the test's repository.
const repoVars = guestDir + "/repo-vars.yml"

// suiteRepo makes a signed APT repository on the host with one suite per
// Debian release the harness knows (bookworm, trixie, sid), each holding
// the .deb of that release's flavour (debs, by flavour) under pool/FLAVOUR,
// as an operator publishes both builds side by side; each suite's Release
// file is signed (InRelease, gpg --clearsign with a throwaway key). It
// returns the repository's files for the container and the armored key.
func suiteRepo(t *testing.T, debs map[string]string) ([]harness.File, string) {
	t.Helper()
	for _, p := range []string{"dpkg-scanpackages", "gpg", "gpg-agent", "gpgconf"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed (scripts/install-deps.sh): %v", p, err)
		}
	}
	dir := t.TempDir()
	sh := func(cwd, stdout string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = cwd
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, se.String())
		}
		if stdout != "" {
			if err := os.WriteFile(stdout, []byte(so.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(rel string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var flavours []string
	for f, deb := range debs {
		data, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Join("pool", f, filepath.Base(deb)), data)
		flavours = append(flavours, f)
	}
	sort.Strings(flavours)

	home, err := os.MkdirTemp("", "pfi-gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	gpg := []string{"gpg", "--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", ""}
	sh(dir, "", append(gpg, "--quick-gen-key", "pfi test repository <pfi@example.invalid>", "ed25519", "sign", "never")...)

	arch := runtime.GOARCH
	for _, r := range harness.Releases() {
		f := e2e.NamesFor(r).Flavour
		if _, ok := debs[f]; !ok {
			t.Fatalf("no %s build for suite %s (have %s)", f, r, strings.Join(flavours, ", "))
		}
		suite := filepath.Join("dists", string(r))
		pkgs := filepath.Join(suite, "main", "binary-"+arch, "Packages")
		write(pkgs, nil)
		sh(dir, filepath.Join(dir, pkgs), "dpkg-scanpackages", "--multiversion", "pool/"+f, "/dev/null")
		pk, err := os.ReadFile(filepath.Join(dir, pkgs))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(pk)
		release := fmt.Sprintf("Origin: pfi-test\nLabel: pfi-test\nSuite: %s\nCodename: %s\nDate: %s\nArchitectures: %s\nComponents: main\nSHA256:\n %s %d main/binary-%s/Packages\n",
			r, r, time.Now().UTC().Format(time.RFC1123Z), arch, hex.EncodeToString(sum[:]), len(pk), arch)
		write(filepath.Join(suite, "Release"), []byte(release))
		sh(filepath.Join(dir, suite), "", append(gpg, "--clearsign", "-o", "InRelease", "Release")...)
	}
	sh(dir, filepath.Join(home, "key.asc"), append(gpg, "--armor", "--export")...)
	key, err := os.ReadFile(filepath.Join(home, "key.asc"))
	if err != nil {
		t.Fatal(err)
	}
	return treeFiles(t, dir, repoDir), string(key)
}

// repoVarsYAML is the extra-vars file for the repository and its key: one
// source line for every host, naming the host's release as the suite
// (Ansible's distribution_release fact), as an operator writes it for a
// fleet of Debian 12 and 13 hosts.
func repoVarsYAML(key string) string {
	var b strings.Builder
	b.WriteString("postfix_instances_apt_repository: \"deb [signed-by=/etc/apt/keyrings/postfix-instances.asc] file:" + repoDir +
		" {{ ansible_facts['distribution_release'] }} main\"\n")
	b.WriteString("postfix_instances_apt_key: |\n")
	for _, l := range strings.Split(strings.TrimRight(key, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
