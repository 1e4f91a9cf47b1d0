package postmulti

import (
	"os"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// TestReleases runs the differential suites (TestDifferential, and
// TestListDifferential of the instance list as read) inside a
// container of each release under test (Debian 12 and 13;
// $PFI_TEST_RELEASE alone when set), against that release's postmulti and
// postconf. A release with the host's own Postfix is left to the host run.
func TestReleases(t *testing.T) {
	if harness.InRelease() != "" {
		t.Skip("inside a release container already")
	}
	harness.Require(t)
	t.Cleanup(harness.CleanupBuilds)
	rels, err := harness.SuiteReleases()
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := maincf.InstalledVersion(os.DirFS("/"))
	for _, r := range rels {
		t.Run(string(r), func(t *testing.T) {
			tree, _, _ := maincf.InstalledVersion(os.DirFS(harness.TreeOf(t, r)))
			if os.Getenv(harness.ReleaseEnv) == "" && host != "" && tree == host {
				t.Skipf("%s has the host's own Postfix %s: the host run covers it", r, host)
			}
			// The suite compares postmulti outside systemd, as on the host.
			out := harness.RunTestsWith(t, harness.InReleaseOptions{Release: r, Run: "^(TestDifferential|TestListDifferential)$",
				Timeout: 20 * time.Minute, NoSystemd: true})
			t.Logf("%s: %s", r, harness.Summary(out))
		})
	}
}
