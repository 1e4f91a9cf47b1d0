package pfinstances

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestListAgreesWithPostmulti runs the real postmulti -l -a (Debian's, on
// the host) on every golden tree of the generator and checks that
// "list --json" says the same: where postmulti lists the instances, the
// same instances in the same order with the same name, group, enable flag
// and config directory, every one read; where postmulti refuses the
// configuration, an instance skipped for one of the reasons postmulti
// refuses (unreadable, bad value, conflict).
//
// postmulti insists on /etc/postfix and reads the secondary directories at
// their absolute paths, so it runs in a private mount namespace in which
// each top-level directory of the tree is a read-only overlay of the
// tree's over the host's (/etc, /srv, /tmp, ...): the host is untouched.
func TestListAgreesWithPostmulti(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real postmulti as root in a mount namespace")
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root (mount namespaces); run as root or with -short")
	}
	for _, tool := range []string{"unshare", "mount", "postmulti"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (install util-linux, postfix; scripts/install-deps.sh does): %v", tool, err)
		}
	}
	trees, err := filepath.Glob("../../generator/testdata/*/root")
	if err != nil || len(trees) == 0 {
		t.Fatalf("no generator trees: %v", err)
	}
	for _, tree := range trees {
		name := filepath.Base(filepath.Dir(tree))
		t.Run(name, func(t *testing.T) {
			root, err := filepath.Abs(tree)
			if err != nil {
				t.Fatal(err)
			}
			real, code := realPostmulti(t, root)
			out, errOut, ourCode := run(t, root, nil, "list", "--json")
			if ourCode != 0 {
				t.Fatalf("list --json: exit %d: %s", ourCode, errOut)
			}
			var doc listJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if code != 0 {
				refused := false
				for _, in := range doc.Instances {
					if s := in.Skipped; s != nil && (s.Kind == "unreadable" || s.Kind == "bad_value" || s.Kind == "conflict") {
						refused = true
					}
				}
				if !refused {
					t.Errorf("postmulti -l -a refuses (exit %d), but list --json shows no instance skipped for a reason postmulti refuses:\n%s", code, out)
				}
				return
			}
			if real == "" {
				t.Fatal("postmulti -l -a printed nothing")
			}
			var ours []string
			for _, in := range doc.Instances {
				if !in.Read {
					t.Errorf("postmulti lists every instance, but list --json could not read %s", in.ConfigDir)
				}
				name := in.Name
				if name == "" {
					name = "-"
				}
				group := in.Group
				if group == "" {
					group = "-"
				}
				ours = append(ours, fmt.Sprintf("%-15s %-15s %-9s %s", name, group, yn(in.Enabled), in.ConfigDir))
			}
			if got, want := strings.Join(ours, "\n"), strings.TrimSuffix(real, "\n"); got != want {
				t.Errorf("list --json, as postmulti -l -a lines:\n%s\npostmulti -l -a:\n%s", got, want)
			}
		})
	}
}

// realPostmulti runs postmulti -l -a with the tree overlaid on the host
// and returns its standard output and exit status.
func realPostmulti(t *testing.T, root string) (string, int) {
	t.Helper()
	script := `set -e
for d in "$0"/*; do
	top=/$(basename "$d")
	[ -d "$top" ] || { echo "no $top on the host to overlay" >&2; exit 99; }
	mount -t overlay overlay -o ro,lowerdir="$d":"$top" "$top"
done
exec postmulti -l -a`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, root)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 99 || strings.Contains(stderr.String(), "mount") {
			t.Fatalf("running postmulti: %v\n%s", err, stderr.String())
		}
		code = ee.ExitCode()
	}
	return string(out), code
}
