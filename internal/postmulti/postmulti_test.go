package postmulti

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/lifecycle"
)

func TestGetopt(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // options as "c" or "c=arg", then "|" and the operands, or "!" and the error
	}{
		{a("-l"), "l|"},
		{a("-lav"), "l a v|"},
		{a("-i", "postfix-out", "-x", "postconf", "-e", "a = b"), "i=postfix-out x|postconf -e a = b"},
		{a("-ipostfix-out", "-l"), "i=postfix-out l|"},
		{a("-il"), "i=l|"},
		{a("-i", "-l"), "i=-l|"},
		{a("-l", "--", "-x"), "l|-x"},
		{a("-l", "-", "-x"), "l|- -x"},
		{a("-z"), "!postmulti: invalid option -- 'z'"},
		{a("-lz"), "l !postmulti: invalid option -- 'z'"},
		{a("-e"), "!postmulti: option requires an argument -- 'e'"},
		{a("--help"), "!postmulti: invalid option -- '-'"},
		{a("-:"), "!postmulti: invalid option -- ':'"},
	} {
		g := &getopt{prog: "postmulti", args: tc.args}
		var got []string
		for {
			o, ok, err := g.next()
			if err != nil {
				got = append(got, "!"+err.Error())
				break
			}
			if !ok {
				got = append(got, "|"+strings.Join(g.rest(), " "))
				break
			}
			s := string(o.ch)
			if strings.IndexByte("egiGI", o.ch) >= 0 {
				s += "=" + o.arg
			}
			got = append(got, s)
		}
		s := strings.Join(got, " ")
		s = strings.Replace(s, " |", "|", 1)
		s = strings.Replace(s, " !", " !", 1)
		if s != tc.want {
			t.Errorf("getopt %q = %q, want %q", tc.args, s, tc.want)
		}
	}
}

// TestPrivatePath pins upstream's make_private_path, checked against the
// real postmulti: a trailing slash on the default instance's path makes
// the new path a subdirectory of it.
func TestPrivatePath(t *testing.T) {
	name := "postfix-out"
	for _, tc := range []struct{ primary, want string }{
		{"/etc/postfix", "/etc/postfix-out"},
		{"/var/spool/postfix", "/var/spool/postfix-out"},
		{"/var/spool/postfix/", "/var/spool/postfix/postfix-out"},
		{"/var//spool//postfix", "/var//spool/postfix-out"},
		{"/postfix", "/postfix/postfix-out"},
	} {
		got, err := privatePath("queue_directory", tc.primary, &name)
		if err != nil || got != tc.want {
			t.Errorf("privatePath(%q) = %q, %v; want %q", tc.primary, got, err, tc.want)
		}
	}
	empty := ""
	if _, err := privatePath("config_directory", "/etc/postfix", &empty); err == nil || err.Error() != "Missing config_directory parameter value" {
		t.Errorf("privatePath without a name: %v", err)
	}
}

// fakeLifecycle records what the shim hands to internal/lifecycle.
type fakeLifecycle struct {
	action  string
	args    []string
	insts   []string
	opts    lifecycle.Options
	reloads int
	status  int
}

func (f *fakeLifecycle) Postfix(_ context.Context, action string, args []string, insts []instance.Instance, opts lifecycle.Options) (int, error) {
	f.action, f.args, f.opts = action, args, opts
	for _, in := range insts {
		n := in.Name
		if in.Default {
			n = "-"
		}
		f.insts = append(f.insts, n)
	}
	return f.status, nil
}

func (f *fakeLifecycle) ConfigChanged(context.Context) error { f.reloads++; return nil }

// testRoot builds a small multi-instance tree under a temporary root.
func testRoot(t *testing.T) string {
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
	for _, d := range []string{"usr/sbin", "usr/lib/postfix/sbin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/postfix/main.cf", "multi_instance_wrapper = ${command_directory}/postmulti -p --\nmulti_instance_enable = yes\nmulti_instance_directories = /etc/postfix-out /etc/postfix-in\n")
	write("etc/postfix-out/main.cf", "queue_directory = /var/spool/postfix-out\ndata_directory = /var/lib/postfix-out\nmulti_instance_name = postfix-out\nmulti_instance_group = mta\nmulti_instance_enable = yes\n")
	write("etc/postfix-out/master.cf", "")
	write("etc/postfix-in/master.cf", "")
	write("etc/postfix-in/main.cf", "queue_directory = /var/spool/postfix-in\ndata_directory = /var/lib/postfix-in\nmulti_instance_name = postfix-in\nmulti_instance_group = mta\n")
	return root
}

