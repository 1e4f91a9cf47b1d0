package postmulti

import (
	"errors"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/instance/instancetest"
)

// TestRefusedCases: on every host configuration of package instancetest,
// where upstream stops (at start-up checking the shared directories, or
// at an instance), in its words, and otherwise the list it keeps
// (TestListDifferential compares the same with the real postmulti).
func TestRefusedCases(t *testing.T) {
	for _, tc := range instancetest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			root := instancetest.BuildTree(t, tc)
			r := func(s string) string { return strings.ReplaceAll(s, "@R", root) }
			if pm, err := loadLikePostmulti(root); err == nil {
				p, ok := sharedRefused(pm)
				if ok != (tc.Shared != "") || p.Postmulti != r(tc.Shared) {
					t.Errorf("sharedRefused = %q, %v; want %q", p.Postmulti, ok, r(tc.Shared))
				}
			} else if tc.Shared != "" {
				t.Errorf("LoadWith: %v; want the shared directories refused", err)
			}
			set, err := instance.Load(instancetest.TreeFS(root), instancetest.DefaultDir)
			if tc.LoadErr {
				if err == nil {
					t.Fatal("Load succeeded, want an error for the broken default instance")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, stops := refused(set)
			if stops != (tc.Refused != "") || stops && p.Postmulti != r(tc.Refused) {
				t.Errorf("refused = %q, %v; want %q", p.Postmulti, stops, r(tc.Refused))
			}
			// Upstream's view: every listed instance, or the reason why not.
			view, err := postmultiView(set)
			var vp instance.Problem
			switch {
			case stops:
				if !errors.As(err, &vp) || vp.Postmulti != p.Postmulti {
					t.Errorf("postmultiView error %v, want the refusal", err)
				}
			case err != nil:
				if !errors.As(err, &vp) || vp.Kind != instance.RelativePath {
					t.Errorf("postmultiView error %v", err)
				}
			case len(view) != len(set.Directories)+1:
				t.Errorf("postmultiView lists %d instances, want %d", len(view), len(set.Directories)+1)
			}
		})
	}
}

// TestViewWorkDir: a relative config directory read against the working
// directory (instance.Options.WorkDir) is listed, as upstream lists it.
func TestViewWorkDir(t *testing.T) {
	var tc instancetest.Case
	for _, c := range instancetest.Cases {
		if strings.HasPrefix(c.Name, "relative config directory") {
			tc = c
		}
	}
	if tc.Name == "" {
		t.Fatal("no relative config directory case in instancetest.Cases")
	}
	set, err := loadLikePostmulti(instancetest.BuildTree(t, tc))
	if err != nil {
		t.Fatal(err)
	}
	view, err := postmultiView(set)
	if err != nil || len(view) != 3 || view[1].ConfigDir != "etc/postfix-a" || view[1].Name != "postfix-a" {
		t.Errorf("postmultiView = %+v, %v", view, err)
	}
	// Without WorkDir the model does not read it; upstream would.
	set, err = instance.Load(instancetest.TreeFS(instancetest.BuildTree(t, tc)), instancetest.DefaultDir)
	if err != nil {
		t.Fatal(err)
	}
	var p instance.Problem
	if _, err := postmultiView(set); !errors.As(err, &p) || p.Kind != instance.RelativePath || p.Position != 1 {
		t.Errorf("postmultiView without WorkDir: error %v, want the unread relative config directory", err)
	}
}
