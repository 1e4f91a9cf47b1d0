package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	buildMu    sync.Mutex
	buildDir   string
	buildCache = map[string]string{}
)

// ModuleRoot returns the directory of the go.mod enclosing the working
// directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildGo builds a main package of this module (e.g.
// "./cmd/postfix-instance-generator") as a static binary (CGO_ENABLED=0, so
// it runs in the container whatever the host's libc) and returns its path.
// Each package is built once per process; CleanupBuilds removes them.
func BuildGo(pkg string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[pkg]; ok {
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	if buildDir == "" {
		sweepStale()
		if buildDir, err = os.MkdirTemp("", fmt.Sprintf("pfi-test-bin-%d-", os.Getpid())); err != nil {
			return "", err
		}
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, strings.TrimSpace(string(msg)))
	}
	buildCache[pkg] = out
	return out, nil
}

// MustBuildGo is BuildGo failing the test on error.
func MustBuildGo(t TB, pkg string) string {
	t.Helper()
	p, err := BuildGo(pkg)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return p
}

// CleanupBuilds removes the binaries BuildGo made; call it from TestMain.
func CleanupBuilds() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
		buildDir, buildCache = "", map[string]string{}
	}
}
