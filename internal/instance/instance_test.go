package instance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// bindFS serves name (and what is below it) from dir and everything else
// from base: the in-process twin of `mount --bind dir /name`, which the
// differential test does for the real postmulti. Both then see the test
// tree's default main.cf at /etc/postfix, so claims and messages name the
// same directories.
type bindFS struct {
	base fs.FS
	name string // e.g. "etc/postfix"
	dir  fs.FS
}

func (b bindFS) Open(name string) (fs.File, error) {
	if name == b.name {
		return b.dir.Open(".")
	}
	if rest, ok := strings.CutPrefix(name, b.name+"/"); ok {
		return b.dir.Open(rest)
	}
	return b.base.Open(name)
}

const defaultDir = "/etc/postfix"

// treeCase is one host configuration. Files are relative to the tree root
// R; in their contents and in the expectations, "@R" stands for the root.
// The file "etc/postfix/main.cf" is the default main.cf, seen as
// /etc/postfix/main.cf.
type treeCase struct {
	name  string
	files map[string]string
	// want lists the good instances as
	// "position name group enabled config_dir queue_dir data_dir".
	want []string
	// problems lists "position kind line" for each problem, in order.
	problems []string
	// refused is the message postmulti stops with ("" when it does not).
	refused string
	// loadErr: Load itself fails (the default instance is broken).
	loadErr bool
	// shared is the message postmulti stops with at start-up, checking
	// the shared directories (LoadWith with CheckSharedDirs), if any.
	shared string
	// noMaster lists config directories (relative to the root) left
	// without the master.cf buildTree otherwise gives them.
	noMaster []string
}

// okMain is a healthy secondary main.cf for instance NAME.
func okMain(name string, extra ...string) string {
	return "multi_instance_name = postfix-" + name + "\n" +
		"queue_directory = /var/spool/postfix-" + name + "\n" +
		"data_directory = /var/lib/postfix-" + name + "\n" + strings.Join(extra, "")
}

func dirs(list string) string { return "multi_instance_directories = " + list + "\n" }

