// Command pkgversion prints the package version for the git work tree it
// runs in (see package pkgversion for the mapping). scripts/build-packages.sh
// calls it; PKG_VERSION in the environment overrides it there.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/postfix-systemd/postfix-instances/packaging/pkgversion"
)

func main() {
	v, err := version()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pkgversion: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(v)
}

func version() (string, error) {
	if _, err := git("rev-parse", "--git-dir"); err != nil {
		return "", fmt.Errorf("not in a git work tree (set PKG_VERSION for a build from a tarball): %w", err)
	}
	// A repository without any commit has no HEAD: describe nothing.
	if err := exec.Command("git", "rev-parse", "--verify", "--quiet", "HEAD").Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return "", fmt.Errorf("git rev-parse: %w", err)
		}
		return pkgversion.FromDescribe("", 0)
	}
	describe, err := git("describe", "--tags", "--always", "--dirty", "--abbrev=12")
	if err != nil {
		return "", err
	}
	count, err := git("rev-list", "--count", "HEAD")
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(count)
	if err != nil {
		return "", fmt.Errorf("git rev-list --count HEAD: %q: %w", count, err)
	}
	return pkgversion.FromDescribe(describe, n)
}

func git(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(exit.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
