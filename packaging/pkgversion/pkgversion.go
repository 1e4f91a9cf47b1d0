// Package pkgversion turns what git says about the work tree into a package
// version that dpkg and rpm both accept and order correctly.
//
// The input is the output of
//
//	git describe --tags --always --dirty --abbrev=12
//
// and the number of commits reachable from HEAD (git rev-list --count HEAD).
// The mapping, with the reason for each rule:
//
//	(no commit yet)         0.0.0~git0                  nothing to describe
//	1a2b3c4d5e6f            0.0.0~git42.1a2b3c4d5e6f    no tag yet: "~" sorts before 0.0.0
//	v1.2.3                  1.2.3                       a release
//	v1.2.3-rc1              1.2.3~rc1                   a pre-release sorts before 1.2.3
//	v1.2.3-5-g1a2b3c4d5e6f  1.2.3+git5.1a2b3c4d5e6f     after 1.2.3, before 1.2.4
//	… -dirty                … .dirty (or +dirty)        uncommitted changes are visible
//
// Snapshots after a tag use "+" rather than rpm's "^" because the caret
// needs rpm 4.15 (RHEL 8 ships 4.14); rpmvercmp orders "1.2.3+git5" after
// "1.2.3" and before "1.2.4" all the same. The package is native (the
// packaging lives in the upstream repository), so the Debian version has
// no revision; the RPM Release is always 1.
package pkgversion

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	hashRE     = regexp.MustCompile(`^[0-9a-f]{4,64}$`)
	tagRE      = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9]+)*)(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*))?$`)
	describeRE = regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]{4,64})$`)
	validRE    = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)
)

// FromDescribe maps git describe output (empty when the repository has no
// commit yet) and the commit count of HEAD to a version valid for both dpkg
// and rpm.
func FromDescribe(describe string, commits int) (string, error) {
	d := strings.TrimSpace(describe)
	if d == "" {
		return "0.0.0~git0", nil
	}
	dirty := false
	if rest, ok := strings.CutSuffix(d, "-dirty"); ok {
		d, dirty = rest, true
	}
	var v string
	switch {
	case hashRE.MatchString(d):
		// --always without a tag: only the abbreviated hash.
		if commits < 1 {
			return "", fmt.Errorf("git describe gave commit %s but the commit count is %d", d, commits)
		}
		v = "0.0.0~git" + strconv.Itoa(commits) + "." + d
		if dirty {
			v += ".dirty"
		}
	default:
		tag, n, hash := d, "", ""
		if m := describeRE.FindStringSubmatch(d); m != nil {
			tag, n, hash = m[1], m[2], m[3]
		}
		t := tagRE.FindStringSubmatch(tag)
		if t == nil {
			return "", fmt.Errorf("tag %q is not a version (want v1.2.3 or v1.2.3-rc1)", tag)
		}
		v = t[1]
		if t[2] != "" {
			v += "~" + t[2]
		}
		switch {
		case hash != "":
			v += "+git" + n + "." + hash
			if dirty {
				v += ".dirty"
			}
		case dirty:
			v += "+dirty"
		}
	}
	if !validRE.MatchString(v) {
		return "", fmt.Errorf("version %q from git describe %q is not valid for dpkg and rpm", v, describe)
	}
	return v, nil
}
