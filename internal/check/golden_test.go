package check_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/generator"
	"github.com/postfix-systemd/postfix-instances/internal/check"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
)

// The service manager the command connects to is a systemd view.
var _ check.Units = systemd.Manager(nil)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.{txt,json} from check's output")

// epoch is the modification time of every file of a test tree unless its
// setup says otherwise; the generator's output is an hour younger.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// A case is testdata/<case>/: root/ (a host's file system, optional),
// setup (optional, one directive a line, below), expected.txt and
// expected.json (check's output; -update rewrites them).
//
//	base DIR               copy DIR (relative to the case) into the tree first
//	generator              run the generator into /run/systemd/generator
//	booted                 create /run/systemd/system (systemd runs)
//	remove PATH            remove PATH (after the generator ran)
//	mtime PATH DURATION    set PATH's time to the epoch plus DURATION
//	unit NAME STATE [need-reload] [drop-in]
//	                       systemd (over D-Bus) knows unit NAME in
//	                       LoadState STATE, with the generator's drop-in
//	                       loaded when "drop-in" is given; giving any unit
//	                       line gives check a systemd view
type testCase struct {
	dir     string
	tree    string
	systemd *fakeUnits
}

type fakeUnits struct{ units map[string]systemd.UnitStatus }

func (f *fakeUnits) UnitStatus(_ context.Context, unit string) (systemd.UnitStatus, error) {
	if s, ok := f.units[unit]; ok {
		return s, nil
	}
	// A template instance that nothing configured: loaded, no drop-in.
	return systemd.UnitStatus{Name: unit, LoadState: "loaded"}, nil
}

func cases(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no test cases under testdata")
	}
	return names
}

// prepare builds the case's tree in a temporary directory.
func prepare(t *testing.T, name string) testCase {
	t.Helper()
	tc := testCase{dir: filepath.Join("testdata", name), tree: t.TempDir()}
	var setup [][]string
	if data, err := os.ReadFile(filepath.Join(tc.dir, "setup")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
				setup = append(setup, f)
			}
		}
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, d := range setup {
		if d[0] == "base" {
			copyTree(t, filepath.Join(tc.dir, d[1]), tc.tree)
		}
	}
	if _, err := os.Stat(filepath.Join(tc.dir, "root")); err == nil {
		copyTree(t, filepath.Join(tc.dir, "root"), tc.tree)
	}
	setTimes(t, tc.tree, epoch)
	for _, d := range setup {
		switch d[0] {
		case "base":
		case "generator":
			set, err := instance.Load(os.DirFS(tc.tree), "/etc/postfix")
			if err != nil {
				t.Fatal(err)
			}
			tree := generator.Plan(set, generator.Options{})
			out := filepath.Join(tc.tree, "run/systemd/generator")
			if errs := generator.Apply(tree, out); len(errs) > 0 {
				t.Fatal(errs)
			}
			setTimes(t, out, epoch.Add(time.Hour))
		case "booted":
			if err := os.MkdirAll(filepath.Join(tc.tree, "run/systemd/system"), 0o755); err != nil {
				t.Fatal(err)
			}
		case "remove":
			if err := os.Remove(filepath.Join(tc.tree, d[1])); err != nil {
				t.Fatal(err)
			}
		case "mtime":
			dur, err := time.ParseDuration(d[2])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Join(tc.tree, d[1]), epoch.Add(dur), epoch.Add(dur)); err != nil {
				t.Fatal(err)
			}
		case "unit":
			if tc.systemd == nil {
				tc.systemd = &fakeUnits{units: map[string]systemd.UnitStatus{}}
			}
			st := systemd.UnitStatus{Name: d[1], LoadState: d[2]}
			for _, opt := range d[3:] {
				switch opt {
				case "need-reload":
					st.NeedDaemonReload = true
				case "drop-in":
					st.DropInPaths = []string{"/run/systemd/generator/" + d[1] + ".d/50-instance.conf"}
				default:
					t.Fatalf("setup: unit: unknown option %q", opt)
				}
			}
			tc.systemd.units[d[1]] = st
		default:
			t.Fatalf("setup: unknown directive %q", d[0])
		}
	}
	return tc
}

// copyTree copies regular files, directories and symbolic links.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.Remove(dst)
			return os.Symlink(target, dst)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, data, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func setTimes(t *testing.T, dir string, when time.Time) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// run checks the case's tree as the command does.
func run(t *testing.T, tc testCase) (check.Report, string, string) {
	t.Helper()
	fsys := os.DirFS(tc.tree)
	set, err := instance.Load(fsys, "/etc/postfix")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	in := check.Input{Set: set, FS: fsys}
	if tc.systemd != nil {
		in.Systemd = tc.systemd
	}
	r := check.Run(context.Background(), in)
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	return r, text.String(), js.String()
}

// TestGolden runs check on every testdata/<case> and compares its text
// and JSON output with expected.txt and expected.json.
func TestGolden(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			tc := prepare(t, name)
			_, text, js := run(t, tc)
			for _, out := range []struct{ file, got string }{{"expected.txt", text}, {"expected.json", js}} {
				p := filepath.Join(tc.dir, out.file)
				if *update {
					if err := os.WriteFile(p, []byte(out.got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if string(want) != out.got {
					t.Errorf("%s differs:\n--- want\n%s--- got\n%s", out.file, want, out.got)
				}
			}
		})
	}
}

// TestCaseNames pins what each case is for: a "clean-" case reports
// nothing (exit 0); any other case is named after the one check it
// seeds (CHECK or CHECK.VARIANT), reports it, and reports no other check
// (the walk-through with every mistake excepted).
func TestCaseNames(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			r, _, _ := run(t, prepare(t, name))
			var checks []string
			for _, f := range r.Findings {
				if !slices.Contains(checks, f.Check) {
					checks = append(checks, f.Check)
				}
			}
			switch {
			case strings.HasPrefix(name, "clean-"):
				if len(checks) > 0 || r.ExitCode() != 0 {
					t.Errorf("clean case: exit %d, findings %v", r.ExitCode(), checks)
				}
			case name == "walkthrough-mistakes":
				if r.ExitCode() != 2 {
					t.Errorf("exit %d, want 2", r.ExitCode())
				}
			default:
				want, _, _ := strings.Cut(name, ".")
				if len(checks) != 1 || checks[0] != want {
					t.Errorf("case %s reports checks %v, want just %s", name, checks, want)
				}
			}
		})
	}
}

// TestExitCode pins the exit status and the JSON counts.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		sev  []check.Severity
		want int
	}{{nil, 0}, {[]check.Severity{check.Warning}, 1}, {[]check.Severity{check.Warning, check.Error}, 2}} {
		var r check.Report
		for _, s := range tc.sev {
			r.Findings = append(r.Findings, check.Finding{Severity: s})
		}
		if got := r.ExitCode(); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.sev, got, tc.want)
		}
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		e, w := r.Counts()
		if want := fmt.Sprintf(`"errors": %d,`, e); !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b.String())
		}
		if want := fmt.Sprintf(`"warnings": %d,`, w); !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b.String())
		}
		if !strings.Contains(b.String(), `"schema_version": 1,`) {
			t.Errorf("JSON lacks schema_version:\n%s", b.String())
		}
	}
}
