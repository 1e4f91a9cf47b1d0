package generator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyNoSymlinkedDirectory: a symlink already in the output
// directory where Apply wants a directory is not followed: nothing is
// written through it, the entries below it are reported, all others are
// written.
func TestApplyNoSymlinkedDirectory(t *testing.T) {
	tr := Plan(walkthrough(), Options{})
	dir, victim := t.TempDir(), t.TempDir()
	for _, name := range []string{"postfix.service.wants", "postfix@-.service.d"} {
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	errs := Apply(tr, dir)
	if ents, _ := os.ReadDir(victim); len(ents) > 0 {
		t.Errorf("wrote through a symlink into %s: %v", victim, ents)
	}
	below := 0
	for _, e := range tr.Entries {
		linked := strings.HasPrefix(e.Path, "postfix.service.wants/") || strings.HasPrefix(e.Path, "postfix@-.service.d/")
		if linked {
			below++
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, e.Path)); err != nil {
			t.Errorf("%s not written: %v", e.Path, err)
		}
	}
	if len(errs) != below {
		t.Errorf("%d errors for %d entries below a symlink: %v", len(errs), below, errs)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "is a symlink") || strings.Contains(err.Error(), "duplicate") {
			t.Errorf("error %q does not say that a directory is a symlink", err)
		}
	}
}

// TestApplyDuplicate: an entry the tree holds twice is a duplicate in
// the input, the second one not written; an entry already in the output
// directory is not.
func TestApplyDuplicate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "there.conf"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := Tree{Entries: []Entry{
		{Path: "a.conf", Data: []byte("first\n")},
		{Path: "a.conf", Data: []byte("second\n")},
		{Path: "there.conf", Data: []byte("new\n")},
	}}
	errs := Apply(tr, dir)
	if len(errs) != 2 {
		t.Fatalf("want 2 errors, got %v", errs)
	}
	if msg := errs[0].Error(); !strings.Contains(msg, "a.conf") || !strings.Contains(msg, "twice") {
		t.Errorf("duplicate in the tree: %q", msg)
	}
	if msg := errs[1].Error(); !strings.Contains(msg, "there.conf already exists") || strings.Contains(msg, "duplicate") {
		t.Errorf("entry already there: %q", msg)
	}
	for name, want := range map[string]string{"a.conf": "first\n", "there.conf": "kept\n"} {
		if data, _ := os.ReadFile(filepath.Join(dir, name)); string(data) != want {
			t.Errorf("%s: %q, want %q", name, data, want)
		}
	}
}

// TestApplyMakesDir: a missing output directory is made, with its
// parents.
func TestApplyMakesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run/systemd/generator")
	tr := Plan(walkthrough(), Options{})
	if errs := Apply(tr, dir); len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "postfix@-.service.d/50-instance.conf")); err != nil {
		t.Error(err)
	}
}
