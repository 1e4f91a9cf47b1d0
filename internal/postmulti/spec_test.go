package postmulti

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/environ"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/lifecycle"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
	"github.com/postfix-systemd/postfix-instances/internal/systemd/systemdfake"
)

// runWithin is runTest that fails, rather than hangs, when the run does
// not end within a few seconds.
func runWithin(t *testing.T, root string, lc Lifecycle, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	type result struct {
		o, e string
		c    int
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.o, r.e, r.c = runTestNoHelper(root, lc, args...)
		done <- r
	}()
	select {
	case r := <-done:
		return r.o, r.e, r.c
	case <-time.After(20 * time.Second):
		t.Fatalf("postmulti %q still runs after 20 s (a lock held twice?)", args)
		return "", "", 0
	}
}

// runTestNoHelper is runTest without t, for another goroutine.
func runTestNoHelper(root string, lc Lifecycle, args ...string) (string, string, int) {
	var o, e strings.Builder
	code := Run(context.Background(), &Env{
		Args: append([]string{"/usr/sbin/postmulti"}, args...), Stdin: strings.NewReader(""),
		Stdout: &o, Stderr: &e, Environ: []string{"PATH=/usr/bin:/bin"}, Root: root, Lifecycle: lc,
	})
	return o.String(), e.String(), code
}

