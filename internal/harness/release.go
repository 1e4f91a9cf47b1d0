package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Release is a Debian release the harness can build a root tree of and
// boot: its debootstrap suite name.
type Release string

// The releases the harness knows. Bookworm is the default.
const (
	Bookworm Release = "bookworm" // Debian 12: Postfix 3.7, systemd 252
	Trixie   Release = "trixie"   // Debian 13: Postfix 3.10, systemd 257
	Sid      Release = "sid"      // unstable: Postfix 3.11, systemd 258
)

// ReleaseEnv selects the release of every container whose Options name
// none, for whole-suite runs (PFI_TEST_RELEASE=trixie go test ./...).
const ReleaseEnv = "PFI_TEST_RELEASE"

// releaseInfo is what differs between releases: the tree directory's
// prefix under the cache (debian12 is the name the Debian 12 tree always
// had, so that its cached tree stays valid) and the aliases it is known by.
var releaseInfo = map[Release]struct {
	prefix  string
	aliases []string
}{
	Bookworm: {"debian12", []string{"12", "debian12", "bookworm"}},
	Trixie:   {"debian13", []string{"13", "debian13", "trixie"}},
	Sid:      {"sid", []string{"sid", "unstable"}},
}

// Releases lists the known releases, oldest first.
func Releases() []Release { return []Release{Bookworm, Trixie, Sid} }

// ParseRelease accepts a suite name (bookworm, trixie, sid), a version
// (12, 13), debianNN, or unstable.
func ParseRelease(s string) (Release, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for r, info := range releaseInfo {
		for _, a := range info.aliases {
			if s == a {
				return r, nil
			}
		}
	}
	var known []string
	for r := range releaseInfo {
		known = append(known, string(r))
	}
	sort.Strings(known)
	return "", fmt.Errorf("unknown Debian release %q (known: %s, or 12, 13, unstable)", s, strings.Join(known, ", "))
}

// DefaultRelease is $PFI_TEST_RELEASE when set, otherwise Bookworm. An
// unknown value is an error, never silently the default.
func DefaultRelease() (Release, error) {
	v := os.Getenv(ReleaseEnv)
	if v == "" {
		return Bookworm, nil
	}
	r, err := ParseRelease(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ReleaseEnv, err)
	}
	return r, nil
}

// resolve turns an Options.Release ("" = DefaultRelease) into a release.
func (r Release) resolve() (Release, error) {
	if r == "" {
		return DefaultRelease()
	}
	if _, ok := releaseInfo[r]; !ok {
		return ParseRelease(string(r))
	}
	return r, nil
}

// dirPrefix names the release's trees under the cache directory.
func (r Release) dirPrefix() string { return releaseInfo[r].prefix }

// String is the suite name.
func (r Release) String() string { return string(r) }

// SuiteReleases are the releases that per-release tests (the differential
// suites, the boot test) cover in a plain "go test": Debian 12 and 13. With
// $PFI_TEST_RELEASE set, only that release ("make test-sid" sets sid).
func SuiteReleases() ([]Release, error) {
	if os.Getenv(ReleaseEnv) != "" {
		r, err := DefaultRelease()
		if err != nil {
			return nil, err
		}
		return []Release{r}, nil
	}
	return []Release{Bookworm, Trixie}, nil
}

// TreeRelease reads which release a tree built by the harness is, from the
// stamp it wrote into the tree.
func TreeRelease(tree string) (Release, error) {
	data, err := os.ReadFile(filepath.Join(tree, stampPath))
	if err != nil {
		return "", fmt.Errorf("tree %s: %w", tree, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "suite="); ok {
			return ParseRelease(v)
		}
	}
	return "", fmt.Errorf("tree %s: no suite= in /%s", tree, stampPath)
}