var cases = []treeCase{
	{
		name:  "single instance",
		files: map[string]string{"etc/postfix/main.cf": "# nothing\n"},
		want:  []string{"0 - - y /etc/postfix /var/spool/postfix /var/lib/postfix"},
	},
	{
		name: "two instances with expansions and a messy list",
		files: map[string]string{
			"etc/postfix/main.cf": "inst = @R/etc\n" + dirs("$inst/postfix-a,, ${inst}/postfix-b ,") + "multi_instance_enable = yes\n",
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = /var/spool/$multi_instance_name\n" +
				"data_directory = ${queue_directory}-data\nmulti_instance_group = mta\nmulti_instance_enable = $on\non = YES\n",
			"etc/postfix-b/main.cf": "# nameless\nqueue_directory = /var/spool/postfix-b\n" +
				"data_directory = ${config_directory}/data\nmulti_instance_enable = No\n",
		},
		want: []string{
			"0 - - y /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a mta y @R/etc/postfix-a /var/spool/postfix-a /var/spool/postfix-a-data",
			"2 - - n @R/etc/postfix-b /var/spool/postfix-b @R/etc/postfix-b/data",
		},
	},
	{
		name: "default instance named grouped and enabled",
		files: map[string]string{
			"etc/postfix/main.cf": dirs("@R/etc/postfix-a") + "multi_instance_name = postfix-main\n" +
				"multi_instance_group = core\nmulti_instance_enable = yes\nqueue_directory = /var/spool/postfix-main\n",
			"etc/postfix-a/main.cf": okMain("a", "multi_instance_group = core\n"),
		},
		want: []string{
			"0 postfix-main core y /etc/postfix /var/spool/postfix-main /var/lib/postfix",
			"1 postfix-a core n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
	},
	{
		name: "second instance claims the default's name",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a") + "multi_instance_name = postfix-a\n",
			"etc/postfix-a/main.cf": okMain("a"),
		},
		want:     []string{"0 postfix-a - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		problems: []string{"1 conflict 1"},
		refused:  "instance @R/etc/postfix-a, multi_instance_name=postfix-a conflicts with instance /etc/postfix, multi_instance_name=postfix-a",
	},
	{
		name:    "default main.cf missing",
		files:   map[string]string{"etc/postfix/master.cf": ""},
		loadErr: true,
	},
	{
		name: "missing main.cf does not hide the next instance",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-gone @R/etc/postfix-b"),
			"etc/postfix-b/main.cf": okMain("b"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		problems: []string{"1 unreadable 0"},
		refused:  "Failed to obtain all required @R/etc/postfix-gone/main.cf parameters",
	},
	{
		name: "malformed main.cf",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": okMain("a", "foo bar\n"),
			"etc/postfix-b/main.cf": okMain("b"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		problems: []string{"1 unreadable 4"},
		refused:  "Failed to obtain all required @R/etc/postfix-a/main.cf parameters",
	},
	{
		name: "macro loop",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "queue_directory = $data_directory\ndata_directory = ${queue_directory}/x\n",
		},
		want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		problems: []string{"1 unreadable 1"},
		refused:  "Failed to obtain all required @R/etc/postfix-a/main.cf parameters",
	},
	{
		name: "bad boolean",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": okMain("a", "multi_instance_enable = true\n"),
			"etc/postfix-b/main.cf": okMain("b", "multi_instance_enable = yes\n"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - y @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		problems: []string{"1 bad value 4"},
		refused:  "Unexpected @R/etc/postfix-a/main.cf entry: multi_instance_enable = true",
	},
	{
		name: "duplicate name",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a @R/etc/postfix-b @R/etc/postfix-c"),
			"etc/postfix-a/main.cf": okMain("a"),
			"etc/postfix-b/main.cf": "queue_directory = /var/spool/postfix-b\ndata_directory = /var/lib/postfix-b\nmulti_instance_name = postfix-a\n",
			"etc/postfix-c/main.cf": okMain("c"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
			"3 postfix-c - n @R/etc/postfix-c /var/spool/postfix-c /var/lib/postfix-c",
		},
		problems: []string{"2 conflict 3"},
		refused:  "instance @R/etc/postfix-b, multi_instance_name=postfix-a conflicts with instance @R/etc/postfix-a, multi_instance_name=postfix-a",
	},
	{
		name: "duplicate queue directory",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": okMain("a"),
			"etc/postfix-b/main.cf": "multi_instance_name = postfix-b\nqueue_directory = /var/spool/postfix-a\ndata_directory = /var/lib/postfix-b\n",
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		problems: []string{"2 conflict 2"},
		refused:  "instance @R/etc/postfix-b, queue_directory=/var/spool/postfix-a conflicts with instance @R/etc/postfix-a, queue_directory=/var/spool/postfix-a",
	},
	{
		name: "queue directory of the default instance",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\ndata_directory = /var/lib/postfix-a\n",
		},
		want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		problems: []string{"1 conflict 0"},
		refused:  "instance @R/etc/postfix-a, queue_directory=/var/spool/postfix conflicts with instance /etc/postfix, queue_directory=/var/spool/postfix",
	},
	{
		name: "queue and data directory the same",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = /var/spool/postfix-a\ndata_directory = $queue_directory\n",
		},
		want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		problems: []string{"1 conflict 3"},
		refused:  "instance @R/etc/postfix-a, data_directory=/var/spool/postfix-a conflicts with instance @R/etc/postfix-a, queue_directory=/var/spool/postfix-a",
	},
	{
		name: "queue directory is the command directory",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = /usr/sbin\ndata_directory = /var/lib/postfix-a\n",
		},
		want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		problems: []string{"1 conflict 2"},
		refused:  "instance @R/etc/postfix-a, queue_directory=/usr/sbin conflicts with instance /etc/postfix, command_directory=/usr/sbin",
	},
	{
		name: "directory listed twice (postmulti lists it twice)",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a @R/etc/postfix-a"),
			"etc/postfix-a/main.cf": okMain("a"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		problems: []string{"2 duplicate 1"},
	},
	{
		name: "default directory listed (postmulti lists it twice)",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("/etc/postfix @R/etc/postfix-a"),
			"etc/postfix-a/main.cf": okMain("a"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		problems: []string{"1 duplicate 1"},
	},
	{
		name: "default directory listed with a slash",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("/etc/postfix/ @R/etc/postfix-a"),
			"etc/postfix-a/main.cf": okMain("a"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		// One instance, one reason: postmulti's conflicts, in its words.
		problems: []string{"1 conflict 0", "1 conflict 0"},
		refused:  "instance /etc/postfix/, queue_directory=/var/spool/postfix conflicts with instance /etc/postfix, queue_directory=/var/spool/postfix",
	},
	{
		name: "trailing slash and cleaned duplicates (postmulti accepts)",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a/ @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": okMain("a"),
			"etc/postfix-b/main.cf": "multi_instance_name = postfix-b\nqueue_directory = /var/spool/postfix-a/\ndata_directory = /var/lib/postfix-b\n",
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a/ /var/spool/postfix-a /var/lib/postfix-a",
		},
		problems: []string{"2 duplicate 2"},
	},
	{
		name: "relative config directory (postmulti reads it from its working directory)",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": okMain("a"),
			"etc/postfix-b/main.cf": okMain("b"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		problems: []string{"1 relative path 1"},
	},
	{
		// "b" lacks the "postfix-" prefix, which upstream requires only of
		// a name it assigns: it runs (postmulti -l lists it, -p starts it).
		name: "relative queue directory and bad names (postmulti accepts)",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a @R/etc/postfix-b @R/etc/postfix-c @R/etc/postfix-d"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = spool-a\ndata_directory = /var/lib/postfix-a\n",
			"etc/postfix-b/main.cf": "multi_instance_name = b\nqueue_directory = /var/spool/postfix-b\ndata_directory = /var/lib/postfix-b\n",
			"etc/postfix-c/main.cf": "multi_instance_name = postfix-c@x\nqueue_directory = /var/spool/postfix-c\ndata_directory = /var/lib/postfix-c\n",
			"etc/postfix-d/main.cf": okMain("d", "multi_instance_group = two words\n"),
		},
		want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix", "2 b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b"},
		problems: []string{"1 relative path 2", "3 bad name 1", "4 bad name 4"},
	},
	{
		name: "undefined macro leaves the instance nameless",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = $nosuch\nqueue_directory = /var/spool/postfix-a\ndata_directory = /var/lib/postfix-a\n",
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 - - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
	},
	{
		name: "default instance with a bad boolean",
		files: map[string]string{
			"etc/postfix/main.cf": "multi_instance_enable = maybe\n",
		},
		loadErr: true,
	},
	{
		name: "default instance with a malformed main.cf",
		files: map[string]string{
			"etc/postfix/main.cf": "oops\n",
		},
		loadErr: true,
	},
	{
		name: "warnings of postmulti and of its postconf runs",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a @R/etc/postfix-b") + "biff = yes\nbiff = no\n",
			"etc/postfix-a/main.cf": okMain("a", "biff = yes\nbiff = no\nsmtpd_banner = $nosuch\nfoo = bar\n"),
			"etc/postfix-b/main.cf": okMain("b"),
		},
		noMaster: []string{"etc/postfix-b"},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
	},
	{
		name: "shared directory missing",
		files: map[string]string{
			"etc/postfix/main.cf":   dirs("@R/etc/postfix-a") + "shlib_directory = /nonexistent/pfi-test\n",
			"etc/postfix-a/main.cf": okMain("a"),
		},
		want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		shared: "shlib_directory = '/nonexistent/pfi-test': directory not found: No such file or directory",
	},
	{
		name: "shared directory not a directory before a conflict",
		files: map[string]string{
			"etc/postfix/main.cf": "meta_directory = /etc/passwd\nshlib_directory = /usr/sbin\n",
		},
		loadErr: true,
		shared:  "meta_directory = '/etc/passwd' is not a directory",
	},
	{
		name: "shared directories the same",
		files: map[string]string{
			"etc/postfix/main.cf": "daemon_directory = /usr/sbin\n",
		},
		loadErr: true,
		shared:  "instance /etc/postfix, daemon_directory=/usr/sbin conflicts with instance /etc/postfix, command_directory=/usr/sbin",
	},
	{
		name: "default instance with its queue in its data directory",
		files: map[string]string{
			"etc/postfix/main.cf": "data_directory = /var/spool/postfix\n",
		},
		loadErr: true,
	},
}

// buildTree writes tc's files under a new temporary root; every config
// directory gets an empty master.cf, so that postconf does not warn.
func buildTree(t *testing.T, tc treeCase) string {
	t.Helper()
	// Not t.TempDir(), whose name holds the case's: its parentheses
	// cannot be written into unit files (BadPath).
	root, err := os.MkdirTemp("", "instance")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	for name, content := range tc.files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(content, "@R", root)), 0o644); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(tc.noMaster, filepath.Dir(name)) {
			continue
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(p), "master.cf"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ageTree(t, root)
	return root
}

