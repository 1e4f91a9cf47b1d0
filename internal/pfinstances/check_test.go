package pfinstances

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckVerb runs "postfix-instances --root TREE check [--json]" on the
// fixtures of internal/check that need no setup step, and compares its
// output and exit status with the pinned expectations there: the verb
// adds nothing to, and loses nothing of, what internal/check reports.
func TestCheckVerb(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
	}{
		{"clean-listeners", ExitOK},
		{"clean-relays", ExitOK},
		{"listen-conflict", 2},
		{"loopback-nexthop", 1},
		{"myhostname-loop", 2},
		{"shared-queue-directory", 2},
		{"unit-name", 2},
	} {
		dir := filepath.Join("..", "check", "testdata", tc.name)
		root, err := filepath.Abs(filepath.Join(dir, "root"))
		if err != nil {
			t.Fatal(err)
		}
		for _, json := range []bool{false, true} {
			args, want := []string{"--root", root, "check"}, filepath.Join(dir, "expected.txt")
			if json {
				args, want = append(args, "--json"), filepath.Join(dir, "expected.json")
			}
			expected, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), &Env{Stdout: &stdout, Stderr: &stderr, Root: "/"}, args)
			if code != tc.code || stderr.Len() != 0 {
				t.Errorf("%s %v: exit %d, stderr %q; want exit %d and no stderr", tc.name, args[2:], code, stderr.String(), tc.code)
			}
			if !bytes.Equal(stdout.Bytes(), expected) {
				t.Errorf("%s %v: output differs from %s:\n%s", tc.name, args[2:], want, stdout.String())
			}
		}
	}
}
