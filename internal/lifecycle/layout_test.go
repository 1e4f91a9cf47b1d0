package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// layoutInstances are a default instance and three secondaries resolved
// on layout: "a" in /etc/postfix-a (Debian's postfix@a on Debian13),
// "b" disabled, "c" outside /etc/postfix-* (our postfix-dir@ on
// Debian13). Queue directories are empty temporary ones: no master runs.
func layoutInstances(t *testing.T, layout unit.Layout) []instance.Instance {
	insts := []instance.Instance{
		{Default: true, Enabled: true, ConfigDir: "/etc/postfix", CommandDir: "/usr/sbin", Position: 0},
		{Name: "postfix-a", Enabled: true, ConfigDir: "/etc/postfix-a", Position: 1},
		{Name: "postfix-b", Enabled: false, ConfigDir: "/etc/postfix-b", Position: 2},
		{Name: "postfix-c", Enabled: true, ConfigDir: "/srv/mta/c", Position: 3},
	}
	for i := range insts {
		insts[i].QueueDir = t.TempDir()
		insts[i].DataDir = fmt.Sprintf("/var/lib/postfix-%d", i)
	}
	instance.Resolve(insts, nil, layout)
	for _, in := range insts {
		if in.Skip != nil {
			t.Fatalf("%s cannot run: %v", in.ConfigDir, in.Skip)
		}
	}
	return insts
}

// TestLayoutJobs: through systemd, -p start and -p stop act on each
// layout's units in each layout's order. On Debian13 (Debian 13's
// postfix.service is the default instance, every other instance's unit is
// PartOf= and Before= it) a stop of the default instance without every
// other instance is refused before systemd is asked anything, a stop of
// all is not, and a start starts the default instance last; on Classic
// the default instance comes first and may be stopped alone.
func TestLayoutJobs(t *testing.T) {
	const (
		d13Default = "postfix.service"
		d13A       = "postfix@a.service"
		d13C       = "postfix-dir@srv-mta-c.service"
		clDefault  = "postfix@-.service"
		clA        = "postfix@postfix-a.service"
		clC        = "postfix@postfix-c.service"
	)
	all := []int{0, 1, 2, 3}
	for _, tc := range []struct {
		name    string
		layout  unit.Layout
		action  string
		sel     []int // positions selected
		whole   bool  // postmulti's Options.Whole: the selection is every instance
		want    []string
		wantErr error
	}{
		{name: "default alone", layout: unit.Debian13, action: "stop", sel: []int{0}, wantErr: ErrStopStopsAll},
		{name: "default and one secondary", layout: unit.Debian13, action: "stop", sel: []int{0, 3}, wantErr: ErrStopStopsAll},
		{name: "all", layout: unit.Debian13, action: "stop", sel: all, whole: true,
			want: []string{"stop " + d13C, "stop " + d13A, "stop " + d13Default}},
		{name: "secondaries", layout: unit.Debian13, action: "stop", sel: []int{1, 2, 3},
			want: []string{"stop " + d13C, "stop " + d13A}},
		{name: "all", layout: unit.Debian13, action: "start", sel: all, whole: true,
			want: []string{"start " + d13A, "run check @/etc/postfix-b", "start " + d13C, "start " + d13Default}},
		{name: "default and one secondary", layout: unit.Debian13, action: "start", sel: []int{0, 1},
			want: []string{"start " + d13A, "start " + d13Default}},
		{name: "all", layout: unit.Debian13, action: "reload", sel: all, whole: true,
			want: []string{"reload " + d13Default, "reload " + d13A, "reload " + d13C}},

		{name: "default alone", layout: unit.Classic, action: "stop", sel: []int{0},
			want: []string{"stop " + clDefault}},
		{name: "all", layout: unit.Classic, action: "stop", sel: all, whole: true,
			want: []string{"stop " + clC, "stop " + clA, "stop " + clDefault}},
		{name: "all", layout: unit.Classic, action: "start", sel: all, whole: true,
			want: []string{"start " + clDefault, "start " + clA, "run check @/etc/postfix-b", "start " + clC}},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.layout, tc.action, tc.name), func(t *testing.T) {
			insts := layoutInstances(t, tc.layout)
			var sel []instance.Instance
			for _, i := range tc.sel {
				sel = append(sel, insts[i])
			}
			fx := newFixture(t, true)
			fx.opts.Layout, fx.opts.Whole = tc.layout, tc.whole
			if tc.action != "start" {
				fx.activate(insts)
			}
			code, err := Run(context.Background(), tc.action, nil, sel, fx.opts)
			if tc.wantErr != nil {
				if code != 1 || !errors.Is(err, tc.wantErr) {
					t.Fatalf("Run = %d, %v; want 1, %v", code, err, tc.wantErr)
				}
				if calls := fx.fake.Recorded(); len(calls) != 0 {
					t.Errorf("systemd was asked %v; want nothing", calls)
				}
				if len(fx.runner.cmds) != 0 {
					t.Errorf("postfix was run: %q", fx.log.events)
				}
				return
			}
			if code != 0 || err != nil {
				t.Fatalf("Run = %d, %v; want 0, nil; stderr:\n%s", code, err, fx.stderr)
			}
			if !slices.Equal(fx.log.events, tc.want) {
				t.Errorf("events:\n got %q\nwant %q", fx.log.events, tc.want)
			}
			if fx.stderr.Len() != 0 {
				t.Errorf("unexpected messages:\n%s", fx.stderr)
			}
		})
	}
}