func runTest(t *testing.T, root string, lc Lifecycle, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Run(context.Background(), &Env{
		Args: append([]string{"/usr/sbin/postmulti"}, args...), Stdin: strings.NewReader(""),
		Stdout: &o, Stderr: &e, Environ: []string{"PATH=/usr/bin:/bin"}, Root: root, Lifecycle: lc,
	})
	return o.String(), e.String(), code
}

func TestPostfixModeHandsSelectionToLifecycle(t *testing.T) {
	root := testRoot(t)
	for _, tc := range []struct {
		args  []string
		insts []string
	}{
		{a("-p", "start"), []string{"-", "postfix-out", "postfix-in"}},
		{a("-g", "mta", "-p", "stop", "-x"), []string{"postfix-out", "postfix-in"}},
		{a("-i", "in", "-p", "reload"), []string{"postfix-in"}},
		{a("-i", "-", "-p", "status"), []string{"-"}},
	} {
		f := &fakeLifecycle{}
		_, stderr, code := runTest(t, root, f, tc.args...)
		if code != 0 || stderr != "" {
			t.Errorf("%q: exit %d, stderr %q", tc.args, code, stderr)
		}
		i := 0
		for tc.args[i] != "-p" {
			i++
		}
		if f.action != tc.args[i+1] || strings.Join(f.args, " ") != strings.Join(tc.args[i+2:], " ") {
			t.Errorf("%q: lifecycle got %q %q", tc.args, f.action, f.args)
		}
		if !reflect.DeepEqual(f.insts, tc.insts) {
			t.Errorf("%q: lifecycle got instances %q, want %q", tc.args, f.insts, tc.insts)
		}
		if f.opts.CommandDir != "/usr/sbin" || !reflect.DeepEqual(f.opts.StopCommands, []string{"stop", "abort", "drain", "quick-stop"}) {
			t.Errorf("%q: lifecycle options %+v", tc.args, f.opts)
		}
		if f.reloads != 0 {
			t.Errorf("%q: -p asked for a daemon-reload", tc.args)
		}
	}
	// -v reaches the life cycle (its per-job report), and only with -v.
	for _, tc := range []struct {
		args    []string
		verbose bool
	}{
		{a("-v", "-p", "start"), true}, {a("-vv", "-p", "start"), true}, {a("-p", "start"), false},
	} {
		f := &fakeLifecycle{}
		if _, stderr, code := runTest(t, root, f, tc.args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", tc.args, code, stderr)
		}
		if f.opts.Verbose != tc.verbose {
			t.Errorf("%q: lifecycle.Options.Verbose = %v, want %v", tc.args, f.opts.Verbose, tc.verbose)
		}
	}
	f := &fakeLifecycle{status: 1}
	if _, _, code := runTest(t, root, f, "-p", "status"); code != 1 {
		t.Errorf("-p with a failing lifecycle: exit %d, want 1", code)
	}
}

