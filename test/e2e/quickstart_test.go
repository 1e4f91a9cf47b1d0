//go:build quickstart

// The README's quick start on a fresh Debian 12 machine, in a container:
// go test -tags quickstart -run TestQuickStart ./test/e2e (root; it
// downloads Debian packages, and runs make demo, which boots a container
// of its own, inside it).

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// TestQuickStart boots a Debian 12 container, brings in a clean clone of
// this repository, Go (the host's toolchain and module cache, read-only:
// the container has no network but apt's way to the mirror) and make and
// git with apt-get, and runs the README's quick-start commands there as
// root: make demo, then make test.
func TestQuickStart(t *testing.T) {
	harness.Require(t)
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "postfix-instances")
	if out, err := exec.Command("git", "clone", "--quiet", "--no-hardlinks", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	goroot := strings.TrimSpace(run(t, "go", "env", "GOROOT"))
	modcache := strings.TrimSpace(run(t, "go", "env", "GOMODCACHE"))
	tree := harness.TreeOf(t, harness.Bookworm)
	sock := mirrorTunnel(t, tree)
	// The root trees that make demo and make test build go on a real file
	// system, as on a fresh machine: in the container's overlay, the
	// containers booted from them could not mount the overlays the
	// differential suites make (overlayfs stacks two deep at most).
	c := harness.Boot(t, harness.Options{Tree: tree, Files: mirrorFiles, BootTimeout: 3 * time.Minute,
		BindRO: []string{filepath.Dir(sock) + ":" + mirrorSockDir, clone + ":/src", goroot + ":/usr/local/go", modcache + ":/root/go/pkg/mod"},
		Bind:   []string{t.TempDir() + ":" + harness.DefaultCacheDir}})
	c.Run("systemctl", "enable", "--now", "pfi-mirror.socket")
	c.Run("cp", "-a", "/src", "/root/postfix-instances")
	c.Run("apt-get", "update")
	c.Run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "make", "git")
	env := []string{"env", "-C", "/root/postfix-instances", "PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "http_proxy=http://" + mirrorProxy}
	targets := []string{"demo", "test"}
	if v := os.Getenv("PFI_QUICKSTART_TARGETS"); v != "" {
		targets = strings.Fields(v)
	}
	for _, target := range targets {
		t0 := time.Now()
		res, err := c.ExecTimeout(45*time.Minute, append(env, "make", target)...)
		t.Logf("make %s: %v after %s; the last lines:\n%s\nstderr:\n%s", target, err, time.Since(t0).Round(time.Second),
			tailLines(res.Stdout, 60), tailLines(res.Stderr, 60))
		if err != nil {
			t.Errorf("make %s failed; its failing tests:\n%s", target, failures(res.Stdout))
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out)
}
