package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

func inst(name, group string, enabled bool, dir string) instance.Instance {
	base := filepath.Base(dir)
	return instance.Instance{
		Name: name, Group: group, Enabled: enabled,
		ConfigDir: dir, MainCF: dir + "/main.cf",
		QueueDir: "/var/spool/" + base, DataDir: "/var/lib/" + base,
	}
}

func defaultInst() instance.Instance {
	in := inst("", "", true, "/etc/postfix")
	in.Default = true
	return in
}

// newSet is a Set of ins as Load makes it: resolved.
func newSet(ins []instance.Instance) *instance.Set {
	instance.Resolve(ins, nil, unit.Classic)
	return &instance.Set{Instances: ins}
}

// walkthrough is MULTI_INSTANCE_README's border MTA, built by hand.
func walkthrough() *instance.Set {
	return newSet([]instance.Instance{
		defaultInst(),
		inst("postfix-out", "mta", true, "/etc/postfix-out"),
		inst("postfix-in", "mta", true, "/etc/postfix-in"),
	})
}

func paths(t Tree) []string {
	var p []string
	for _, e := range t.Entries {
		if e.IsLink() {
			p = append(p, e.Path+" -> "+e.Target)
		} else {
			p = append(p, e.Path)
		}
	}
	return p
}

func file(t *testing.T, tr Tree, p string) string {
	t.Helper()
	for _, e := range tr.Entries {
		if e.Path == p && !e.IsLink() {
			return string(e.Data)
		}
	}
	t.Fatalf("no file %s in %q", p, paths(tr))
	return ""
}

