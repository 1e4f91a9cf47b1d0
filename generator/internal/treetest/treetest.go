// Package treetest reads, compares and writes directory trees for the
// generator's golden tests: every file and symlink by relative path, a
// symlink as "-> TARGET", a file by its bytes.
package treetest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Snapshot reads the tree below dir; a missing dir is an empty tree.
// Directories are implied by their contents.
func Snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return m
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[filepath.ToSlash(rel)] = "-> " + target
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[filepath.ToSlash(rel)] = string(data)
		case d.IsDir():
		default:
			return fmt.Errorf("%s: unexpected file type %v", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Paths returns the tree's paths, sorted.
func Paths(m map[string]string) []string {
	var k []string
	for p := range m {
		k = append(k, p)
	}
	sort.Strings(k)
	return k
}

// Compare reports every difference between want and got: the path lists,
// then link targets and file bytes.
func Compare(t testing.TB, want, got map[string]string) {
	t.Helper()
	wk, gk := Paths(want), Paths(got)
	if strings.Join(wk, "\n") != strings.Join(gk, "\n") {
		t.Errorf("path list differs:\n--- want\n%s\n--- got\n%s", strings.Join(wk, "\n"), strings.Join(gk, "\n"))
	}
	for _, p := range wk {
		if g, ok := got[p]; ok && g != want[p] {
			t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", p, want[p], g)
		}
	}
}

// Write replaces dir with the tree m.
func Write(t testing.TB, dir string, m map[string]string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range Paths(m) {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(m[p], "-> "); ok {
			if err := os.Symlink(target, name); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(name, []byte(m[p]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