// ageTree dates every file under root an hour back: Postfix waits up to
// 1.5 s for a main.cf modified within the last second to settle
// (dict_load_file), which would slow the real postmulti down.
func ageTree(tb testing.TB, root string) {
	tb.Helper()
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func load(root string) (*Set, error) {
	fsys := bindFS{base: os.DirFS("/"), name: "etc/postfix", dir: os.DirFS(filepath.Join(root, "etc/postfix"))}
	return Load(fsys, defaultDir)
}

func describe(in Instance) string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	yn := map[bool]string{true: "y", false: "n"}[in.Enabled]
	return fmt.Sprintf("%d %s %s %s %s %s %s", in.Position, dash(in.Name), dash(in.Group), yn, in.ConfigDir, in.QueueDir, in.DataDir)
}

func TestLoad(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := buildTree(t, tc)
			r := func(s string) string { return strings.ReplaceAll(s, "@R", root) }
			if pm, err := loadLikePostmulti(root); err == nil {
				p, ok := pm.SharedRefused()
				if ok != (tc.shared != "") || p.Postmulti != r(tc.shared) {
					t.Errorf("SharedRefused() = %q, %v; want %q", p.Postmulti, ok, r(tc.shared))
				}
			} else if tc.shared != "" {
				t.Errorf("LoadWith: %v; want the shared directories refused", err)
			}
			set, err := load(root)
			if tc.loadErr {
				if err == nil {
					t.Fatalf("Load succeeded, want an error for the broken default instance")
				}
				t.Logf("error: %v", err)
				if !strings.Contains(err.Error(), "/etc/postfix/main.cf") {
					t.Errorf("error %q does not name the default main.cf", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range set.Runnable() {
				got = append(got, describe(in))
				if want := filepath.Join(in.ConfigDir, "main.cf"); in.MainCF != want {
					t.Errorf("MainCF %q, want %q", in.MainCF, want)
				}
				if in.Config == nil {
					t.Errorf("instance %s without Config", in.ConfigDir)
				}
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, r(w))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("instances:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var gotP []string
			for _, p := range set.Problems {
				t.Logf("problem: %v", p)
				gotP = append(gotP, fmt.Sprintf("%d %s %d", p.Position, p.Kind, p.Line))
				if p.Err == nil || p.Path == "" {
					t.Errorf("problem without error or file: %+v", p)
				} else if !strings.Contains(p.Error(), p.ConfigDir) && !strings.Contains(p.Error(), p.Path) {
					t.Errorf("problem %q names neither its instance nor its file", p.Error())
				}
				if p.Line > 0 && !strings.Contains(p.Error(), fmt.Sprintf("line %d", p.Line)) {
					t.Errorf("problem %q does not name its line %d", p.Error(), p.Line)
				}
			}
			if strings.Join(gotP, "\n") != strings.Join(tc.problems, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s\n(errors: %v)", strings.Join(gotP, "\n"), strings.Join(tc.problems, "\n"), set.Problems)
			}
			p, refused := set.Refused()
			if refused != (tc.refused != "") || refused && p.Postmulti != r(tc.refused) {
				t.Errorf("Refused() = %q, %v; want %q", p.Postmulti, refused, r(tc.refused))
			}
			// Postmulti's view: every listed instance, or the reason why not.
			view, err := set.PostmultiView()
			var vp Problem
			switch {
			case refused:
				if !errors.As(err, &vp) || vp.Postmulti != p.Postmulti {
					t.Errorf("PostmultiView error %v, want the refusal", err)
				}
			case err != nil:
				if !errors.As(err, &vp) || vp.Kind != RelativePath {
					t.Errorf("PostmultiView error %v", err)
				}
			case len(view) != len(set.Directories)+1:
				t.Errorf("PostmultiView lists %d instances, want %d", len(view), len(set.Directories)+1)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	tc := cases[1]
	root := buildTree(t, tc)
	set, err := load(root)
	if err != nil {
		t.Fatal(err)
	}
	sel := func(match func(*Instance) bool) string {
		var s []string
		for i := range set.Instances {
			if in := &set.Instances[i]; match(in) {
				s = append(s, in.ConfigDir)
			}
		}
		return strings.ReplaceAll(strings.Join(s, " "), root, "@R")
	}
	for name, want := range map[string]string{
		"-": "/etc/postfix", "postfix-a": "@R/etc/postfix-a", "a": "@R/etc/postfix-a",
		root + "/etc/postfix-b": "@R/etc/postfix-b", root + "/etc/postfix-a": "@R/etc/postfix-a",
		"b": "", "postfix-b": "", "postfix-": "", "": "", "nosuch": "",
	} {
		if got := sel(func(in *Instance) bool { return in.Matches(name) }); got != want {
			t.Errorf("Matches(%q) selects %q, want %q", name, got, want)
		}
	}
	if got := sel(func(in *Instance) bool { return in.InGroup("mta") }); got != "@R/etc/postfix-a" {
		t.Errorf("InGroup(mta) selects %q", got)
	}
	if !set.Default().Default || set.Default().Config == nil {
		t.Error("Default() is not the default instance")
	}
}

// TestDifferential runs the real postmulti -l -a on every case's tree (its
// default main.cf bind-mounted over /etc/postfix in a private mount
// namespace, the tree's root as working directory) and requires of
// LoadWith, as the postmulti shim uses it: the same fatal message where
// postmulti stops (at start-up, or at an instance); otherwise exactly
// the lines of PostmultiView; and in both cases the same warnings,
// postmulti's own and those of the postconf runs that read the
// instances (Postconf), compared as sets of lines because postconf says
// some of them in hash-table order.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real postmulti as root")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the differential test needs root (mount namespaces); run as root or with -short")
	}
	for _, tool := range []string{"unshare", "script", "postmulti", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (install util-linux, postfix): %v", tool, err)
		}
	}
	// postmulti sleeps a second after a fatal error: run them all at once.
	type result struct {
		root, out string
		code      int
	}
	results := make([]result, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		root := buildTree(t, tc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, code := realPostmulti(root)
			results[i] = result{root, out, code}
		}()
	}
	wg.Wait()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, out, code := results[i].root, results[i].out, results[i].code
			if code < 0 {
				t.Fatalf("running postmulti: %s", out)
			}
			realRest, realPostconf := splitPostconf(out)
			set, err := loadLikePostmulti(root)
			var fatal string
			var ours []string // warnings and output, postconf's apart
			var oursPostconf []string
			var p Problem
			switch {
			case err != nil:
				if !errors.As(err, &p) || p.Postmulti == "" {
					t.Fatalf("LoadWith error %v is not a Problem with postmulti's message", err)
				}
				ours, fatal = prefixed("postmulti: warning: ", p.Warnings), p.Postmulti
			default:
				ours = prefixed("postmulti: warning: ", set.Default().Warnings)
				if p, ok := set.SharedRefused(); ok {
					fatal = p.Postmulti
					break
				}
				oursPostconf = postconfLines(set)
				if p, ok := set.Refused(); ok {
					fatal = p.Postmulti
					break
				}
				view, err := set.PostmultiView()
				if err != nil {
					t.Fatalf("PostmultiView: %v", err)
				}
				for _, in := range view {
					ours = append(ours, fmt.Sprintf("%-15s %-15s %-9s %s", dashOf(in.Name), dashOf(in.Group), map[bool]string{true: "y", false: "n"}[in.Enabled], in.ConfigDir))
				}
			}
			if fatal != "" {
				ours = append(ours, "postmulti: fatal: "+fatal)
				if code == 0 {
					t.Errorf("we refuse with %q; postmulti exit 0", fatal)
				}
			} else if code != 0 {
				t.Errorf("postmulti exit %d, we accept", code)
			}
			if strings.Join(realRest, "\n") != strings.Join(ours, "\n") {
				t.Errorf("postmulti -l -a:\n%s\nours:\n%s", strings.Join(realRest, "\n"), strings.Join(ours, "\n"))
			}
			sort.Strings(oursPostconf)
			if maskHashOrder(realPostconf) != maskHashOrder(oursPostconf) {
				t.Errorf("postconf said:\n%s\nours:\n%s", strings.Join(realPostconf, "\n"), strings.Join(oursPostconf, "\n"))
			}
		})
	}
}