func line(t *testing.T, content, key string) string {
	t.Helper()
	for _, l := range strings.Split(content, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return ""
}

func TestPlanWalkthrough(t *testing.T) {
	tr := Plan(walkthrough(), Options{})
	want := []string{
		"postfix-mta.target",
		"postfix-mta.target.wants/postfix@postfix-in.service -> /lib/systemd/system/postfix@.service",
		"postfix-mta.target.wants/postfix@postfix-out.service -> /lib/systemd/system/postfix@.service",
		"postfix.service.wants/postfix-mta.target -> ../postfix-mta.target",
		"postfix.service.wants/postfix@-.service -> /lib/systemd/system/postfix@.service",
		"postfix.service.wants/postfix@postfix-in.service -> /lib/systemd/system/postfix@.service",
		"postfix.service.wants/postfix@postfix-out.service -> /lib/systemd/system/postfix@.service",
		"postfix@-.service.d/50-instance.conf",
		"postfix@postfix-in.service.d/50-instance.conf",
		"postfix@postfix-out.service.d/50-instance.conf",
	}
	if got := paths(tr); !reflect.DeepEqual(got, want) {
		t.Errorf("paths:\n got %q\nwant %q", got, want)
	}
	in := file(t, tr, "postfix@postfix-in.service.d/50-instance.conf")
	for key, want := range map[string]string{
		"After":       "postfix@-.service postfix@postfix-out.service",
		"PartOf":      "postfix-mta.target",
		"Before":      "postfix-mta.target",
		"Environment": "MAIL_CONFIG=/etc/postfix-in",
		"PIDFile":     "/var/spool/postfix-in/pid/master.pid",
		"SourcePath":  "/etc/postfix-in/main.cf",
	} {
		if got := line(t, in, key); got != want {
			t.Errorf("postfix-in %s=%q, want %q", key, got, want)
		}
	}
	def := file(t, tr, "postfix@-.service.d/50-instance.conf")
	if got := line(t, def, "After"); got != "" {
		t.Errorf("default instance has After=%s", got)
	}
	if got := line(t, def, "Environment"); got != "MAIL_CONFIG=/etc/postfix" {
		t.Errorf("default instance Environment=%s", got)
	}
	for _, e := range tr.Entries {
		if !e.IsLink() && !strings.HasPrefix(string(e.Data), Header) {
			t.Errorf("%s lacks the header", e.Path)
		}
	}
}

// TestPlanOrderAcrossGaps checks that the start order survives instances
// that are not started with the others: a disabled one, and one of another
// group, between two members of a group.
func TestPlanOrderAcrossGaps(t *testing.T) {
	set := newSet([]instance.Instance{
		defaultInst(),
		inst("postfix-a", "g", true, "/etc/postfix-a"),
		inst("postfix-off", "", false, "/etc/postfix-off"),
		inst("postfix-x", "other", true, "/etc/postfix-x"),
		inst("postfix-b", "g", true, "/etc/postfix-b"),
	})
	tr := Plan(set, Options{})
	for unit, want := range map[string]string{
		"postfix@postfix-a":   "postfix@-.service",
		"postfix@postfix-off": "postfix@-.service postfix@postfix-a.service",
		"postfix@postfix-x":   "postfix@-.service postfix@postfix-a.service postfix@postfix-off.service",
		"postfix@postfix-b":   "postfix@-.service postfix@postfix-a.service postfix@postfix-x.service",
	} {
		if got := line(t, file(t, tr, unit+".service.d/50-instance.conf"), "After"); got != want {
			t.Errorf("%s After=%q, want %q", unit, got, want)
		}
	}
	for _, e := range tr.Entries {
		if strings.HasSuffix(e.Path, "/postfix@postfix-off.service") {
			t.Errorf("disabled instance is wanted: %s", e.Path)
		}
	}
	file(t, tr, "postfix@postfix-off.service.d/50-instance.conf")
}

func TestPlanNameless(t *testing.T) {
	set := newSet([]instance.Instance{
		defaultInst(),
		inst("", "", true, "/etc/postfix-nameless"),
	})
	tr := Plan(set, Options{})
	c := file(t, tr, `postfix@etc-postfix\x2dnameless.service.d/50-instance.conf`)
	if got := line(t, c, "Environment"); got != "MAIL_CONFIG=/etc/postfix-nameless" {
		t.Errorf("Environment=%s", got)
	}
}

// TestPlanRefuses: an instance that instance.Resolve skips gets nothing,
// and the others keep their order.
func TestPlanRefuses(t *testing.T) {
	bad := func(mod func(*instance.Instance)) instance.Instance {
		in := inst("postfix-bad", "", true, "/etc/postfix-bad")
		mod(&in)
		return in
	}
	for name, tc := range map[string]struct {
		in   instance.Instance
		want string
	}{
		"dotdot name":   {bad(func(i *instance.Instance) { i.Name = "postfix-../../etc/evil" }), `contains '/'`},
		"space in name": {bad(func(i *instance.Instance) { i.Name = "postfix-two words" }), `contains ' '`},
		"overlong name": {bad(func(i *instance.Instance) { i.Name = "postfix-" + strings.Repeat("x", 250) }), "too long"},
		"drop-in too long": {bad(func(i *instance.Instance) {
			i.Name = "postfix-" + strings.Repeat("x", 255-len("postfix@postfix-.service"))
		}), "too long"},
		"bad group":                     {bad(func(i *instance.Instance) { i.Group = "../evil" }), "instance group"},
		"relative dir":                  {bad(func(i *instance.Instance) { i.ConfigDir = "etc/postfix-bad" }), "relative config directory"},
		"dotdot dir":                    {bad(func(i *instance.Instance) { i.ConfigDir = "/etc/postfix-bad/../../tmp" }), `".." element`},
		"percent in dir":                {bad(func(i *instance.Instance) { i.QueueDir = "/var/spool/%i" }), `contains '%'`},
		"newline in dir":                {bad(func(i *instance.Instance) { i.QueueDir = "/var/spool/x\nExecStartPre=/bin/evil" }), `contains '\x0a'`},
		"empty queue dir":               {bad(func(i *instance.Instance) { i.QueueDir = "" }), `queue_directory "" is not an absolute path`},
		"duplicate name":                {bad(func(i *instance.Instance) { i.Name = "postfix-ok" }), "duplicate multi_instance_name"},
		"duplicate queue":               {bad(func(i *instance.Instance) { i.QueueDir = "/var/spool/postfix-ok" }), "queue_directory /var/spool/postfix-ok is also the queue_directory of instance /etc/postfix-ok"},
		"same queue, spelt differently": {bad(func(i *instance.Instance) { i.QueueDir = "/var/spool//postfix-ok/" }), "queue_directory /var/spool//postfix-ok/ is also the queue_directory of instance /etc/postfix-ok"},
	} {
		t.Run(name, func(t *testing.T) {
			set := newSet([]instance.Instance{
				defaultInst(),
				inst("postfix-ok", "", true, "/etc/postfix-ok"),
				tc.in,
				inst("postfix-last", "", true, "/etc/postfix-last"),
			})
			_, err := set.Instances[2].Runnable()
			var p instance.Problem
			if !errors.As(err, &p) || p.ConfigDir != tc.in.ConfigDir || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Runnable() = %v, want a problem of %s containing %q", err, tc.in.ConfigDir, tc.want)
			}
			for i, in := range set.Instances {
				if _, err := in.Runnable(); i != 2 && err != nil {
					t.Errorf("instance %d cannot run: %v", i, err)
				}
			}
			tr := Plan(set, Options{})
			got := paths(tr)
			want := []string{
				"postfix.service.wants/postfix@-.service -> /lib/systemd/system/postfix@.service",
				"postfix.service.wants/postfix@postfix-last.service -> /lib/systemd/system/postfix@.service",
				"postfix.service.wants/postfix@postfix-ok.service -> /lib/systemd/system/postfix@.service",
				"postfix@-.service.d/50-instance.conf",
				"postfix@postfix-last.service.d/50-instance.conf",
				"postfix@postfix-ok.service.d/50-instance.conf",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("paths:\n got %q\nwant %q", got, want)
			}
			// The instance after the refused one is still ordered after
			// the one before it.
			if a := line(t, file(t, tr, "postfix@postfix-last.service.d/50-instance.conf"), "After"); a != "postfix@-.service postfix@postfix-ok.service" {
				t.Errorf("postfix-last After=%s", a)
			}
		})
	}
}

