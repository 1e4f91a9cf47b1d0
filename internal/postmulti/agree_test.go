package postmulti

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/generator"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd/systemdfake"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// TestGeneratorPostfixEditAgree is the promise of instance.Resolve: over
// every golden tree of the generator, the generator (the units it plans),
// postmulti -p (the units the life cycle starts and looks at, against a
// fake systemd) and postmulti -e (what it accepts) agree on every
// instance: the same runnable instances with the same unit names, and the
// same reason for each skipped one.
//
// Where upstream postmulti itself stops at the instance list (an
// unreadable main.cf, a name or directory claimed twice: the "broken"
// tree), the shim stops with upstream's fatal error for -p and -e alike,
// while the generator still writes every instance that can run: that
// difference is upstream's, and checked here as such.
func TestGeneratorPostfixEditAgree(t *testing.T) {
	roots, err := filepath.Glob("../../generator/testdata/*/root")
	if err != nil || len(roots) == 0 {
		t.Fatalf("no generator golden trees: %v", err)
	}
	for _, src := range roots {
		name := filepath.Base(filepath.Dir(src))
		t.Run(name, func(t *testing.T) {
			root, err := os.MkdirTemp("", "agree")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(root) })
			if out, err := exec.Command("cp", "-a", src+"/.", root).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v: %s", err, out)
			}
			// The shared directories postmulti checks at start-up.
			for _, d := range []string{"usr/sbin", "usr/lib/postfix/sbin"} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			agree(t, root)
		})
	}
}

func agree(t *testing.T, root string) {
	// The generator.
	set, err := instance.Load(instance.DirFS(root), "/etc/postfix")
	if err != nil {
		t.Fatal(err)
	}
	var genUnits, genWanted []string
	for _, e := range generator.Plan(set, generator.Options{}).Entries {
		if u, ok := strings.CutSuffix(e.Path, ".d/"+unit.DropInFile); ok {
			genUnits = append(genUnits, u)
		}
		if u, ok := strings.CutPrefix(e.Path, unit.Umbrella+".wants/"); ok && strings.HasSuffix(u, ".service") {
			genWanted = append(genWanted, u)
		}
	}
	skipped := map[string]string{} // config directory -> reason
	for _, p := range set.Problems {
		if _, ok := skipped[p.ConfigDir]; !ok {
			skipped[p.ConfigDir] = p.Error()
		}
	}
	if len(genUnits) == 0 {
		t.Fatal("the generator plans no unit")
	}

	// postmulti -p status visits every instance: the life cycle asks
	// systemd about each runnable one's unit, and names why it skips
	// the others.
	l := &sdLifecycle{fake: systemdfake.NewFake()}
	_, stderr, code := runTestNoHelper(root, l, "-p", "status")
	pmSet, err := instance.LoadWith(instance.DirFS(root), "/etc/postfix", instance.Options{CheckSharedDirs: true, WorkDir: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if p, stops := refused(pmSet); stops {
		want := "postmulti: fatal: " + upstreamText(p) + "\n"
		if code != 1 || !strings.HasSuffix(stderr, want) || len(l.fake.Recorded()) != 0 {
			t.Errorf("-p status: exit %d, stderr %q, systemd calls %v; want upstream's refusal %q", code, stderr, l.fake.Recorded(), want)
		}
		if _, stderr, code := runTestNoHelper(root, &fakeLifecycle{}, "-i", "-", "-e", "enable"); code != 1 || !strings.HasSuffix(stderr, want) {
			t.Errorf("-e enable: exit %d, stderr %q; want upstream's refusal %q", code, stderr, want)
		}
		if _, ok := skipped[p.ConfigDir]; !ok {
			t.Errorf("the generator does not skip %s, at which postmulti stops", p.ConfigDir)
		}
		t.Logf("postmulti stops: %s; the generator plans %q", upstreamText(p), genUnits)
		return
	}
	if len(pmSet.Instances) != len(set.Instances) {
		t.Fatalf("postmulti lists %d instances, the generator's model has %d", len(pmSet.Instances), len(set.Instances))
	}
	pUnits := l.jobs(systemdfake.OpStatus)
	if !sameSet(pUnits, genUnits) {
		t.Errorf("-p status looks at units %q; the generator plans %q", pUnits, genUnits)
	}
	for _, in := range set.Instances {
		if in.Skip == nil {
			continue
		}
		want := "postmulti: warning: instance " + label(in) + " has no systemd unit: " + skipped[in.ConfigDir] + "\n"
		if !strings.Contains(stderr, want) {
			t.Errorf("-p status does not skip %s with the generator's reason:\n%s\nstderr:\n%s", in.ConfigDir, want, stderr)
		}
	}

	// postmulti -p start starts the enabled ones the generator wants.
	l = &sdLifecycle{fake: systemdfake.NewFake()}
	_, stderr, _ = runTestNoHelper(root, l, "-p", "start")
	if set.Layout == unit.Debian13 && set.Default().Enabled && set.Default().Skip == nil {
		// Debian's postfix.service is the default instance: not wanted
		// by itself, started by -p start (last, after its Before=).
		genWanted = append(genWanted, set.Layout.Default())
	}
	if started := l.jobs(systemdfake.OpStart); !sameSet(started, genWanted) {
		t.Errorf("-p start starts %q; the generator wants %q\nstderr:\n%s", started, genWanted, stderr)
	}

	// postmulti -e enable, on each instance: accepted exactly when the
	// generator writes its unit, refused with its reason otherwise.
	if _, stderr, code := runTestNoHelper(root, &fakeLifecycle{}, "-e", "init"); code != 0 {
		t.Fatalf("-e init: exit %d: %s", code, stderr)
	}
	var seen []string
	refused := 0
	defer func() {
		t.Logf("%d units, %d wanted, %d instances skipped, %d -e refusals", len(genUnits), len(genWanted), len(set.Instances)-len(set.Runnable()), refused)
	}()
	for _, in := range set.Instances {
		sel := in.ConfigDir
		if in.Default {
			sel = "-"
		}
		if slices.Contains(seen, sel) {
			continue // -i selects the first instance of that directory
		}
		seen = append(seen, sel)
		_, stderr, code := runTestNoHelper(root, &fakeLifecycle{}, "-i", sel, "-e", "enable")
		if code != 0 {
			refused++
		}
		switch {
		case in.Skip == nil && code != 0:
			t.Errorf("-i %s -e enable refused (%s), but the generator writes %s", sel, stderr, in.Spec.Unit)
		case in.Skip != nil && code == 0:
			t.Errorf("-i %s -e enable accepted, but the generator skips it: %v", sel, in.Skip)
		case in.Skip != nil && !strings.Contains(stderr, "postmulti: fatal: ") || in.Skip != nil && !strings.Contains(stderr, errors.Unwrap(in.Skip.Err).Error()):
			t.Errorf("-i %s -e enable: stderr %q does not give the generator's reason %q", sel, stderr, errors.Unwrap(in.Skip.Err))
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// label names an instance as the life cycle's messages do.
func label(in instance.Instance) string {
	switch {
	case in.Name != "":
		return in.Name
	case in.Default:
		return "-"
	}
	return in.ConfigDir
}