// postconfLines is what the postconf runs with which postmulti reads the
// secondary instances print, as the read recorded it: each listed
// instance's warnings, or the warnings and the fatal error of the problem
// that stopped reading it, up to the instance at which postmulti stops
// (the postmulti shim assembles the same, and its differential test
// compares its whole output with the real program's).
func postconfLines(set *Set) []string {
	stop := len(set.Directories)
	if p, ok := set.Refused(); ok {
		stop = p.Position
	}
	var out []string
	for pos := 1; pos <= stop; pos++ {
		var ws []string
		fatal := ""
		found := false
		for _, in := range set.Instances {
			if in.Position == pos {
				ws, found = in.Warnings, true
				break
			}
		}
		if !found {
			for _, p := range set.Problems {
				if p.Position == pos {
					ws, fatal = p.Warnings, p.Postconf
					break
				}
			}
		}
		out = append(out, prefixed("postconf: warning: ", ws)...)
		if fatal != "" {
			out = append(out, "postconf: fatal: "+fatal)
		}
	}
	return out
}

// loadLikePostmulti loads root as the postmulti shim does: checking the
// shared directories, reading relative config directories against root,
// postmulti's working directory in realPostmulti.
func loadLikePostmulti(root string) (*Set, error) {
	fsys := bindFS{base: os.DirFS("/"), name: "etc/postfix", dir: os.DirFS(filepath.Join(root, "etc/postfix"))}
	return LoadWith(fsys, defaultDir, Options{CheckSharedDirs: true, WorkDir: root})
}

