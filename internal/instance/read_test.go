package instance

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/instance/instancetest"
)

// loadWithin runs Load over DirFS("/") with the default config directory
// dir, and fails the test if it does not return within a few seconds (a
// blocking open of a FIFO would hang it for ever).
func loadWithin(t *testing.T, dir string) *Set {
	t.Helper()
	type result struct {
		set *Set
		err error
	}
	done := make(chan result, 1)
	go func() {
		set, err := Load(DirFS("/"), dir)
		done <- result{set, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Load: %v", r.err)
		}
		return r.set
	case <-time.After(10 * time.Second):
		t.Fatalf("Load did not return within 10 s: it blocks on a file")
	}
	return nil
}

// TestReadOnlyRegular: an instance whose main.cf is a FIFO, a directory,
// a socket, a device (also through a symlink) or larger than
// MaxFileSize is refused with the file and the reason, without blocking
// and without reading it whole; the instances beside it are modelled.
func TestReadOnlyRegular(t *testing.T) {
	root := t.TempDir()
	kinds := []struct {
		name string
		make func(p string) error
		want string
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "main.cf: not a regular file (a FIFO)"},
		{"dir", func(p string) error { return os.Mkdir(p, 0o755) }, "main.cf: is a directory"},
		{"socket", func(p string) error {
			l, err := net.Listen("unix", p)
			if err == nil {
				t.Cleanup(func() { l.Close() })
			}
			return err
		}, "main.cf: no such device or address"},
		{"null", func(p string) error { return os.Symlink("/dev/null", p) }, "main.cf: not a regular file (a character device)"},
		{"zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "main.cf: not a regular file (a character device)"},
		{"big", func(p string) error {
			return os.WriteFile(p, []byte(okMain("big")+strings.Repeat("# padding\n", MaxFileSize/10+1)), 0o644)
		}, "main.cf: file too large (more than 1 MiB)"},
	}
	var list []string
	for _, k := range kinds {
		d := filepath.Join(root, "postfix-"+k.name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := k.make(filepath.Join(d, "main.cf")); err != nil {
			t.Fatal(err)
		}
		list = append(list, d)
	}
	good := filepath.Join(root, "postfix-good")
	list = append(list, good)
	files := map[string]string{
		"postfix/main.cf":      dirs(strings.Join(list, " ")),
		"postfix-good/main.cf": okMain("good"),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := loadWithin(t, filepath.Join(root, "postfix"))
	if len(set.Instances) != 2 || set.Instances[1].ConfigDir != good {
		t.Errorf("instances %v, want the default and %s", set.Instances, good)
	}
	for i, k := range kinds {
		var found bool
		for _, p := range set.Problems {
			if p.ConfigDir != list[i] {
				continue
			}
			found = true
			if want := list[i] + "/" + k.want; !strings.Contains(p.Err.Error(), want) {
				t.Errorf("%s: problem %q, want it to contain %q", k.name, p.Err, want)
			}
		}
		if !found {
			t.Errorf("%s: no problem reported", k.name)
		}
	}
}

// TestDirFSRoot: below a root other than "/", absolute symlinks resolve
// inside the root, as they would after chroot(2), and ".." stops at it.
func TestDirFSRoot(t *testing.T) {
	root := t.TempDir()
	for name, data := range map[string]string{"srv/a/main.cf": "inside\n", "etc/b/main.cf": "b\n"} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"etc/postfix-a": "/srv/a",                    // absolute, to a directory
		"etc/c.cf":      "/srv/a/main.cf",            // absolute, to a file
		"etc/d.cf":      "../../../../srv/a/main.cf", // climbs past the root
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fsys := DirFS(root)
	for _, name := range []string{"etc/postfix-a/main.cf", "etc/c.cf", "etc/d.cf"} {
		data, err := ReadRegular(fsys, name)
		if err != nil || string(data) != "inside\n" {
			t.Errorf("read %s: %q, %v; want %q", name, data, err, "inside\n")
		}
	}
	if fi, err := fsys.(interface {
		Stat(string) (os.FileInfo, error)
	}).Stat("etc/postfix-a"); err != nil || !fi.IsDir() {
		t.Errorf("Stat etc/postfix-a: %v, %v; want the directory /srv/a of the root", fi, err)
	}
}

// TestReadRefusals: a main.cf that is not a regular file (a directory,
// a socket, a FIFO) is refused without blocking, the cause naming the
// file and why (the postmulti shim's TestReadRefusalsLikePostconf words
// it as the real postconf does).
func TestReadRefusals(t *testing.T) {
	defaultDir, list := instancetest.NonRegularTree(t)
	set := loadWithin(t, defaultDir)
	got := map[string]string{}
	for _, p := range set.Problems {
		var pe *fs.PathError
		if p.Kind != Unreadable || !errors.As(p.Cause, &pe) {
			t.Errorf("%s: problem %v (cause %#v), want an unreadable main.cf", p.ConfigDir, p, p.Cause)
			continue
		}
		got[p.ConfigDir] = pe.Op + " " + pe.Path + ": " + Strerror(pe.Err)
	}
	want := map[string]string{
		list[0]: "read " + list[0] + "/main.cf: Is a directory",
		list[1]: "open " + list[1] + "/main.cf: No such device or address",
		list[2]: "open " + list[2] + "/main.cf: not a regular file (a FIFO)",
	}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("%s: cause %q, want %q", d, got[d], w)
		}
	}
}
