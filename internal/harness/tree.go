package harness

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// CacheEnv overrides the cache directory (default DefaultCacheDir).
const CacheEnv = "PFI_TEST_CACHE"

// DefaultCacheDir holds the root trees, outside any repository.
const DefaultCacheDir = "/var/cache/pfi-test"

// Suite is the release of the default tree (Debian 12) and Variant what
// debootstrap builds of every release: a minimal system.
const (
	Suite   = string(Bookworm)
	Variant = "minbase"
)

// Packages are installed into the tree on top of the minbase variant. The
// test SMTP sink and filter are static Go binaries brought in by the tests,
// so nothing else is needed; changing this list changes the tree's key and
// so builds a new tree. ansible-core runs the Ansible role's tests
// (test/ansible, connection local); python3-cffi-backend is there because
// debootstrap does not resolve virtual packages and ansible-core's
// python3-cryptography depends on the ones it provides.
var Packages = []string{"ansible-core", "dbus", "iproute2", "postfix", "procps", "python3", "python3-apt", "python3-cffi-backend", "swaks", "systemd", "systemd-sysv"}

// provisionVersion is bumped whenever provision changes what it writes.
const provisionVersion = "1"

// adoptCandidate is a tree a previous session may have built with the same
// debootstrap command; it is copied (never moved or modified) when it holds
// every package we need.
const adoptCandidate = "root.tmp"

// stampPath is written into every finished tree: what it was built from.
const stampPath = "etc/pfi-test-tree"

// CacheDir returns the cache directory: $PFI_TEST_CACHE or DefaultCacheDir.
func CacheDir() string {
	if d := os.Getenv(CacheEnv); d != "" {
		return d
	}
	return DefaultCacheDir
}

// treeSpec is everything that determines a tree's contents; its hash names
// the tree, so any change makes the cached tree stale and a new one is built.
// Bookworm's spec is byte for byte what it was before the harness knew other
// releases, so that its cached tree keeps its key.
func treeSpec(r Release) string {
	pk := append([]string(nil), Packages...)
	sort.Strings(pk)
	return fmt.Sprintf("suite=%s\nvariant=%s\ninclude=%s\nprovision=%s\n",
		r, Variant, strings.Join(pk, ","), provisionVersion)
}

// TreeKey is the short hash naming the Debian 12 tree for the current spec.
func TreeKey() string { return TreeKeyFor(Bookworm) }

// TreeKeyFor is the short hash naming release r's tree.
func TreeKeyFor(r Release) string {
	sum := sha256.Sum256([]byte(treeSpec(r)))
	return hex.EncodeToString(sum[:])[:16]
}

// TreeDir is where release r's tree is cached (built or not), e.g.
// /var/cache/pfi-test/debian13-<key>.
func TreeDir(r Release) string {
	return filepath.Join(CacheDir(), r.dirPrefix()+"-"+TreeKeyFor(r))
}

// Tree returns the cached root tree of the default release
// (DefaultRelease: $PFI_TEST_RELEASE or Debian 12), building it first when
// it is missing. It fails the test when the tree cannot be had.
func Tree(t TB) string {
	t.Helper()
	return TreeOf(t, "")
}

// TreeOf is Tree for release r ("" is the default release).
func TreeOf(t TB, r Release) string {
	t.Helper()
	r, err := r.resolve()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	dir, err := EnsureTreeOf(r, t.Logf)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return dir
}

// EnsureTree is EnsureTreeOf for the default release.
func EnsureTree(logf func(string, ...any)) (string, error) {
	r, err := DefaultRelease()
	if err != nil {
		return "", err
	}
	return EnsureTreeOf(r, logf)
}

// EnsureTreeOf returns the path of release r's cached tree for the current
// spec, building it when missing: in a temporary directory next to it,
// renamed into place only when complete and verified, under an exclusive
// flock so that concurrent processes build it once.
func EnsureTreeOf(r Release, logf func(string, ...any)) (string, error) {
	r, err := r.resolve()
	if err != nil {
		return "", err
	}
	cache := CacheDir()
	dir := TreeDir(r)
	if treeComplete(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("create cache directory: %w", err)
	}
	unlock, err := lockFile(filepath.Join(cache, ".lock"), logf)
	if err != nil {
		return "", err
	}
	defer unlock()
	if treeComplete(dir) { // built by another process while we waited
		return dir, nil
	}
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("tree %s exists but is incomplete (no /%s); remove it to rebuild", dir, stampPath)
	}
	// Under the lock, any earlier build directory is a crashed build's.
	old, _ := filepath.Glob(filepath.Join(cache, ".build-*"))
	for _, o := range old {
		logf("harness: removing stale build directory %s", o)
		if err := os.RemoveAll(o); err != nil {
			return "", fmt.Errorf("remove stale build directory: %w", err)
		}
	}
	tmp, err := os.MkdirTemp(cache, ".build-"+filepath.Base(dir)+"-")
	if err != nil {
		return "", fmt.Errorf("create build directory: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("chmod build directory: %w", err)
	}
	start := time.Now()
	if cand := filepath.Join(cache, adoptCandidate); r == Bookworm && adoptable(cand) == nil {
		logf("harness: adopting a copy of %s as %s", cand, dir)
		if out, err := exec.Command("cp", "-a", "--reflink=auto", cand+"/.", tmp).CombinedOutput(); err != nil {
			return "", fmt.Errorf("copy %s: %w: %s", cand, err, out)
		}
	} else {
		if err := debootstrap(r, tmp, logf); err != nil {
			return "", err
		}
	}
	if err := provision(r, tmp); err != nil {
		return "", err
	}
	if err := verifyTree(tmp); err != nil {
		return "", fmt.Errorf("freshly built tree: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("move tree into place: %w", err)
	}
	logf("harness: %s tree %s ready in %s", r, dir, time.Since(start).Round(time.Second))
	return dir, nil
}

func treeComplete(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, stampPath))
	return err == nil
}