// nestingParam is the parameter named in postconf's warning about a macro
// loop: whichever of the loop's parameters postconf meets first, which
// varies from run to run (hash-table order).
var nestingParam = regexp.MustCompile(`(unreasonable macro call nesting: )"[^"]*"`)

func maskHashOrder(lines []string) string {
	return nestingParam.ReplaceAllString(strings.Join(lines, "\n"), `$1"..."`)
}

func prefixed(prefix string, lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, prefix+l)
	}
	return out
}

// splitPostconf separates what postmulti's postconf runs said (from
// "postconf: " on, sorted) from the rest of the output.
func splitPostconf(out string) (rest, postconf []string) {
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if i := strings.Index(line, "postconf: "); i >= 0 && !strings.HasPrefix(line, "postmulti: ") {
			postconf = append(postconf, line[i:])
		} else if line != "" {
			rest = append(rest, line)
		}
	}
	sort.Strings(postconf)
	return rest, postconf
}

func dashOf(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// realPostmulti runs postmulti -l -a with root/etc/postfix over
// /etc/postfix, in root as working directory, under script(1) so that it
// writes its errors to its terminal; it returns the output with CRLF
// turned into LF, and the exit code.
func realPostmulti(root string) (string, int) {
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$0/etc/postfix" /etc/postfix && cd "$0" && exec script -qec "postmulti -l -a" /dev/null`, root)
	out, err := cmd.Output()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return err.Error(), -1
		}
		code = ee.ExitCode()
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n"), code
}

