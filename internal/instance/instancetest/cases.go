// Package instancetest holds the host configurations on which the
// instance model (internal/instance) and the postmulti shim's reading of
// it (internal/postmulti, against the real postmulti -l -a) are tested,
// and builds their trees. Only tests import it.
package instancetest

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// DefaultDir is the default config directory, where the tree's
// etc/postfix is seen.
const DefaultDir = "/etc/postfix"

// Case is one host configuration. Files are relative to the tree root
// R; in their contents and in the expectations, "@R" stands for the root.
// The file "etc/postfix/main.cf" is the default main.cf, seen as
// /etc/postfix/main.cf.
type Case struct {
	Name  string
	Files map[string]string
	// Want lists the good instances as
	// "position name group enabled config_dir queue_dir data_dir".
	Want []string
	// Problems lists "position kind line" for each problem, in order.
	Problems []string
	// Refused is the message postmulti stops with ("" when it does not);
	// the model only finds a problem there (instance.Kind.Fatal), the
	// wording is checked by the postmulti shim's tests.
	Refused string
	// LoadErr: Load itself fails (the default instance is broken).
	LoadErr bool
	// Shared is the message postmulti stops with at start-up, checking
	// the shared directories (LoadWith with CheckSharedDirs), if any.
	Shared string
	// NoMaster lists config directories (relative to the root) left
	// without the master.cf BuildTree otherwise gives them.
	NoMaster []string
}

// OkMain is a healthy secondary main.cf for instance NAME.
func OkMain(name string, extra ...string) string {
	return "multi_instance_name = postfix-" + name + "\n" +
		"queue_directory = /var/spool/postfix-" + name + "\n" +
		"data_directory = /var/lib/postfix-" + name + "\n" + strings.Join(extra, "")
}

// Dirs is a multi_instance_directories line listing list.
func Dirs(list string) string { return "multi_instance_directories = " + list + "\n" }

