package instance

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// TestResolve: the reproductions of issue 10 that Resolve decides.
func TestResolve(t *testing.T) {
	in := func(name, dir string) Instance {
		base := filepath.Base(dir)
		return Instance{Name: name, ConfigDir: dir, QueueDir: "/var/spool/" + base, DataDir: "/var/lib/" + base, Position: 1}
	}
	def := Instance{Default: true, ConfigDir: "/etc/postfix", QueueDir: "/var/spool/postfix", DataDir: "/var/lib/postfix"}
	for _, tc := range []struct {
		name string
		in   Instance
		unit string // "" when it cannot run
		why  string // part of the reason
	}{
		// Upstream runs an instance named without "postfix-".
		{"mx-in", in("mx-in", "/etc/mx-in"), "postfix@mx-in.service", ""},
		// systemd-escape --path simplifies the path first.
		{"nameless with a dot", in("", "/etc/./postfix-a"), `postfix@etc-postfix\x2da.service`, ""},
		{"nameless with slashes", in("", "/etc//postfix-a/"), `postfix@etc-postfix\x2da.service`, ""},
		// A byte of a UTF-8 sequence is shown as systemd-escape shows it.
		{"non-ASCII name", in("postfix-é", "/etc/postfix-e"), "", `instance name "postfix-é" contains '\xc3'`},
		{"group with +", Instance{Name: "postfix-g", Group: "mail+relay", ConfigDir: "/etc/postfix-g", QueueDir: "/q/g", DataDir: "/d/g"}, "", `instance group "mail+relay" contains '+'`},
		{"default config directory spelt otherwise", in("postfix-x", "/etc//postfix"), "", "lists the default config directory /etc//postfix"},
		{"queue directory of the default, spelt otherwise", Instance{Name: "postfix-q", ConfigDir: "/etc/postfix-q", QueueDir: "/var/spool/postfix/", DataDir: "/d/q"}, "", "queue_directory /var/spool/postfix/ is also the queue_directory of the default instance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := []Instance{def, tc.in}
			Resolve(list, nil, unit.Classic)
			if _, err := list[0].Runnable(); err != nil {
				t.Fatalf("default instance: %v", err)
			}
			spec, err := list[1].Runnable()
			switch {
			case tc.unit != "" && (err != nil || spec.Unit != tc.unit):
				t.Errorf("Runnable() = %q, %v; want %s", spec.Unit, err, tc.unit)
			case tc.unit == "" && (err == nil || !strings.Contains(err.Error(), tc.why)):
				t.Errorf("Runnable() = %q, %v; want a reason with %q", spec.Unit, err, tc.why)
			case strings.Contains(errString(err), "Ã"):
				t.Errorf("reason %q shows a byte as Latin-1", err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestResolveSameFile: a config or queue directory that is another's
// through a symlink is a duplicate, when Resolve can see the files.
func TestResolveSameFile(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc/postfix-a", "var/spool/postfix-a"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("postfix-a", filepath.Join(root, "etc/postfix-b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("postfix-a", filepath.Join(root, "var/spool/postfix-c")); err != nil {
		t.Fatal(err)
	}
	list := []Instance{
		{Default: true, ConfigDir: "/etc/postfix", QueueDir: "/var/spool/postfix", DataDir: "/var/lib/postfix"},
		{Name: "postfix-a", ConfigDir: "/etc/postfix-a", QueueDir: "/var/spool/postfix-a", DataDir: "/var/lib/postfix-a"},
		{Name: "postfix-b", ConfigDir: "/etc/postfix-b", QueueDir: "/var/spool/postfix-b", DataDir: "/var/lib/postfix-b"},
		{Name: "postfix-c", ConfigDir: "/etc/postfix-c", QueueDir: "/var/spool/postfix-c", DataDir: "/var/lib/postfix-c"},
	}
	Resolve(list, DirFS(root), unit.Classic)
	var p Problem
	for i, want := range map[int]string{
		2: "config_directory /etc/postfix-b is the same directory as the config_directory of instance /etc/postfix-a",
		3: "queue_directory /var/spool/postfix-c is the same directory as the queue_directory of instance /etc/postfix-a",
	} {
		if _, err := list[i].Runnable(); !errors.As(err, &p) || p.Kind != Duplicate || !strings.Contains(err.Error(), want) {
			t.Errorf("instance %d: %v, want a duplicate: %s", i, err, want)
		}
	}
	if _, err := list[1].Runnable(); err != nil {
		t.Errorf("the first owner cannot run: %v", err)
	}
	// Without the files, only the paths count.
	Resolve(list, nil, unit.Classic)
	for i := range list {
		if _, err := list[i].Runnable(); err != nil {
			t.Errorf("without fsys, instance %d: %v", i, err)
		}
	}
}

// TestSameDir: the rule by which Resolve's claims compare directories,
// as one function (postmulti -e calls it).
func TestSameDir(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc/postfix-a", "etc/postfix-d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("postfix-a", filepath.Join(root, "etc/postfix-b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/postfix-a", filepath.Join(root, "etc/postfix-abs")); err != nil {
		t.Fatal(err)
	}
	fsys := DirFS(root)
	for _, tc := range []struct {
		a, b     string
		same     bool
		withFile bool // the same only as files
	}{
		{"/etc/postfix-a", "/etc/postfix-a", true, false},
		{"/etc//postfix-a/", "/etc/./postfix-a", true, false},
		{"/etc/postfix-a", "/etc/postfix-b", true, true},
		{"/etc/postfix-abs", "/etc/postfix-a", true, true}, // resolved inside the tree
		{"/etc/postfix-a", "/etc/postfix-d", false, false},
		{"/etc/nosuch", "/etc/nosuch/", true, false},
		{"/etc/nosuch", "/etc/postfix-a", false, false},
		{"etc/postfix-a", "/etc/postfix-a", false, false}, // relative: never a file
	} {
		if got := SameDir(fsys, tc.a, tc.b); got != tc.same {
			t.Errorf("SameDir(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := SameDir(fsys, tc.b, tc.a); got != tc.same {
			t.Errorf("SameDir(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.same)
		}
		if got := SameDir(nil, tc.a, tc.b); got != (tc.same && !tc.withFile) {
			t.Errorf("SameDir(nil, %q, %q) = %v, want %v", tc.a, tc.b, got, tc.same && !tc.withFile)
		}
	}
}

// TestDefaultSkipped: a default instance that cannot run under systemd is
// skipped like any other; Load does not fail for it, and the others run.
func TestDefaultSkipped(t *testing.T) {
	fsys := fstest.MapFS{
		"etc/postfix/main.cf":   {Data: []byte("queue_directory = /var/spool/%i\nmulti_instance_directories = /etc/postfix-a\n")},
		"etc/postfix-a/main.cf": {Data: []byte("multi_instance_name = postfix-a\nqueue_directory = /var/spool/postfix-a\ndata_directory = /var/lib/postfix-a\n")},
	}
	set, err := Load(fsys, "/etc/postfix")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Instances[0].Runnable(); err == nil || !strings.Contains(err.Error(), `contains '%'`) {
		t.Errorf("default instance: %v, want skipped for its queue directory", err)
	}
	if r := set.Runnable(); len(r) != 1 || r[0].Spec.Unit != "postfix@postfix-a.service" {
		t.Errorf("Runnable() = %+v, want postfix-a alone", r)
	}
}