// TestRead: postmulti -e import's load_instance.
func TestRead(t *testing.T) {
	root := buildTree(t, cases[1])
	r := func(s string) string { return strings.ReplaceAll(s, "@R", root) }
	set, err := loadLikePostmulti(root)
	if err != nil {
		t.Fatal(err)
	}
	in, err := set.Read(r("@R/etc/postfix-a"))
	if err != nil || in.Name != "postfix-a" || in.Group != "mta" || !in.Enabled || len(in.Warnings) != 0 {
		t.Errorf("Read = %+v, %v", in, err)
	}
	_, err = set.Read(r("@R/etc/nosuch"))
	var p Problem
	if !errors.As(err, &p) || p.Postmulti != r("Failed to obtain all required @R/etc/nosuch/main.cf parameters") {
		t.Errorf("Read of a missing directory: %v", err)
	}
	if want := r("open @R/etc/nosuch/main.cf: No such file or directory"); len(p.Warnings) != 0 || p.Postconf != want {
		t.Errorf("Read of a missing directory: postconf says %q, %q; want fatal %q", p.Warnings, p.Postconf, want)
	}
}

// TestLoadWithMainCF: the default main.cf given as bytes (read under an
// edit lock) is what is read; a broken one is refused as postmulti does.
func TestLoadWithMainCF(t *testing.T) {
	root := buildTree(t, cases[1])
	fsys := bindFS{base: os.DirFS("/"), name: "etc/postfix", dir: os.DirFS(filepath.Join(root, "etc/postfix"))}
	set, err := LoadWith(fsys, defaultDir, Options{MainCF: []byte("multi_instance_group = g\n")})
	if err != nil || len(set.Directories) != 0 || set.Default().Group != "g" || len(set.Instances) != 1 {
		t.Fatalf("LoadWith(MainCF) = %+v, %v", set, err)
	}
	_, err = LoadWith(fsys, defaultDir, Options{MainCF: []byte("biff = yes\nbiff = no\nmulti_instance_enable = sure\n")})
	var p Problem
	if !errors.As(err, &p) || p.Kind != BadValue || p.Postmulti != "bad boolean configuration: multi_instance_enable = sure" ||
		len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "overriding earlier entry: biff=yes") {
		t.Errorf("LoadWith(bad boolean) error %+v", p)
	}
}

// TestWorkDir: with Options.WorkDir a relative config directory is read
// as postmulti reads it, listed, and still a problem of ours.
func TestWorkDir(t *testing.T) {
	var tc treeCase
	for _, c := range cases {
		if strings.HasPrefix(c.name, "relative config directory") {
			tc = c
		}
	}
	root := buildTree(t, tc)
	set, err := loadLikePostmulti(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range set.Problems {
		got = append(got, fmt.Sprintf("%d %s %d", p.Position, p.Kind, p.Line))
	}
	if strings.Join(got, ",") != "1 relative path 1" {
		t.Errorf("problems %q, want the relative config directory", got)
	}
	view, err := set.PostmultiView()
	if err != nil || len(view) != 3 || view[1].ConfigDir != "etc/postfix-a" || view[1].Name != "postfix-a" {
		t.Errorf("PostmultiView = %+v, %v", view, err)
	}
	if n := len(set.Runnable()); n != 2 {
		t.Errorf("%d good instances, want 2", n)
	}
}