// Cases are the host configurations.
var Cases = []Case{
	{
		Name:  "single instance",
		Files: map[string]string{"etc/postfix/main.cf": "# nothing\n"},
		Want:  []string{"0 - - y /etc/postfix /var/spool/postfix /var/lib/postfix"},
	},
	{
		Name: "two instances with expansions and a messy list",
		Files: map[string]string{
			"etc/postfix/main.cf": "inst = @R/etc\n" + Dirs("$inst/postfix-a,, ${inst}/postfix-b ,") + "multi_instance_enable = yes\n",
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = /var/spool/$multi_instance_name\n" +
				"data_directory = ${queue_directory}-data\nmulti_instance_group = mta\nmulti_instance_enable = $on\non = YES\n",
			"etc/postfix-b/main.cf": "# nameless\nqueue_directory = /var/spool/postfix-b\n" +
				"data_directory = ${config_directory}/data\nmulti_instance_enable = No\n",
		},
		Want: []string{
			"0 - - y /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a mta y @R/etc/postfix-a /var/spool/postfix-a /var/spool/postfix-a-data",
			"2 - - n @R/etc/postfix-b /var/spool/postfix-b @R/etc/postfix-b/data",
		},
	},
	{
		Name: "default instance named grouped and enabled",
		Files: map[string]string{
			"etc/postfix/main.cf": Dirs("@R/etc/postfix-a") + "multi_instance_name = postfix-main\n" +
				"multi_instance_group = core\nmulti_instance_enable = yes\nqueue_directory = /var/spool/postfix-main\n",
			"etc/postfix-a/main.cf": OkMain("a", "multi_instance_group = core\n"),
		},
		Want: []string{
			"0 postfix-main core y /etc/postfix /var/spool/postfix-main /var/lib/postfix",
			"1 postfix-a core n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
	},
	{
		Name: "second instance claims the default's name",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a") + "multi_instance_name = postfix-a\n",
			"etc/postfix-a/main.cf": OkMain("a"),
		},
		Want:     []string{"0 postfix-a - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		Problems: []string{"1 conflict 1"},
		Refused:  "instance @R/etc/postfix-a, multi_instance_name=postfix-a conflicts with instance /etc/postfix, multi_instance_name=postfix-a",
	},
	{
		Name:    "default main.cf missing",
		Files:   map[string]string{"etc/postfix/master.cf": ""},
		LoadErr: true,
	},
	{
		Name: "missing main.cf does not hide the next instance",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-gone @R/etc/postfix-b"),
			"etc/postfix-b/main.cf": OkMain("b"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		Problems: []string{"1 unreadable 0"},
		Refused:  "Failed to obtain all required @R/etc/postfix-gone/main.cf parameters",
	},
	{
		Name: "malformed main.cf",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": OkMain("a", "foo bar\n"),
			"etc/postfix-b/main.cf": OkMain("b"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		Problems: []string{"1 unreadable 4"},
		Refused:  "Failed to obtain all required @R/etc/postfix-a/main.cf parameters",
	},
	{
		Name: "macro loop",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "queue_directory = $data_directory\ndata_directory = ${queue_directory}/x\n",
		},
		Want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		Problems: []string{"1 unreadable 1"},
		Refused:  "Failed to obtain all required @R/etc/postfix-a/main.cf parameters",
	},
	{
		Name: "bad boolean",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": OkMain("a", "multi_instance_enable = true\n"),
			"etc/postfix-b/main.cf": OkMain("b", "multi_instance_enable = yes\n"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - y @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		Problems: []string{"1 bad value 4"},
		Refused:  "Unexpected @R/etc/postfix-a/main.cf entry: multi_instance_enable = true",
	},
	{
		Name: "duplicate name",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a @R/etc/postfix-b @R/etc/postfix-c"),
			"etc/postfix-a/main.cf": OkMain("a"),
			"etc/postfix-b/main.cf": "queue_directory = /var/spool/postfix-b\ndata_directory = /var/lib/postfix-b\nmulti_instance_name = postfix-a\n",
			"etc/postfix-c/main.cf": OkMain("c"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
			"3 postfix-c - n @R/etc/postfix-c /var/spool/postfix-c /var/lib/postfix-c",
		},
		Problems: []string{"2 conflict 3"},
		Refused:  "instance @R/etc/postfix-b, multi_instance_name=postfix-a conflicts with instance @R/etc/postfix-a, multi_instance_name=postfix-a",
	},
	{
		Name: "duplicate queue directory",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": OkMain("a"),
			"etc/postfix-b/main.cf": "multi_instance_name = postfix-b\nqueue_directory = /var/spool/postfix-a\ndata_directory = /var/lib/postfix-b\n",
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		Problems: []string{"2 conflict 2"},
		Refused:  "instance @R/etc/postfix-b, queue_directory=/var/spool/postfix-a conflicts with instance @R/etc/postfix-a, queue_directory=/var/spool/postfix-a",
	},
	{
		Name: "queue directory of the default instance",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\ndata_directory = /var/lib/postfix-a\n",
		},
		Want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		Problems: []string{"1 conflict 0"},
		Refused:  "instance @R/etc/postfix-a, queue_directory=/var/spool/postfix conflicts with instance /etc/postfix, queue_directory=/var/spool/postfix",
	},
	{
		Name: "queue and data directory the same",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = /var/spool/postfix-a\ndata_directory = $queue_directory\n",
		},
		Want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		Problems: []string{"1 conflict 3"},
		Refused:  "instance @R/etc/postfix-a, data_directory=/var/spool/postfix-a conflicts with instance @R/etc/postfix-a, queue_directory=/var/spool/postfix-a",
	},
	{
		Name: "queue directory is the command directory",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = /usr/sbin\ndata_directory = /var/lib/postfix-a\n",
		},
		Want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix"},
		Problems: []string{"1 conflict 2"},
		Refused:  "instance @R/etc/postfix-a, queue_directory=/usr/sbin conflicts with instance /etc/postfix, command_directory=/usr/sbin",
	},
	{
		Name: "directory listed twice (postmulti lists it twice)",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a @R/etc/postfix-a"),
			"etc/postfix-a/main.cf": OkMain("a"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		Problems: []string{"2 duplicate 1"},
	},
	{
		Name: "default directory listed (postmulti lists it twice)",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("/etc/postfix @R/etc/postfix-a"),
			"etc/postfix-a/main.cf": OkMain("a"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		Problems: []string{"1 duplicate 1"},
	},
	{
		Name: "default directory listed with a slash",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("/etc/postfix/ @R/etc/postfix-a"),
			"etc/postfix-a/main.cf": OkMain("a"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		// One instance, one reason: postmulti's conflicts, in its words.
		Problems: []string{"1 conflict 0", "1 conflict 0"},
		Refused:  "instance /etc/postfix/, queue_directory=/var/spool/postfix conflicts with instance /etc/postfix, queue_directory=/var/spool/postfix",
	},
	{
		Name: "trailing slash and cleaned duplicates (postmulti accepts)",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a/ @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": OkMain("a"),
			"etc/postfix-b/main.cf": "multi_instance_name = postfix-b\nqueue_directory = /var/spool/postfix-a/\ndata_directory = /var/lib/postfix-b\n",
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a/ /var/spool/postfix-a /var/lib/postfix-a",
		},
		Problems: []string{"2 duplicate 2"},
	},
	{
		Name: "relative config directory (postmulti reads it from its working directory)",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("etc/postfix-a @R/etc/postfix-b"),
			"etc/postfix-a/main.cf": OkMain("a"),
			"etc/postfix-b/main.cf": OkMain("b"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
		Problems: []string{"1 relative path 1"},
	},
	{
		// "b" lacks the "postfix-" prefix, which upstream requires only of
		// a name it assigns: it runs (postmulti -l lists it, -p starts it).
		Name: "relative queue directory and bad names (postmulti accepts)",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a @R/etc/postfix-b @R/etc/postfix-c @R/etc/postfix-d"),
			"etc/postfix-a/main.cf": "multi_instance_name = postfix-a\nqueue_directory = spool-a\ndata_directory = /var/lib/postfix-a\n",
			"etc/postfix-b/main.cf": "multi_instance_name = b\nqueue_directory = /var/spool/postfix-b\ndata_directory = /var/lib/postfix-b\n",
			"etc/postfix-c/main.cf": "multi_instance_name = postfix-c@x\nqueue_directory = /var/spool/postfix-c\ndata_directory = /var/lib/postfix-c\n",
			"etc/postfix-d/main.cf": OkMain("d", "multi_instance_group = two words\n"),
		},
		Want:     []string{"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix", "2 b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b"},
		Problems: []string{"1 relative path 2", "3 bad name 1", "4 bad name 4"},
	},
	{
		Name: "undefined macro leaves the instance nameless",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a"),
			"etc/postfix-a/main.cf": "multi_instance_name = $nosuch\nqueue_directory = /var/spool/postfix-a\ndata_directory = /var/lib/postfix-a\n",
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 - - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
	},
	{
		Name: "default instance with a bad boolean",
		Files: map[string]string{
			"etc/postfix/main.cf": "multi_instance_enable = maybe\n",
		},
		LoadErr: true,
	},
	{
		Name: "default instance with a malformed main.cf",
		Files: map[string]string{
			"etc/postfix/main.cf": "oops\n",
		},
		LoadErr: true,
	},
	{
		Name: "warnings of postmulti and of its postconf runs",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a @R/etc/postfix-b") + "biff = yes\nbiff = no\n",
			"etc/postfix-a/main.cf": OkMain("a", "biff = yes\nbiff = no\nsmtpd_banner = $nosuch\nfoo = bar\n"),
			"etc/postfix-b/main.cf": OkMain("b"),
		},
		NoMaster: []string{"etc/postfix-b"},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
			"2 postfix-b - n @R/etc/postfix-b /var/spool/postfix-b /var/lib/postfix-b",
		},
	},
	{
		Name: "shared directory missing",
		Files: map[string]string{
			"etc/postfix/main.cf":   Dirs("@R/etc/postfix-a") + "shlib_directory = /nonexistent/pfi-test\n",
			"etc/postfix-a/main.cf": OkMain("a"),
		},
		Want: []string{
			"0 - - n /etc/postfix /var/spool/postfix /var/lib/postfix",
			"1 postfix-a - n @R/etc/postfix-a /var/spool/postfix-a /var/lib/postfix-a",
		},
		Shared: "shlib_directory = '/nonexistent/pfi-test': directory not found: No such file or directory",
	},
	{
		Name: "shared directory not a directory before a conflict",
		Files: map[string]string{
			"etc/postfix/main.cf": "meta_directory = /etc/passwd\nshlib_directory = /usr/sbin\n",
		},
		LoadErr: true,
		Shared:  "meta_directory = '/etc/passwd' is not a directory",
	},
	{
		Name: "shared directories the same",
		Files: map[string]string{
			"etc/postfix/main.cf": "daemon_directory = /usr/sbin\n",
		},
		LoadErr: true,
		Shared:  "instance /etc/postfix, daemon_directory=/usr/sbin conflicts with instance /etc/postfix, command_directory=/usr/sbin",
	},
	{
		Name: "default instance with its queue in its data directory",
		Files: map[string]string{
			"etc/postfix/main.cf": "data_directory = /var/spool/postfix\n",
		},
		LoadErr: true,
	},
}

// BuildTree writes tc's files under a new temporary root; every config
// directory gets an empty master.cf, so that postconf does not warn.
func BuildTree(t *testing.T, tc Case) string {
	t.Helper()
	// Not t.TempDir(), whose name holds the case's: its parentheses
	// cannot be written into unit files (BadPath).
	root, err := os.MkdirTemp("", "instance")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	for name, content := range tc.Files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(content, "@R", root)), 0o644); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(tc.NoMaster, filepath.Dir(name)) {
			continue
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(p), "master.cf"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	AgeTree(t, root)
	return root
}

// AgeTree dates every file under root an hour back: Postfix waits up to
// 1.5 s for a main.cf modified within the last second to settle
// (dict_load_file), which would slow the real postmulti down.
func AgeTree(tb testing.TB, root string) {
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

// TreeFS is the host's file system, rooted at "/", with the tree root's
// etc/postfix seen at /etc/postfix (as the differential tests bind-mount
// it for the real postmulti).
func TreeFS(root string) fs.FS {
	return bindFS{base: os.DirFS("/"), name: "etc/postfix", dir: os.DirFS(filepath.Join(root, "etc/postfix"))}
}