func TestPlanCleansPaths(t *testing.T) {
	in := inst("postfix-a", "", true, "/etc//postfix-a/")
	in.QueueDir = "/var/spool/./postfix-a/"
	tr := Plan(newSet([]instance.Instance{defaultInst(), in}), Options{})
	c := file(t, tr, "postfix@postfix-a.service.d/50-instance.conf")
	if got := line(t, c, "Environment"); got != "MAIL_CONFIG=/etc/postfix-a" {
		t.Errorf("Environment=%s", got)
	}
	if got := line(t, c, "PIDFile"); got != "/var/spool/postfix-a/pid/master.pid" {
		t.Errorf("PIDFile=%s", got)
	}
}

// TestPlanDeterministic: plans of the same input are identical, and in
// path order. The input has many groups (Plan gathers them in a map,
// whose iteration order Go randomizes for every range statement), with
// members enabled and disabled, so that any output that followed map
// order would differ between runs: without the final sort in Plan, this
// test fails.
func TestPlanDeterministic(t *testing.T) {
	set := func() *instance.Set {
		ins := []instance.Instance{defaultInst()}
		for i := range 60 {
			ins = append(ins, inst(fmt.Sprintf("postfix-%02d", i), fmt.Sprintf("g%02d", i%25), i%3 != 0, fmt.Sprintf("/etc/postfix-%02d", i)))
		}
		return newSet(ins)
	}
	a := Plan(set(), Options{})
	if n := len(a.Entries); n < 150 {
		t.Fatalf("the plan has %d entries; the test wants many groups and instances", n)
	}
	if !slices.IsSortedFunc(a.Entries, func(x, y Entry) int { return strings.Compare(x.Path, y.Path) }) {
		t.Errorf("entries not in path order: %q", paths(a))
	}
	for range 20 {
		if b := Plan(set(), Options{}); !reflect.DeepEqual(a, b) {
			t.Fatalf("two plans of the same input differ:\n%q\n%q", paths(a), paths(b))
		}
	}
}

