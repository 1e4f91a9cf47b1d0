package environ

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	env := []string{"A=1", "AB=2", "B=", "A=3", "NOEQUALS"}
	for _, tc := range []struct {
		name, v string
		ok      bool
	}{
		{"A", "1", true}, {"AB", "2", true}, {"B", "", true}, {"C", "", false}, {"NOEQUALS", "", false},
	} {
		if v, ok := Get(env, tc.name); v != tc.v || ok != tc.ok {
			t.Errorf("Get(%s) = %q, %v; want %q, %v", tc.name, v, ok, tc.v, tc.ok)
		}
	}
}

func TestSet(t *testing.T) {
	in := []string{"A=1", "B=2", "A=3"}
	for _, tc := range []struct {
		name, v string
		want    []string
	}{
		{"A", "4", []string{"A=4", "B=2"}},
		{"B", "", []string{"A=1", "B=", "A=3"}},
		{"C", "x", []string{"A=1", "B=2", "A=3", "C=x"}},
	} {
		if got := Set(in, tc.name, tc.v); !slices.Equal(got, tc.want) {
			t.Errorf("Set(%s=%s) = %q, want %q", tc.name, tc.v, got, tc.want)
		}
	}
	if !slices.Equal(in, []string{"A=1", "B=2", "A=3"}) {
		t.Errorf("Set modified its input: %q", in)
	}
}

// TestUniqueIsWhatTheChildSees: a child run by os/exec with Unique's
// list sees, for each name, the value Get finds (glibc's getenv in the
// parent); with the raw list, os/exec would pass the last duplicate.
func TestUniqueIsWhatTheChildSees(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"A=first", "PATH=" + os.Getenv("PATH"), "A=second"}
	if got := Unique(env); !slices.Equal(got, []string{"A=first", "PATH=" + os.Getenv("PATH")}) {
		t.Errorf("Unique = %q", got)
	}
	out, err := (&exec.Cmd{Path: sh, Args: []string{"sh", "-c", "echo $A"}, Env: Unique(env)}).Output()
	if want, _ := Get(env, "A"); err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("the child sees A=%q (%v), getenv says %q", out, err, want)
	}
}
