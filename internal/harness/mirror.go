package harness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MirrorEnv overrides the Debian mirror debootstrap downloads from.
const MirrorEnv = "PFI_TEST_MIRROR"

// aptSourcesFiles lists where Mirror looks, in order: the deb822 file Debian
// 12 installs, the classic one-line file, then everything else apt reads.
func aptSourcesFiles(etcApt string) []string {
	files := []string{
		filepath.Join(etcApt, "sources.list.d", "debian.sources"),
		filepath.Join(etcApt, "sources.list"),
	}
	more, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*"))
	sort.Strings(more)
	for _, f := range more {
		if f != files[0] && (strings.HasSuffix(f, ".sources") || strings.HasSuffix(f, ".list")) {
			files = append(files, f)
		}
	}
	return files
}

// Mirror returns the Debian mirror to bootstrap from: $PFI_TEST_MIRROR when
// set, otherwise the first Debian archive URI (not a security or updates
// archive) in the machine's apt sources under etcApt (normally /etc/apt).
func Mirror(etcApt string) (string, error) {
	if m := os.Getenv(MirrorEnv); m != "" {
		return m, nil
	}
	var tried []string
	for _, f := range aptSourcesFiles(etcApt) {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read apt sources %s: %w", f, err)
		}
		tried = append(tried, f)
		var uri string
		if strings.HasSuffix(f, ".sources") {
			uri = mirrorFromDeb822(string(data))
		} else {
			uri = mirrorFromOneLine(string(data))
		}
		if uri != "" {
			return uri, nil
		}
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("no apt sources under %s; set %s to a Debian mirror", etcApt, MirrorEnv)
	}
	return "", fmt.Errorf("no Debian archive URI in %s; set %s to a Debian mirror", strings.Join(tried, ", "), MirrorEnv)
}

// usableURI accepts an http(s) archive that is not the security archive.
func usableURI(uri string) bool {
	return (strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://")) &&
		!strings.Contains(uri, "security")
}

// mainSuite reports whether suites names a release itself rather than its
// -updates, -security or -backports companion.
func mainSuite(suites []string) bool {
	for _, s := range suites {
		if !strings.Contains(s, "-") && !strings.Contains(s, "/") {
			return true
		}
	}
	return false
}

// mirrorFromDeb822 picks the URI of the first "Types: deb" stanza of a
// deb822 .sources file that carries a release suite.
func mirrorFromDeb822(text string) string {
	var fallback string
	for _, stanza := range deb822Stanzas(text) {
		if !contains(strings.Fields(stanza["types"]), "deb") || strings.EqualFold(stanza["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(stanza["uris"]) {
			if !usableURI(uri) {
				continue
			}
			if mainSuite(strings.Fields(stanza["suites"])) {
				return uri
			}
			if fallback == "" {
				fallback = uri
			}
		}
	}
	return fallback
}

// deb822Stanzas splits a deb822 file into stanzas of lower-cased field
// names; continuation lines (leading white space) extend the last field.
func deb822Stanzas(text string) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	last := ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, last = map[string]string{}, ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if last != "" {
				cur[last] += " " + strings.TrimSpace(line)
			}
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			cur[last] = strings.TrimSpace(v)
		}
	}
	flush()
	return out
}

// mirrorFromOneLine picks the URI of the first "deb" line of a
// sources.list file that names a release suite.
func mirrorFromOneLine(text string) string {
	var fallback string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // [ options ], possibly spread over fields
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) < 2 || !usableURI(f[0]) {
			continue
		}
		if mainSuite(f[1:2]) {
			return f[0]
		}
		if fallback == "" {
			fallback = f[0]
		}
	}
	return fallback
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