func TestPlanTemplatePath(t *testing.T) {
	tr := Plan(walkthrough(), Options{TemplatePath: "/usr/lib/systemd/system/postfix@.service"})
	for _, e := range tr.Entries {
		if e.IsLink() && strings.HasSuffix(e.Path, ".service") && e.Target != "/usr/lib/systemd/system/postfix@.service" {
			t.Errorf("%s -> %s", e.Path, e.Target)
		}
	}
}

func TestApply(t *testing.T) {
	tr := Plan(walkthrough(), Options{})
	dir := t.TempDir()
	if errs := Apply(tr, dir); len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, e := range tr.Entries {
		name := filepath.Join(dir, e.Path)
		if e.IsLink() {
			if got, err := os.Readlink(name); err != nil || got != e.Target {
				t.Errorf("%s -> %q, %v", e.Path, got, err)
			}
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil || string(data) != string(e.Data) {
			t.Errorf("%s: %v", e.Path, err)
		}
	}

	// A second Apply into the same directory meets every entry already
	// there: each is reported as already there (not as a duplicate in the
	// input, which it is not), none is overwritten.
	victim := filepath.Join(dir, "postfix@-.service.d/50-instance.conf")
	if err := os.WriteFile(victim, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := Apply(tr, dir)
	if len(errs) != len(tr.Entries) {
		t.Errorf("%d errors for %d entries: %v", len(errs), len(tr.Entries), errs)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "already exists") || strings.Contains(err.Error(), "duplicate") {
			t.Errorf("error %q does not say that the entry already exists (and only that)", err)
		}
	}
	if data, _ := os.ReadFile(victim); string(data) != "kept\n" {
		t.Errorf("existing file overwritten: %q", data)
	}
}

func TestApplyStaysInside(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(filepath.Dir(dir), "escaped-"+filepath.Base(dir))
	tr := Tree{Entries: []Entry{
		{Path: "../escaped-" + filepath.Base(dir), Data: []byte("x")},
		{Path: "/etc/evil", Data: []byte("x")},
		{Path: "ok.conf", Data: []byte(Header)},
	}}
	errs := Apply(tr, dir)
	if len(errs) != 2 {
		t.Errorf("want 2 errors, got %v", errs)
	}
	if _, err := os.Lstat(outside); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("wrote outside the directory: %v", err)
		os.Remove(outside)
	}
	if _, err := os.Stat(filepath.Join(dir, "ok.conf")); err != nil {
		t.Errorf("the good entry was not written: %v", err)
	}
}

// TestPlanRequiresMounts: every drop-in requires the mounts of its config
// and queue directories, so that an instance never starts on the bare
// mount point of a file system that failed to mount (its mail would go
// into a queue hidden by the mount later).
func TestPlanRequiresMounts(t *testing.T) {
	tr := Plan(walkthrough(), Options{})
	n := 0
	for _, e := range tr.Entries {
		if !strings.HasSuffix(e.Path, "/50-instance.conf") {
			continue
		}
		n++
		var cfg, queue string
		for _, l := range strings.Split(string(e.Data), "\n") {
			if v, ok := strings.CutPrefix(l, "Environment=MAIL_CONFIG="); ok {
				cfg = v
			}
			if v, ok := strings.CutPrefix(l, "PIDFile="); ok {
				queue = strings.TrimSuffix(v, "/pid/master.pid")
			}
		}
		if want := "\nRequiresMountsFor=" + cfg + " " + queue + "\n"; !strings.Contains(string(e.Data), want) {
			t.Errorf("%s lacks %q:\n%s", e.Path, want, e.Data)
		}
	}
	if n == 0 {
		t.Fatal("no drop-ins planned")
	}
}
