package generator_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/generator"
	"github.com/postfix-systemd/postfix-instances/generator/internal/treetest"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

var update = flag.Bool("update", false, "rewrite the expected trees under testdata/*/expected from the generator's output")

// generate runs Load, Plan and Apply on one test root, as the command does,
// and returns the output directory and every problem (Load's, then Plan's,
// then Apply's), one per line.
func generate(t *testing.T, root string) (string, string) {
	t.Helper()
	set, err := instance.Load(os.DirFS(root), "/etc/postfix")
	if err != nil {
		t.Fatalf("load %s: %v", root, err)
	}
	// Load's problems are recorded by instance, file, line and kind, not
	// by wording (package instance owns and tests its messages); the
	// generator's own errors in full.
	var msgs []string
	for _, p := range set.Problems {
		msgs = append(msgs, fmt.Sprintf("load: %s: %s:%d: %s", p.ConfigDir, p.Path, p.Line, p.Kind))
	}
	tree := generator.Plan(set, generator.Options{})
	out := t.TempDir()
	for _, err := range generator.Apply(tree, out) {
		msgs = append(msgs, err.Error())
	}
	s := strings.Join(msgs, "\n")
	if s != "" {
		s += "\n"
	}
	return out, s
}

func cases(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("testdata/*/root")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no testdata/*/root")
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	return names
}

// TestGolden runs the generator on every testdata/<case>/root and compares
// its output with testdata/<case>/expected and its messages with
// testdata/<case>/messages. With -update it rewrites both instead.
func TestGolden(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			out, msgs := generate(t, filepath.Join(dir, "root"))
			got := treetest.Snapshot(t, out)
			if *update {
				treetest.Write(t, filepath.Join(dir, "expected"), got)
				if err := os.WriteFile(filepath.Join(dir, "messages"), []byte(msgs), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			treetest.Compare(t, treetest.Snapshot(t, filepath.Join(dir, "expected")), got)
			want, err := os.ReadFile(filepath.Join(dir, "messages"))
			if err != nil {
				t.Fatal(err)
			}
			if string(want) != msgs {
				t.Errorf("messages differ:\n--- want\n%s--- got\n%s", want, msgs)
			}
		})
	}
}

// TestRerunIdentical runs every case twice and requires byte-identical
// output trees.
func TestRerunIdentical(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join("testdata", name, "root")
			out1, msgs1 := generate(t, root)
			out2, msgs2 := generate(t, root)
			treetest.Compare(t, treetest.Snapshot(t, out1), treetest.Snapshot(t, out2))
			if msgs1 != msgs2 {
				t.Errorf("messages differ between runs:\n%s\n---\n%s", msgs1, msgs2)
			}
		})
	}
}

// TestEveryFileHasHeader checks the generator's promise on every expected
// file: the header line and a blank line come first.
func TestEveryFileHasHeader(t *testing.T) {
	for _, name := range cases(t) {
		out, _ := generate(t, filepath.Join("testdata", name, "root"))
		for p, content := range treetest.Snapshot(t, out) {
			if strings.HasPrefix(content, "-> ") {
				continue
			}
			if !bytes.HasPrefix([]byte(content), []byte(generator.Header)) {
				t.Errorf("%s: %s does not start with the header", name, p)
			}
		}
	}
}
