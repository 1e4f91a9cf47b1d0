package instance

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/postfix-systemd/postfix-instances/internal/instance/instancetest"
)

// The host configurations (package instancetest), shared with the
// postmulti shim's differential test.
const defaultDir = instancetest.DefaultDir

type treeCase = instancetest.Case

var (
	cases     = instancetest.Cases
	okMain    = instancetest.OkMain
	dirs      = instancetest.Dirs
	buildTree = instancetest.BuildTree
	ageTree   = instancetest.AgeTree
)

func load(root string) (*Set, error) {
	fsys := instancetest.TreeFS(root)
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
		t.Run(tc.Name, func(t *testing.T) {
			root := buildTree(t, tc)
			r := func(s string) string { return strings.ReplaceAll(s, "@R", root) }
			// The wording of postmulti's refusals is the shim's, tested
			// there (internal/postmulti TestRefusedCases); here, that the
			// model finds a problem at which postmulti stops.
			if pm, err := loadLikePostmulti(root); err == nil {
				if got := firstFatal(pm.Problems[:pm.Shared]) != nil; got != (tc.Shared != "") {
					t.Errorf("a fatal problem among the shared directories' %d: %v, want %v", pm.Shared, got, tc.Shared != "")
				}
			} else if tc.Shared != "" {
				t.Errorf("LoadWith: %v; want the shared directories refused", err)
			}
			set, err := load(root)
			if tc.LoadErr {
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
			for _, w := range tc.Want {
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
			if strings.Join(gotP, "\n") != strings.Join(tc.Problems, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s\n(errors: %v)", strings.Join(gotP, "\n"), strings.Join(tc.Problems, "\n"), set.Problems)
			}
			if got := firstFatal(set.Problems) != nil; got != (tc.Refused != "") {
				t.Errorf("a fatal problem: %v, want %v", got, tc.Refused != "")
			}
		})
	}
}

// firstFatal returns the first problem of ps at which postmulti stops.
func firstFatal(ps []Problem) *Problem {
	for i := range ps {
		if ps[i].Kind.Fatal() {
			return &ps[i]
		}
	}
	return nil
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

// loadLikePostmulti loads root as the postmulti shim does: checking the
// shared directories, reading relative config directories against root,
// postmulti's working directory in the postmulti shim's
// TestListDifferential.
func loadLikePostmulti(root string) (*Set, error) {
	fsys := instancetest.TreeFS(root)
	return LoadWith(fsys, defaultDir, Options{CheckSharedDirs: true, WorkDir: root})
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
	if !errors.As(err, &p) || p.Kind != Unreadable || p.Default || p.ConfigDir != r("@R/etc/nosuch") || p.Param != "" {
		t.Errorf("Read of a missing directory: %v", err)
	}
	var pe *fs.PathError
	if !errors.As(p.Cause, &pe) || pe.Op != "open" || pe.Path != r("@R/etc/nosuch/main.cf") || !errors.Is(pe.Err, fs.ErrNotExist) || len(p.Warnings) != 0 {
		t.Errorf("Read of a missing directory: cause %#v, warnings %q; want the main.cf not found", p.Cause, p.Warnings)
	}
}

// TestLoadWithMainCF: the default main.cf given as bytes (read under an
// edit lock) is what is read; a broken one is refused as postmulti does.
func TestLoadWithMainCF(t *testing.T) {
	root := buildTree(t, cases[1])
	fsys := instancetest.TreeFS(root)
	set, err := LoadWith(fsys, defaultDir, Options{MainCF: []byte("multi_instance_group = g\n")})
	if err != nil || len(set.Directories) != 0 || set.Default().Group != "g" || len(set.Instances) != 1 {
		t.Fatalf("LoadWith(MainCF) = %+v, %v", set, err)
	}
	_, err = LoadWith(fsys, defaultDir, Options{MainCF: []byte("biff = yes\nbiff = no\nmulti_instance_enable = sure\n")})
	var p Problem
	if !errors.As(err, &p) || p.Kind != BadValue || !p.Default || p.Param != "multi_instance_enable" || p.Value != "sure" ||
		len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "overriding earlier entry: biff=yes") {
		t.Errorf("LoadWith(bad boolean) error %+v", p)
	}
}

// TestWorkDir: with Options.WorkDir a relative config directory is read
// as postmulti reads it, listed, and still a problem of ours.
func TestWorkDir(t *testing.T) {
	var tc treeCase
	for _, c := range cases {
		if strings.HasPrefix(c.Name, "relative config directory") {
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
	if n := len(set.Instances); n != 3 || set.Instances[1].ConfigDir != "etc/postfix-a" || set.Instances[1].Name != "postfix-a" {
		t.Errorf("Instances = %+v, want the relative config directory read", set.Instances)
	}
	if n := len(set.Runnable()); n != 2 {
		t.Errorf("%d good instances, want 2", n)
	}
}

// TestDefaultExpandError: a $name loop in the default main.cf is blamed
// on the parameter that holds it (not on the first one asked for), the
// file named once; mac_expand's warning is kept apart (Problem.Warnings),
// as postmulti 3.7.11 says it before dict_eval's fatal error (which the
// shim words: its TestUpstreamText).
func TestDefaultExpandError(t *testing.T) {
	fsys := fstest.MapFS{"etc/postfix/main.cf": {Data: []byte(
		"multi_instance_directories = $foo\nfoo = $multi_instance_directories\n")}}
	_, err := Load(fsys, defaultDir)
	want := `default instance: /etc/postfix/main.cf: multi_instance_directories: macro processing error: unreasonable macro call nesting: "multi_instance_directories"`
	if err == nil || err.Error() != want {
		t.Errorf("Load error:\n%v\nwant\n%s", err, want)
	}
	_, err = LoadWith(fsys, defaultDir, Options{})
	var p Problem
	if !errors.As(err, &p) || p.Line != 1 || !p.Default || p.Param != "multi_instance_directories" || p.Kind != Unreadable ||
		!slices.Equal(p.Warnings, []string{`unreasonable macro call nesting: "multi_instance_directories"`}) {
		t.Errorf("LoadWith problem %+v", p)
	}
}
