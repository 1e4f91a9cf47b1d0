package check_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/generator"
	"github.com/postfix-systemd/postfix-instances/internal/check"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/test/e2e"
)

// e2eTree lays out, as files, what the end-to-end walk-through
// (e2e.SetUp) makes of a host: the null-client default main.cf after
// "postmulti -e init", each instance's main.cf with postmulti's lines and
// the walk-through's settings, its master.cf with "smtp inet" replaced by
// its listener, the generator's output, a running systemd, and, when
// services is set, the sink and the filter listening.
func e2eTree(t *testing.T, services bool) string {
	t.Helper()
	root := t.TempDir()
	write := func(p, s string) {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proto, err := os.ReadFile("../../generator/testdata/walkthrough/root/etc/postfix/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	const smtpd = "smtp      inet  n       -       y       -       -       smtpd\n"
	if !strings.Contains(string(proto), smtpd) {
		t.Fatal("the stock master.cf has no smtp inet line")
	}
	var dirs []string
	for _, in := range e2e.Walkthrough {
		dir := e2e.ConfigDir(in.Name)
		dirs = append(dirs, dir)
		main := fmt.Sprintf("multi_instance_name = %s\nqueue_directory = /var/spool/%s\ndata_directory = /var/lib/%s\nmulti_instance_group = %s\nmulti_instance_enable = %s\n",
			in.Name, in.Name, in.Name, in.Group, map[bool]string{true: "yes", false: "no"}[in.Enable])
		main += strings.Join(in.Settings, "\n") + "\nmaster_service_disable =\nauthorized_submit_users = root\n"
		write(dir+"/main.cf", main)
		write(dir+"/master.cf", strings.Replace(string(proto), smtpd, "", 1)+in.Listen+" inet n    -       n       -       -       smtpd\n")
	}
	write("etc/postfix/main.cf", e2e.NullClientMainCF+"multi_instance_wrapper = ${command_directory}/postmulti -p --\nmulti_instance_enable = yes\nmulti_instance_directories = "+strings.Join(dirs, " ")+"\n")
	write("etc/postfix/master.cf", string(proto))
	write("run/systemd/system/.keep", "")
	if services {
		var tcp strings.Builder
		tcp.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
		for i, port := range []string{e2e.FilterPort, e2e.SinkPort} {
			var n int
			fmt.Sscan(port, &n)
			fmt.Fprintf(&tcp, "   %d: 0100007F:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n", i, n)
		}
		write("proc/net/tcp", tcp.String())
	}
	set, err := instance.Load(os.DirFS(root), "/etc/postfix")
	if err != nil {
		t.Fatal(err)
	}
	if errs := generator.Apply(generator.Plan(set, generator.Options{}), filepath.Join(root, "run/systemd/generator")); len(errs) > 0 {
		t.Fatal(errs)
	}
	return root
}

func runTree(t *testing.T, root string) check.Report {
	t.Helper()
	fsys := os.DirFS(root)
	set, err := instance.Load(fsys, "/etc/postfix")
	if err != nil {
		t.Fatal(err)
	}
	return check.Run(context.Background(), check.Input{Set: set, FS: fsys})
}

// TestE2EWalkthrough checks the walk-through exactly as the end-to-end
// tests set it up: nothing to report while the filter and the sink
// listen; with them down, the two loopback next hops that point at them,
// and nothing else.
func TestE2EWalkthrough(t *testing.T) {
	r := runTree(t, e2eTree(t, true))
	if len(r.Findings) > 0 || r.Instances != 3 {
		var b strings.Builder
		r.WriteText(&b)
		t.Errorf("walk-through, %d instances:\n%s", r.Instances, b.String())
	}
	r = runTree(t, e2eTree(t, false))
	var got []string
	for _, f := range r.Findings {
		_, to, _ := strings.Cut(f.Message, " sends mail to ")
		to, _, _ = strings.Cut(to, ",")
		got = append(got, f.Instance+" "+f.Check+" "+to)
	}
	want := []string{
		"postfix-out loopback-nexthop 127.0.0.1:" + e2e.SinkPort,
		"postfix-in loopback-nexthop 127.0.0.1:" + e2e.FilterPort,
	}
	if !slices.Equal(got, want) {
		t.Errorf("filter and sink down: got %q, want %q", got, want)
	}
}
