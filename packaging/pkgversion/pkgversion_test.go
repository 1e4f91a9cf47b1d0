package pkgversion

import (
	"os/exec"
	"strings"
	"testing"
)

func TestFromDescribe(t *testing.T) {
	for _, tc := range []struct {
		describe string
		commits  int
		want     string
	}{
		{"", 0, "0.0.0~git0"},
		{"1a2b3c4d5e6f", 42, "0.0.0~git42.1a2b3c4d5e6f"},
		{"1a2b3c4d5e6f-dirty", 42, "0.0.0~git42.1a2b3c4d5e6f.dirty"},
		{"v1.2.3", 7, "1.2.3"},
		{"1.2.3", 7, "1.2.3"},
		{"v1.2.3-dirty", 7, "1.2.3+dirty"},
		{"v1.2.3-rc1", 7, "1.2.3~rc1"},
		{"v1.2.3-5-g1a2b3c4d5e6f", 12, "1.2.3+git5.1a2b3c4d5e6f"},
		{"v1.2.3-5-g1a2b3c4d5e6f-dirty", 12, "1.2.3+git5.1a2b3c4d5e6f.dirty"},
		{"v1.2.3-rc1-5-g1a2b3c4d5e6f", 12, "1.2.3~rc1+git5.1a2b3c4d5e6f"},
		{"v2\n", 1, "2"},
	} {
		got, err := FromDescribe(tc.describe, tc.commits)
		if err != nil || got != tc.want {
			t.Errorf("FromDescribe(%q, %d) = %q, %v; want %q", tc.describe, tc.commits, got, err, tc.want)
		}
	}
}

func TestFromDescribeRefuses(t *testing.T) {
	for _, d := range []string{"release-one", "vX", "v1.2.3-rc_1", "1a2b3c4", "v1.2.3-5-gzzzz"} {
		if v, err := FromDescribe(d, 0); err == nil {
			t.Errorf("FromDescribe(%q) = %q, want an error", d, v)
		}
	}
}

// TestOrdering checks the mapping against the real version comparators:
// every version must sort strictly after the one before it, for dpkg and
// for rpm.
func TestOrdering(t *testing.T) {
	order := []string{
		"0.0.0~git0",
		"0.0.0~git3.1a2b3c4d5e6f",
		"0.0.0~git41.1a2b3c4d5e6f",
		"1.0.0~rc1",
		"1.0.0~rc1+git2.1a2b3c4d5e6f",
		"1.0.0~rc2",
		"1.0.0",
		"1.0.0+git1.1a2b3c4d5e6f",
		"1.0.0+git10.0a2b3c4d5e6f",
		"1.0.1",
	}
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Fatalf("dpkg is needed to check version ordering: %v", err)
	}
	rpm, err := exec.LookPath("rpm")
	if err != nil {
		t.Fatalf("rpm is needed to check version ordering (apt-get install rpm): %v", err)
	}
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if err := exec.Command(dpkg, "--compare-versions", a, "lt", b).Run(); err != nil {
			t.Errorf("dpkg: %s is not lower than %s", a, b)
		}
		out, err := exec.Command(rpm, "--eval", "%{lua: print(rpm.vercmp('"+a+"', '"+b+"'))}").Output()
		if err != nil {
			t.Fatalf("rpm --eval vercmp: %v", err)
		}
		if strings.TrimSpace(string(out)) != "-1" {
			t.Errorf("rpm: vercmp(%s, %s) = %s, want -1", a, b, out)
		}
	}
}
