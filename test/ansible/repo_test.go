package ansible

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// repoDir is where the test's APT repository lives in the container.
const repoDir = "/srv/pfi-repo"

// repoVars is the extra-vars file that has the role install the package
// from the test's repository.
const repoVars = guestDir + "/repo-vars.yml"

// flatRepo makes a signed flat APT repository of deb on the host
// (dpkg-scanpackages, a Release file, gpg --clearsign with a throwaway
// key) and returns its files for the container and the armored key.
func flatRepo(t *testing.T, deb string) ([]harness.File, string) {
	t.Helper()
	for _, p := range []string{"dpkg-scanpackages", "gpg", "gpgconf"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed (scripts/install-deps.sh): %v", p, err)
		}
	}
	dir := t.TempDir()
	name := filepath.Base(deb)
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sh := func(stdout string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		var so strings.Builder
		var se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, se.String())
		}
		if stdout != "" {
			if err := os.WriteFile(filepath.Join(dir, stdout), []byte(so.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	sh("Packages", "dpkg-scanpackages", "--multiversion", ".", "/dev/null")
	pk, _ := os.ReadFile(filepath.Join(dir, "Packages"))
	sum := sha256.Sum256(pk)
	release := fmt.Sprintf("Origin: pfi-test\nLabel: pfi-test\nSuite: pfi\nCodename: pfi\nDate: %s\nSHA256:\n %s %d Packages\n",
		time.Now().UTC().Format(time.RFC1123Z), hex.EncodeToString(sum[:]), len(pk))
	if err := os.WriteFile(filepath.Join(dir, "Release"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	home, err := os.MkdirTemp("", "pfi-gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	})
	gpg := []string{"gpg", "--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", ""}
	sh("", append(gpg, "--quick-gen-key", "pfi test repository <pfi@example.invalid>", "ed25519", "sign", "never")...)
	sh("", append(gpg, "--clearsign", "-o", "InRelease", "Release")...)
	sh("key.asc", append(gpg, "--armor", "--export")...)
	key, _ := os.ReadFile(filepath.Join(dir, "key.asc"))
	var files []harness.File
	for _, f := range []string{name, "Packages", "Release", "InRelease"} {
		files = append(files, harness.File{Path: filepath.Join(repoDir, f), Src: filepath.Join(dir, f), Mode: 0o644})
	}
	return files, string(key)
}

// repoVarsYAML is the extra-vars file for the repository and its key.
func repoVarsYAML(key string) string {
	var b strings.Builder
	b.WriteString("postfix_instances_apt_repository: \"deb [signed-by=/etc/apt/keyrings/postfix-instances.asc] file:" + repoDir + " ./\"\n")
	b.WriteString("postfix_instances_apt_key: |\n")
	for _, l := range strings.Split(strings.TrimRight(key, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
