package postmulti

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/instance/instancetest"
)

// TestListDifferential runs the real postmulti -l -a on every case's tree (its
// default main.cf bind-mounted over /etc/postfix in a private mount
// namespace, the tree's root as working directory) and requires of
// LoadWith, as the postmulti shim uses it: the same fatal message where
// postmulti stops (at start-up, or at an instance); otherwise exactly
// the lines of postmultiView; and in both cases the same warnings,
// postmulti's own and those of the postconf runs that read the
// instances (Postconf), compared as sets of lines because postconf says
// some of them in hash-table order.
func TestListDifferential(t *testing.T) {
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
	results := make([]result, len(instancetest.Cases))
	var wg sync.WaitGroup
	for i, tc := range instancetest.Cases {
		root := instancetest.BuildTree(t, tc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, code := realPostmultiList(root)
			results[i] = result{root, out, code}
		}()
	}
	wg.Wait()
	for i, tc := range instancetest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			root, out, code := results[i].root, results[i].out, results[i].code
			if code < 0 {
				t.Fatalf("running postmulti: %s", out)
			}
			realRest, realPostconf := splitPostconf(out)
			set, err := loadLikePostmulti(root)
			var fatal string
			var ours []string // warnings and output, postconf's apart
			var oursPostconf []string
			var p instance.Problem
			switch {
			case err != nil:
				if !errors.As(err, &p) || upstreamText(p) == "" {
					t.Fatalf("LoadWith error %v is not a Problem with postmulti's message", err)
				}
				ours, fatal = prefixed("postmulti: warning: ", p.Warnings), upstreamText(p)
			default:
				ours = prefixed("postmulti: warning: ", set.Default().Warnings)
				if p, ok := sharedRefused(set); ok {
					fatal = upstreamText(p)
					break
				}
				oursPostconf = postconfLines(set)
				if p, ok := refused(set); ok {
					fatal = upstreamText(p)
					break
				}
				view, err := postmultiView(set)
				if err != nil {
					t.Fatalf("postmultiView: %v", err)
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
func postconfLines(set *instance.Set) []string {
	stop := len(set.Directories)
	if p, ok := refused(set); ok {
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
					ws, fatal = p.Warnings, postconfFatal(&p)
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

// realPostmultiList runs postmulti -l -a with root/etc/postfix over
// /etc/postfix, in root as working directory, under script(1) so that it
// writes its errors to its terminal; it returns the output with CRLF
// turned into LF, and the exit code.
func realPostmultiList(root string) (string, int) {
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

// loadLikePostmulti loads root as the postmulti shim does: checking the
// shared directories, reading relative config directories against root,
// postmulti's working directory in realPostmultiList.
func loadLikePostmulti(root string) (*instance.Set, error) {
	return instance.LoadWith(instancetest.TreeFS(root), instancetest.DefaultDir, instance.Options{CheckSharedDirs: true, WorkDir: root})
}
