package postmulti

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

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
				if ok != (tc.Shared != "") || upstreamText(p) != r(tc.Shared) {
					t.Errorf("sharedRefused = %q, %v; want %q", upstreamText(p), ok, r(tc.Shared))
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
			if stops != (tc.Refused != "") || stops && upstreamText(p) != r(tc.Refused) {
				t.Errorf("refused = %q, %v; want %q", upstreamText(p), stops, r(tc.Refused))
			}
			// Upstream's view: every listed instance, or the reason why not.
			view, err := postmultiView(set)
			var vp instance.Problem
			switch {
			case stops:
				if !errors.As(err, &vp) || upstreamText(vp) != upstreamText(p) {
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

// TestReadRefusalsLikePostconf: where the real postconf refuses a
// main.cf that is not a regular file (a directory, a socket), what the
// shim says for its postconf run is postconf's own fatal message; where
// postconf would hang (a FIFO) or read a device, ours names the file type.
func TestReadRefusalsLikePostconf(t *testing.T) {
	defaultDir, list := instancetest.NonRegularTree(t)
	// A blocking open of the FIFO would hang the load for ever.
	done := make(chan *instance.Set, 1)
	go func() {
		set, err := instance.Load(instance.DirFS("/"), defaultDir)
		if err != nil {
			set = nil
		}
		done <- set
	}()
	var set *instance.Set
	select {
	case set = <-done:
		if set == nil {
			t.Fatal("Load failed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load blocked for 10s")
	}
	got := map[string]string{}
	for i := range set.Problems {
		got[set.Problems[i].ConfigDir] = postconfFatal(&set.Problems[i])
	}
	want := map[string]string{
		list[0]: "read " + list[0] + "/main.cf: Is a directory",
		list[1]: "open " + list[1] + "/main.cf: No such device or address",
		list[2]: "open " + list[2] + "/main.cf: not a regular file (a FIFO)",
	}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("%s: postconf message %q, want %q", d, got[d], w)
		}
	}
	if testing.Short() {
		return
	}
	// The oracle, for the two it does not hang on.
	if _, err := exec.LookPath("postconf"); err != nil {
		t.Fatalf("postconf (Debian's postfix) is needed to check the messages: %v", err)
	}
	for _, d := range list[:2] {
		out, _ := exec.Command("postconf", "-c", d, "-h", "queue_directory").CombinedOutput()
		if w := "postconf: fatal: " + want[d] + "\n"; string(out) != w {
			t.Errorf("real postconf on %s: %q, want %q", d, out, w)
		}
	}
}

// TestReadPostconfFatal: postmulti -e import's reading of a missing
// directory; its postconf run says why it stops.
func TestReadPostconfFatal(t *testing.T) {
	tc := instancetest.Cases[1]
	root := instancetest.BuildTree(t, tc)
	set, err := loadLikePostmulti(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = set.Read(root + "/etc/nosuch")
	var p instance.Problem
	if !errors.As(err, &p) {
		t.Fatalf("Read of a missing directory: %v", err)
	}
	if got, want := said(nil, &p), []message{{fatal: true, text: "open " + root + "/etc/nosuch/main.cf: No such file or directory"}}; !slices.Equal(got, want) {
		t.Errorf("postconf says %+v, want %+v", got, want)
	}
}

// TestUpstreamText: the problems of the default main.cf, which
// TestRefusedCases does not reach (the model gives no Set), and of
// -e import's reading, in upstream's words (postmulti 3.7.11; the
// differential suites check the same against the real one: configurations
// "syntax", "loop", "badbool" of TestDifferential).
func TestUpstreamText(t *testing.T) {
	for _, tc := range []struct{ name, mainCF, want string }{
		{"bad boolean", "biff = yes\nbiff = no\nmulti_instance_enable = sure\n", "bad boolean configuration: multi_instance_enable = sure"},
		{"macro loop", "multi_instance_directories = $foo\nfoo = $multi_instance_directories\n", "dictionary mail_dict: macro processing error"},
		{"syntax", "this is not a parameter\n", "/etc/postfix/main.cf, line 1: missing '=' after attribute name: \"this is not a parameter\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"etc/postfix/main.cf": {Data: []byte(tc.mainCF)}}
			_, err := instance.LoadWith(fsys, "/etc/postfix", instance.Options{})
			var p instance.Problem
			if !errors.As(err, &p) {
				t.Fatalf("LoadWith error %v, want a Problem", err)
			}
			if got := upstreamText(p); got != tc.want {
				t.Errorf("upstreamText = %q, want %q", got, tc.want)
			}
		})
	}
	_, err := instance.LoadWith(instance.DirFS(t.TempDir()), "/etc/postfix", instance.Options{})
	var p instance.Problem
	if !errors.As(err, &p) || upstreamText(p) != "open /etc/postfix/main.cf: No such file or directory" {
		t.Errorf("missing main.cf: upstreamText %q (%v)", upstreamText(p), err)
	}
	root := instancetest.BuildTree(t, instancetest.Cases[1])
	set, err := loadLikePostmulti(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = set.Read(root + "/etc/nosuch")
	if !errors.As(err, &p) || upstreamText(p) != "Failed to obtain all required "+root+"/etc/nosuch/main.cf parameters" {
		t.Errorf("Read of a missing directory: upstreamText %q (%v)", upstreamText(p), err)
	}
}
