package generator_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/generator"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// benchTree writes a tree of n secondary instances below a temp root, each
// main.cf being Debian's stock one plus the instance parameters.
func benchTree(b *testing.B, n int) string {
	b.Helper()
	stock, err := os.ReadFile("/usr/share/postfix/main.cf.debian")
	if err != nil {
		b.Fatalf("Debian's stock main.cf is needed: %v", err)
	}
	root := b.TempDir()
	var dirs []string
	for i := range n {
		name := fmt.Sprintf("postfix-i%04d", i)
		dir := "/etc/" + name
		dirs = append(dirs, dir)
		cf := fmt.Sprintf("%smulti_instance_name = %s\nqueue_directory = /var/spool/%s\ndata_directory = /var/lib/%s\nmulti_instance_group = g%d\nmulti_instance_enable = yes\n", stock, name, name, name, i/10)
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "main.cf"), []byte(cf), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	def := fmt.Sprintf("%smulti_instance_enable = yes\nmulti_instance_directories = %s\n", stock, strings.Join(dirs, " "))
	if err := os.MkdirAll(filepath.Join(root, "etc/postfix"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/postfix/main.cf"), []byte(def), 0o644); err != nil {
		b.Fatal(err)
	}
	return root
}

// BenchmarkLoadPlan measures Load and Plan (no writing) for 100 instances.
// The end-to-end comparison with Debian's generator and the floor is
// scripts/bench-generator.sh.
func BenchmarkLoadPlan(b *testing.B) {
	root := benchTree(b, 100)
	fsys := os.DirFS(root)
	b.ResetTimer()
	for b.Loop() {
		set, err := instance.Load(fsys, "/etc/postfix")
		if err != nil || len(set.Problems) > 0 {
			b.Fatal(err, set.Problems)
		}
		generator.Plan(set, generator.Options{})
	}
}