func TestEditCallsDaemonReloadHook(t *testing.T) {
	root := testRoot(t)
	f := &fakeLifecycle{}
	if _, stderr, code := runTest(t, root, f, "-i", "postfix-in", "-e", "enable"); code != 0 {
		t.Fatalf("-e enable: exit %d: %s", code, stderr)
	}
	if f.reloads != 1 {
		t.Errorf("-e enable: %d daemon-reloads, want 1", f.reloads)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/postfix-in/main.cf"))
	if err != nil || !strings.HasSuffix(string(b), "multi_instance_enable = yes\n") {
		t.Errorf("-e enable left main.cf as %q (%v)", b, err)
	}
	out, _, _ := runTest(t, root, f, "-l", "-g", "mta")
	want := "postfix-out     mta             y         /etc/postfix-out\npostfix-in      mta             y         /etc/postfix-in\n"
	if out != want {
		t.Errorf("-l after enable:\n%s\nwant\n%s", out, want)
	}
	// A refusal changes nothing and does not reload.
	if _, stderr, code := runTest(t, root, f, "-i", "postfix-in", "-e", "destroy"); code != 1 || stderr != "postmulti: fatal: Cannot remove enabled instances\n" {
		t.Errorf("destroy of an enabled instance: exit %d, stderr %q", code, stderr)
	}
	if f.reloads != 1 {
		t.Errorf("a refused -e asked for a daemon-reload")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/postfix/main.cf.tmp")); err == nil {
		t.Errorf("a refused -e left main.cf.tmp behind")
	}
}

func TestForeignMailConfig(t *testing.T) {
	root := testRoot(t)
	var o, e bytes.Buffer
	code := Run(context.Background(), &Env{
		Args: []string{"postmulti", "-l"}, Stdout: &o, Stderr: &e,
		Environ: []string{"MAIL_CONFIG=/etc/postfix-out"}, Root: root, Lifecycle: &fakeLifecycle{},
	})
	if code != 1 || e.String() != "postmulti: fatal: Non-default configuration directory: MAIL_CONFIG=/etc/postfix-out\n" {
		t.Errorf("MAIL_CONFIG: exit %d, stderr %q", code, e.String())
	}
}

// TestInetInterfaces: postmulti reads every instance through postconf,
// which computes mynetworks's default at start-up and so fails on an
// inet_interfaces address that no local interface has; postmulti itself
// fails likewise on the default main.cf. Expected output from postmulti
// and postconf 3.7.11 (192.0.2.77 is TEST-NET-1, on no interface). The
// generator's reading stays lenient: interfaces are not up at boot.
func TestInetInterfaces(t *testing.T) {
	for _, tc := range []struct {
		file, add, stderr string
	}{
		{"etc/postfix-in/main.cf", "inet_interfaces = 192.0.2.77\n",
			"/usr/sbin/postconf: fatal: parameter inet_interfaces: no local interface found for 192.0.2.77\n" +
				"postmulti: fatal: Failed to obtain all required /etc/postfix-in/main.cf parameters\n"},
		{"etc/postfix-in/main.cf", "inet_interfaces = 192.0.2.77\ninet_protocols = ipv6\n",
			"/usr/sbin/postconf: fatal: config variable inet_interfaces: host not found: 192.0.2.77\n" +
				"postmulti: fatal: Failed to obtain all required /etc/postfix-in/main.cf parameters\n"},
		{"etc/postfix/main.cf", "inet_interfaces = 192.0.2.77\n",
			"postmulti: fatal: parameter inet_interfaces: no local interface found for 192.0.2.77\n"},
		{"etc/postfix-in/main.cf", "inet_interfaces = 192.0.2.77\nmynetworks = 127.0.0.0/8\n", ""},
		{"etc/postfix-in/main.cf", "inet_interfaces = 127.0.0.1\n", ""},
		{"etc/postfix-in/main.cf", "inet_interfaces = loopback-only\n", ""},
		{"etc/postfix/main.cf", "inet_interfaces = all\n", ""},
		// postmulti itself checks inet_protocols and inet_interfaces of
		// the default main.cf whether or not mynetworks is set.
		{"etc/postfix/main.cf", "inet_interfaces = 192.0.2.77\nmynetworks = 127.0.0.0/8\n",
			"postmulti: fatal: parameter inet_interfaces: no local interface found for 192.0.2.77\n"},
		{"etc/postfix/main.cf", "inet_interfaces = 192.0.2.77\ninet_protocols = ipv6\nmynetworks = 127.0.0.0/8\n",
			"postmulti: fatal: config variable inet_interfaces: host not found: 192.0.2.77\n"},
		{"etc/postfix/main.cf", "inet_protocols = bogus\nmynetworks = 127.0.0.0/8\n",
			"postmulti: fatal: unknown inet_protocols value \"bogus\" in \"bogus\"\n"},
		{"etc/postfix/main.cf", "mynetworks_style = bogus\nmynetworks = 127.0.0.0/8\n", ""},
		{"etc/postfix/main.cf", "inet_interfaces = 192.0.2.77\ninet_protocols =\n", ""},
	} {
		root := testRoot(t)
		p := filepath.Join(root, tc.file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(b, tc.add...), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{a("-l"), a("-x", "true"), a("-p", "status")} {
			f := &fakeLifecycle{}
			_, stderr, code := runTest(t, root, f, args...)
			if want := map[bool]int{true: 0, false: 1}[tc.stderr == ""]; code != want || stderr != tc.stderr {
				t.Errorf("%s += %q, postmulti %q: exit %d, stderr %q; want exit %d, stderr %q", tc.file, tc.add, args, code, stderr, want, tc.stderr)
			}
		}
		set, err := instance.Load(os.DirFS(root), "/etc/postfix")
		if tc.file == "etc/postfix/main.cf" {
			if err != nil {
				t.Errorf("%s += %q: the generator's reading fails: %v", tc.file, tc.add, err)
			}
			continue
		}
		if err != nil || len(set.Runnable()) != 3 {
			t.Errorf("%s += %q: the generator's reading skips an instance: %v %+v", tc.file, tc.add, err, set.Problems)
		}
	}
}

// TestMacroLoopInDefaultMainCF: a $name loop in the default main.cf stops
// postmulti with mac_expand's warning and dict_eval's fatal error
// (postmulti 3.7.11), not with the file named twice.
func TestMacroLoopInDefaultMainCF(t *testing.T) {
	for _, tc := range []struct{ add, stderr string }{
		{"foo = $multi_instance_directories\n",
			"postmulti: warning: unreasonable macro call nesting: \"multi_instance_directories\"\n" +
				"postmulti: fatal: dictionary mail_dict: macro processing error\n"},
		{"queue_directory = $queue_directory\n",
			"postmulti: warning: unreasonable macro call nesting: \"queue_directory\"\n" +
				"postmulti: fatal: dictionary mail_dict: macro processing error\n"},
		{"queue_directory = /x${foo\n",
			"postmulti: warning: truncated macro reference: \"/x${foo\"\n" +
				"postmulti: fatal: dictionary mail_dict: macro processing error\n"},
	} {
		root := testRoot(t)
		p := filepath.Join(root, "etc/postfix/main.cf")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(tc.add, "foo") { // the loop through multi_instance_directories
			b = []byte(strings.Replace(string(b), "multi_instance_directories = /etc/postfix-out /etc/postfix-in", "multi_instance_directories = $foo", 1))
		}
		if err := os.WriteFile(p, append(b, tc.add...), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runTest(t, root, &fakeLifecycle{}, "-l")
		if code != 1 || stderr != tc.stderr {
			t.Errorf("%q: postmulti -l: exit %d, stderr %q; want 1, %q", tc.add, code, stderr, tc.stderr)
		}
	}
}

// TestDuplicateEnvironment: with a name twice in the environment, the
// first entry is the value, as glibc's getenv(3) finds it for upstream:
// MAIL_CONFIG=/etc/postfix first is the default directory (upstream
// accepts it), and a -x command sees the first value of a variable.
func TestDuplicateEnvironment(t *testing.T) {
	root := testRoot(t)
	var o, e bytes.Buffer
	code := Run(context.Background(), &Env{
		Args:   []string{"postmulti", "-i", "-", "-x", "sh", "-c", `echo "$MAIL_CONFIG $FOO"`},
		Stdout: &o, Stderr: &e, Root: root, Lifecycle: &fakeLifecycle{},
		Environ: []string{"PATH=/usr/bin:/bin", "MAIL_CONFIG=/etc/postfix", "FOO=first", "MAIL_CONFIG=/etc/postfix-out", "FOO=second"},
	})
	if code != 0 || e.String() != "" || o.String() != "/etc/postfix first\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 0, %q", code, o.String(), e.String(), "/etc/postfix first\n")
	}
}