// files returns every regular file below root with its contents.
func files(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		files[strings.TrimPrefix(p, root)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameFiles(t *testing.T, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok || a != b {
			t.Errorf("%s changed:\n%s\n---\n%s", p, b, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s created", p)
		}
	}
}

// TestCreateOverExistingConfigDirectory: a new instance whose
// config_directory is an existing instance's spelt differently (or a
// symlink to it) is refused as upstream refuses the same string, instead
// of editing the default main.cf under its own lock (which hung for ever).
func TestCreateOverExistingConfigDirectory(t *testing.T) {
	root := testRoot(t)
	if err := os.Symlink("postfix-out", filepath.Join(root, "etc/postfix-link")); err != nil {
		t.Fatal(err)
	}
	// The prototypes, without which create would stop before it writes.
	for _, p := range []string{"main.cf.proto", "master.cf.proto"} {
		if err := os.WriteFile(filepath.Join(root, "etc/postfix", p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ dir, owner string }{
		{"/etc/postfix", "/etc/postfix"}, // upstream's own refusal
		{"/etc//postfix", "/etc/postfix"},
		{"/etc/./postfix/", "/etc/postfix"},
		{"/etc/postfix-out/.", "/etc/postfix-out"},
		{"/etc/postfix-link", "/etc/postfix-out"},
	} {
		before := files(t, root)
		f := &fakeLifecycle{}
		_, stderr, code := runWithin(t, root, f, "-I", "postfix-x", "-e", "create", "config_directory="+tc.dir)
		want := "postmulti: fatal: new config_directory=" + strings.TrimSuffix(tc.dir, "/") + " is already in use by instance " + tc.owner + ", config_directory=" + tc.owner + "\n"
		if code != 1 || stderr != want {
			t.Errorf("create config_directory=%s: exit %d, stderr %q; want 1, %q", tc.dir, code, stderr, want)
		}
		sameFiles(t, before, files(t, root))
		if f.reloads != 0 {
			t.Errorf("a refused create reloaded systemd")
		}
	}
}

// TestUnitGroupRefused: -e assign and -e create refuse a group that the
// generator would refuse (upstream accepts "+"), and change nothing.
func TestUnitGroupRefused(t *testing.T) {
	root := testRoot(t)
	want := `postmulti: fatal: Instance /etc/postfix-in would not run under systemd (postfix-instance-generator would skip it): instance group "mail+relay" contains '+', which a systemd unit name cannot carry` + "\n"
	for _, args := range [][]string{
		{"-i", "postfix-in", "-G", "mail+relay", "-e", "assign"},
		{"-i", "postfix-in", "-I", "postfix-in2", "-G", "mail+relay", "-e", "assign"},
	} {
		before := files(t, root)
		f := &fakeLifecycle{}
		_, stderr, code := runWithin(t, root, f, args...)
		if code != 1 || stderr != want {
			t.Errorf("%q: exit %d, stderr %q; want 1, %q", args, code, stderr, want)
		}
		sameFiles(t, before, files(t, root))
		if f.reloads != 0 {
			t.Errorf("%q: a refused assign reloaded systemd", args)
		}
	}
	before := files(t, root)
	_, stderr, code := runWithin(t, root, &fakeLifecycle{}, "-I", "postfix-new", "-G", "mail+relay", "-e", "create")
	if want := strings.ReplaceAll(want, "/etc/postfix-in ", "/etc/postfix-new "); code != 1 || stderr != want {
		t.Errorf("create -G mail+relay: exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	sameFiles(t, before, files(t, root))
	if _, err := os.Stat(filepath.Join(root, "etc/postfix-new")); err == nil {
		t.Errorf("a refused create made its config directory")
	}
	// An imported instance whose own main.cf has such a group.
	for name, content := range map[string]string{
		"etc/postfix-imp/main.cf":   "queue_directory = /var/spool/postfix-imp\ndata_directory = /var/lib/postfix-imp\nmulti_instance_name = postfix-imp\nmulti_instance_group = mail+relay\n",
		"etc/postfix-imp/master.cf": "",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before = files(t, root)
	_, stderr, code = runWithin(t, root, &fakeLifecycle{}, "-e", "import", "config_directory=/etc/postfix-imp")
	if want := strings.ReplaceAll(want, "/etc/postfix-in ", "/etc/postfix-imp "); code != 1 || stderr != want {
		t.Errorf("import of a mail+relay instance: exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	sameFiles(t, before, files(t, root))
	// A name upstream accepts but a unit cannot carry.
	_, stderr, code = runWithin(t, root, &fakeLifecycle{}, "-i", "postfix-in", "-I", "postfix-a@b", "-e", "assign")
	if code != 1 || !strings.Contains(stderr, `instance name "postfix-a@b" contains '@'`) {
		t.Errorf("assign -I postfix-a@b: exit %d, stderr %q", code, stderr)
	}
	// Upstream's own refusals keep upstream's words.
	_, stderr, code = runWithin(t, root, &fakeLifecycle{}, "-i", "postfix-in", "-G", "a b", "-e", "assign")
	if code != 1 || stderr != "postmulti: fatal: Unsafe characters in '-G a b'\n" {
		t.Errorf("assign -G 'a b': exit %d, stderr %q", code, stderr)
	}
	// A good group still goes through.
	if _, stderr, code := runWithin(t, root, &fakeLifecycle{}, "-i", "postfix-in", "-G", "relay", "-e", "assign"); code != 0 {
		t.Errorf("assign -G relay: exit %d, %s", code, stderr)
	}
}

// TestQueueTakenOverRefused: a new instance inserted before an existing
// one and sharing its queue directory (spelt differently, which upstream
// misses) would take the queue from it: refused.
func TestQueueTakenOverRefused(t *testing.T) {
	root := testRoot(t)
	before := files(t, root)
	_, stderr, code := runWithin(t, root, &fakeLifecycle{}, "-I", "postfix-new", "-i", "postfix-out", "-e", "create", "queue_directory=/var/spool//postfix-out")
	want := "postmulti: fatal: Instance /etc/postfix-out would not run under systemd (postfix-instance-generator would skip it): queue_directory /var/spool/postfix-out is also the queue_directory of instance /etc/postfix-new\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	sameFiles(t, before, files(t, root))
}

// sdLifecycle is internal/lifecycle against a fake systemd and a fake
// postfix(1), as with systemd as PID 1.
type sdLifecycle struct {
	fake    *systemdfake.Fake
	postfix []string // "ACTION MAIL_CONFIG" of each postfix command
}

func (l *sdLifecycle) Postfix(ctx context.Context, action string, args []string, insts []instance.Instance, opts lifecycle.Options) (int, error) {
	opts.Systemd = l.fake
	opts.Runner = l
	return lifecycle.Run(ctx, action, args, insts, opts)
}

func (l *sdLifecycle) ConfigChanged(context.Context) error { return nil }

func (l *sdLifecycle) Run(_ context.Context, c lifecycle.Command) (int, error) {
	l.postfix = append(l.postfix, c.Args[1]+" "+mailConfig(c.Env))
	return 0, nil
}

// jobs returns the units of the recorded calls of op.
func (l *sdLifecycle) jobs(op string) []string {
	var units []string
	for _, c := range l.fake.Recorded() {
		if c.Op == op {
			units = append(units, c.Unit)
		}
	}
	return units
}

// TestPostfixStartSkipsWhatTheGeneratorSkips: -p start starts exactly the
// units the generator writes: an instance named without "postfix-" gets
// its unit (upstream runs it), a nameless one listed as /etc/./postfix-a
// is postfix@etc-postfix\x2da.service (systemd-escape --path), and one
// the generator skips (a group no unit name can carry) is skipped with
// the generator's reason.
func TestPostfixStartSkipsWhatTheGeneratorSkips(t *testing.T) {
	root := testRoot(t)
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/postfix/main.cf", "multi_instance_wrapper = ${command_directory}/postmulti -p --\nmulti_instance_enable = yes\nmulti_instance_directories = /etc/mx-in /etc/./postfix-a /etc/postfix-plus\n")
	for _, d := range []string{"mx-in", "postfix-a", "postfix-plus"} {
		write("etc/"+d+"/master.cf", "")
	}
	write("etc/mx-in/main.cf", "queue_directory = /var/spool/mx-in\ndata_directory = /var/lib/mx-in\nmulti_instance_name = mx-in\nmulti_instance_enable = yes\n")
	write("etc/postfix-a/main.cf", "queue_directory = /var/spool/postfix-a\ndata_directory = /var/lib/postfix-a\nmulti_instance_enable = yes\n")
	write("etc/postfix-plus/main.cf", "queue_directory = /var/spool/postfix-plus\ndata_directory = /var/lib/postfix-plus\nmulti_instance_name = postfix-plus\nmulti_instance_group = mail+relay\nmulti_instance_enable = yes\n")
	l := &sdLifecycle{fake: systemdfake.NewFake()}
	// What systemd says of the unit the generator did not write: the bare
	// template, without drop-in. It must not be asked about (every
	// -p start would reload systemd for it), let alone started.
	l.fake.Set(systemd.UnitStatus{Name: "postfix@postfix-plus.service", LoadState: "loaded", ActiveState: "inactive", FragmentPath: "/lib/systemd/system/postfix@.service"})
	_, stderr, code := runWithin(t, root, l, "-p", "start")
	if r := l.jobs(systemdfake.OpDaemonReload); len(r) != 0 {
		t.Errorf("-p start reloaded systemd %d times", len(r))
	}
	want := []string{"postfix@-.service", "postfix@mx-in.service", `postfix@etc-postfix\x2da.service`}
	if got := l.jobs(systemdfake.OpStart); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("started %q, want %q", got, want)
	}
	wantErr := `postmulti: error: start: skipping instance postfix-plus, which has no systemd unit: /etc/postfix-plus/main.cf, line 4: instance group "mail+relay" contains '+', which a systemd unit name cannot carry` + "\n"
	if code != 1 || stderr != wantErr {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, wantErr)
	}
}

func mailConfig(env []string) string {
	v, _ := environ.Get(env, "MAIL_CONFIG")
	return v
}

// writeTree writes files (path below root: content) into root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, s := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemoveRefusedWhenAnotherLosesItsUnit: -e deport and -e destroy
// take an instance out of the list, which can make an instance that the
// generator skipped runnable again, taking a directory from one that runs:
// postfix-x shares postfix-a's queue directory (spelt otherwise, which
// upstream misses) and is skipped, so postfix-y holds the data directory
// it shares with postfix-x; without postfix-a, postfix-x would hold it and
// postfix-y would lose its unit. Refused, nothing written.
func TestRemoveRefusedWhenAnotherLosesItsUnit(t *testing.T) {
	root := testRoot(t)
	writeTree(t, root, map[string]string{
		"etc/postfix/main.cf":     "multi_instance_wrapper = ${command_directory}/postmulti -p --\nmulti_instance_enable = yes\nmulti_instance_directories = /etc/postfix-a /etc/postfix-x /etc/postfix-y\n",
		"etc/postfix-a/main.cf":   "queue_directory = /var/spool/q1\ndata_directory = /var/lib/postfix-a\nmulti_instance_name = postfix-a\nmulti_instance_enable = no\n",
		"etc/postfix-x/main.cf":   "queue_directory = /var/spool/q1/\ndata_directory = /var/lib/shared\nmulti_instance_name = postfix-x\nmulti_instance_enable = no\n",
		"etc/postfix-y/main.cf":   "queue_directory = /var/spool/postfix-y\ndata_directory = /var/lib/shared/\nmulti_instance_name = postfix-y\nmulti_instance_enable = yes\n",
		"etc/postfix-a/master.cf": "", "etc/postfix-x/master.cf": "", "etc/postfix-y/master.cf": "",
	})
	want := "postmulti: fatal: Instance /etc/postfix-y would not run under systemd (postfix-instance-generator would skip it): data_directory /var/lib/shared/ is also the data_directory of instance /etc/postfix-x\n"
	for _, action := range []string{"deport", "destroy"} {
		before := files(t, root)
		f := &fakeLifecycle{}
		_, stderr, code := runWithin(t, root, f, "-i", "postfix-a", "-e", action)
		if code != 1 || stderr != want {
			t.Errorf("-e %s: exit %d, stderr %q; want 1, %q", action, code, stderr, want)
		}
		sameFiles(t, before, files(t, root))
		if f.reloads != 0 {
			t.Errorf("a refused %s reloaded systemd", action)
		}
	}
	// Taking out postfix-x, which the generator skips, changes nothing
	// for the others: accepted.
	if _, stderr, code := runWithin(t, root, &fakeLifecycle{}, "-i", "postfix-x", "-e", "deport"); code != 0 {
		t.Errorf("-i postfix-x -e deport: exit %d, %s", code, stderr)
	}
}

// TestInitRefusedForUnrunnableDefault: -e init enables the default
// instance (multi_instance_enable = yes; -e enable requires init first),
// and is refused, as -e enable is, when the generator skips it;
// where the default instance is enabled already, init changes nothing the
// generator decides, and goes through.
func TestInitRefusedForUnrunnableDefault(t *testing.T) {
	root := testRoot(t)
	mainCF := "queue_directory = /var/spool/post%fix\nmulti_instance_directories = /etc/postfix-out /etc/postfix-in\nmulti_instance_enable = no\n"
	writeTree(t, root, map[string]string{"etc/postfix/main.cf": mainCF})
	before := files(t, root)
	f := &fakeLifecycle{}
	_, stderr, code := runWithin(t, root, f, "-e", "init")
	want := `postmulti: fatal: Instance /etc/postfix would not run under systemd (postfix-instance-generator would skip it): queue_directory "/var/spool/post%fix" contains '%'`
	if code != 1 || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("-e init: exit %d, stderr %q; want 1, %q…", code, stderr, want)
	}
	sameFiles(t, before, files(t, root))
	if f.reloads != 0 {
		t.Errorf("a refused init reloaded systemd")
	}
	// Enabled already (single-instance mode): init goes through.
	writeTree(t, root, map[string]string{"etc/postfix/main.cf": "queue_directory = /var/spool/post%fix\n"})
	if _, stderr, code := runWithin(t, root, &fakeLifecycle{}, "-e", "init"); code != 0 {
		t.Errorf("-e init on an enabled default instance: exit %d, %s", code, stderr)
	}
}
