package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/check"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// benchTree writes a host with n secondary instances, each with the
// walk-through's master.cf listening on a port of its own on loopback and
// relaying to the next one's, a generated-looking drop-in and a booted
// systemd.
func benchTree(b *testing.B, n int) string {
	b.Helper()
	root := b.TempDir()
	proto, err := os.ReadFile("../../generator/testdata/walkthrough/root/etc/postfix-out/master.cf")
	if err != nil {
		b.Fatal(err)
	}
	write := func(p, s string) {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var dirs []string
	for i := range n {
		name := fmt.Sprintf("postfix-i%d", i)
		dirs = append(dirs, "/etc/"+name)
		write("etc/"+name+"/main.cf", fmt.Sprintf("multi_instance_name = %s\nqueue_directory = /var/spool/%s\ndata_directory = /var/lib/%s\n"+
			"multi_instance_enable = yes\nmaster_service_disable =\nmyhostname = %s.example.com\ninet_interfaces = loopback-only\n"+
			"relayhost = [127.0.0.1]:%d\n", name, name, name, name, 20000+(i+1)%n))
		write("etc/"+name+"/master.cf", strings.Replace(string(proto), "127.0.0.1:10026", fmt.Sprintf("127.0.0.1:%d", 20000+i), 1))
		write("run/systemd/generator/postfix@"+name+".service.d/50-instance.conf", "[Service]\n")
	}
	write("etc/postfix/main.cf", "master_service_disable = inet\nmyhostname = mta.example.com\nmulti_instance_enable = yes\nmulti_instance_directories = "+strings.Join(dirs, " ")+"\n")
	write("etc/postfix/master.cf", string(proto))
	write("run/systemd/generator/postfix@-.service.d/50-instance.conf", "[Service]\n")
	write("run/systemd/system/.keep", "")
	return root
}

// BenchmarkRun measures Run alone (the instances loaded beforehand) and
// Load plus Run, as the command does them, at n instances.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		root := benchTree(b, n)
		fsys := instance.DirFS(root)
		set, err := instance.Load(fsys, "/etc/postfix")
		if err != nil {
			b.Fatal(err)
		}
		if r := check.Run(context.Background(), check.Input{Set: set, FS: fsys}); len(r.Findings) != 0 || r.Instances != n+1 {
			b.Fatalf("n=%d: %d instances, findings %v", n, r.Instances, r.Findings)
		}
		b.Run(fmt.Sprintf("run/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				check.Run(context.Background(), check.Input{Set: set, FS: fsys})
			}
		})
		b.Run(fmt.Sprintf("load+run/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				set, err := instance.Load(fsys, "/etc/postfix")
				if err != nil {
					b.Fatal(err)
				}
				check.Run(context.Background(), check.Input{Set: set, FS: fsys})
			}
		})
	}
}
