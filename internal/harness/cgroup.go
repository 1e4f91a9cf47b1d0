package harness

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Every container gets a cgroup of its own. systemd-nspawn --keep-unit
// puts the container into "payload" (and itself into "supervisor") below
// the cgroup it was started in. Two containers started from the same
// cgroup (two test packages running at once, both from the host's root
// cgroup) would share one payload: both container managers would then
// create, kill and remove the same system.slice/postfix@NAME.service
// cgroups, and a unit's ExecStart could fail with "Failed to attach to
// cgroup ...: No such file or directory" (status=219/CGROUP) because the
// other container had just removed it. So the launcher moves itself into
// a new cgroup, named after the machine, in each hierarchy nspawn uses
// (cgroup2, and on a legacy or hybrid host the name=systemd hierarchy)
// before it becomes systemd-nspawn; teardown removes that subtree.

// cgroupPrefix starts the name of each container's cgroup, followed by
// the PID of the test process and the machine name; sweepCgroups
// recognises leftovers by it.
const cgroupPrefix = "pfi-test-"

// cgroupHierarchy is one mounted hierarchy that systemd-nspawn uses, and
// this process's cgroup in it.
type cgroupHierarchy struct {
	mount string // where it is mounted, e.g. /sys/fs/cgroup/unified
	own   string // this process's cgroup: an absolute path below mount
}

// nspawnHierarchies finds the cgroup2 hierarchy and the v1 name=systemd
// hierarchy, where mounted, from /proc/self/cgroup and mountinfo.
func nspawnHierarchies() ([]cgroupHierarchy, error) {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	// paths: "" for cgroup2, "name=systemd" for the v1 hierarchy.
	paths := map[string]string{}
	for _, l := range strings.Split(string(cg), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			paths[""] = f[2]
		} else if slices.Contains(strings.Split(f[1], ","), "name=systemd") {
			paths["name=systemd"] = f[2]
		}
	}
	var hs []cgroupHierarchy
	seen := map[string]bool{}
	for _, l := range strings.Split(string(mi), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		key := ""
		switch {
		case g[0] == "cgroup2":
		case g[0] == "cgroup" && slices.Contains(strings.Split(g[2], ","), "name=systemd"):
			key = "name=systemd"
		default:
			continue
		}
		own, ok := paths[key]
		if !ok || seen[key] {
			continue
		}
		rel, err := filepath.Rel(f[3], own)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue // mounted from elsewhere in the hierarchy
		}
		seen[key] = true
		hs = append(hs, cgroupHierarchy{mount: f[4], own: filepath.Join(f[4], rel)})
	}
	if !seen[""] && !seen["name=systemd"] {
		return nil, errors.New("neither a cgroup2 nor a name=systemd cgroup hierarchy is mounted")
	}
	return hs, nil
}

// makeCgroups creates the container's cgroup in every hierarchy nspawn
// uses and returns their directories.
func makeCgroups(machine string) ([]string, error) {
	hs, err := nspawnHierarchies()
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	var dirs []string
	for _, h := range hs {
		d := filepath.Join(h.own, fmt.Sprintf("%s%d-%s", cgroupPrefix, os.Getpid(), machine))
		if err := os.Mkdir(d, 0o755); err != nil {
			removeCgroups(dirs)
			return nil, fmt.Errorf("cgroups: %w", err)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// removeCgroups removes each cgroup directory and what the container left
// below it, deepest first. A cgroup that still has processes stays (rmdir
// fails with EBUSY); the error names the first one.
func removeCgroups(dirs []string) error {
	var first error
	for _, top := range dirs {
		var all []string
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		// Deeper paths are longer than their parents: remove them first.
		slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
		for _, p := range all {
			if err := syscall.Rmdir(p); err != nil && !errors.Is(err, syscall.ENOENT) && first == nil {
				first = fmt.Errorf("remove cgroup %s: %w", p, err)
			}
		}
	}
	return first
}

// sweepCgroups removes the cgroups that containers of earlier test
// processes left when those died without a teardown: those named after a
// PID that no longer runs, and empty. (A container whose nspawn still runs
// keeps its processes, and so its cgroups.)
func sweepCgroups() {
	hs, err := nspawnHierarchies()
	if err != nil {
		return
	}
	for _, h := range hs {
		old, _ := filepath.Glob(filepath.Join(h.own, cgroupPrefix+"*"))
		for _, d := range old {
			if ownerAlive(strings.TrimPrefix(filepath.Base(d), cgroupPrefix)) || populated(d) {
				continue
			}
			_ = removeCgroups([]string{d})
		}
	}
}

// populated reports whether any cgroup at or below dir has a process.
func populated(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found || !d.IsDir() {
			return nil
		}
		if data, err := os.ReadFile(filepath.Join(p, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(data))) > 0 {
			found = true
		}
		return nil
	})
	return found
}