// lockFile takes an exclusive flock on path, saying so when it has to wait.
func lockFile(path string, logf func(string, ...any)) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		logf("harness: waiting for %s (another process is building the tree)", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	return func() { f.Close() }, nil // closing releases the flock
}

// debootstrap builds a fresh tree into dir.
func debootstrap(r Release, dir string, logf func(string, ...any)) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("the root tree must be built and debootstrap is not installed (apt-get install debootstrap): %w", err)
	}
	mirror, err := Mirror("/etc/apt")
	if err != nil {
		return err
	}
	args := []string{"--variant=" + Variant, "--include=" + strings.Join(Packages, ",")}
	if _, err := os.Stat("/usr/share/keyrings/debian-archive-keyring.gpg"); err == nil {
		args = append(args, "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg")
	}
	args = append(args, string(r), dir, mirror)
	logf("harness: building the %s root tree: debootstrap %s (a few minutes)", r, strings.Join(args, " "))
	cmd := exec.Command("debootstrap", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return fmt.Errorf("debootstrap %s: %w\n%s", dir, err, tail)
	}
	return nil
}

// adoptable says why a candidate tree cannot be copied, or nil.
func adoptable(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "debootstrap")); err == nil {
		return fmt.Errorf("%s: debootstrap has not finished", dir)
	}
	return verifyTree(dir)
}

// verifyTree checks that a tree has systemd and every package installed.
func verifyTree(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/systemd/systemd")); err != nil {
		return fmt.Errorf("%s has no systemd: %w", dir, err)
	}
	installed, err := installedPackages(filepath.Join(dir, "var/lib/dpkg/status"))
	if err != nil {
		return err
	}
	for _, p := range Packages {
		if !installed[p] {
			return fmt.Errorf("%s lacks package %s", dir, p)
		}
	}
	return nil
}

// installedPackages reads a dpkg status file.
func installedPackages(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dpkg status: %w", err)
	}
	out := map[string]bool{}
	var pkg string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Package: "); ok {
			pkg = v
		} else if v, ok := strings.CutPrefix(line, "Status: "); ok && v == "install ok installed" {
			out[pkg] = true
		}
	}
	return out, sc.Err()
}

// baselineMainCF replaces the main.cf Debian's postinst generated at build
// time, which carries the build host's name (myhostname = <host>) and
// listens on every interface. Tests write their own; this one only has to be
// valid, deterministic and harmless for the boot before they do.
const baselineMainCF = `# Baseline main.cf of the pfi-test root tree (written by internal/harness).
# It replaces the one Debian's postinst generated from the build host.
compatibility_level = 3.6
myhostname = pfi-test.localdomain
mydestination = $myhostname, localhost.localdomain, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
smtpd_relay_restrictions = permit_mynetworks defer_unauth_destination
biff = no
append_dot_mydomain = no
readme_directory = no
`

// provision makes a freshly bootstrapped (or adopted) tree deterministic.
func provision(r Release, dir string) error {
	write := func(rel, data string, mode os.FileMode) error {
		p := filepath.Join(dir, rel)
		if err := os.WriteFile(p+".pfi-tmp", []byte(data), mode); err != nil {
			return fmt.Errorf("provision %s: %w", rel, err)
		}
		if err := os.Rename(p+".pfi-tmp", p); err != nil {
			return fmt.Errorf("provision %s: %w", rel, err)
		}
		return nil
	}
	if err := write("etc/postfix/main.cf", baselineMainCF, 0o644); err != nil {
		return err
	}
	if err := write("etc/hostname", "pfi-test\n", 0o644); err != nil {
		return err
	}
	// Downloaded packages and indexes are not needed to boot.
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*"} {
		files, _ := filepath.Glob(filepath.Join(dir, glob))
		for _, f := range files {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("provision: %w", err)
			}
		}
	}
	return write(stampPath, treeSpec(r), 0o644)
}
