package generator

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Apply creates the entries of t below dir (created first if missing,
// with its parents). Files and
// symlinks are created exclusively, and directories below dir are entered
// without following symlinks (openat(2) with O_NOFOLLOW): an entry that
// already exists is reported and left alone, never overwritten, and a
// symlink where a directory belongs is reported, never written through.
// An entry that t holds twice is reported as a duplicate in the input.
// Apply goes on after a failure and returns one error per entry it could
// not create. Modes are 0644 for files and 0755 for directories, less the
// umask (the generator runs with umask 022).
func Apply(t Tree, dir string) []error {
	top, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		// systemd hands a generator existing directories; tests and
		// previews may not.
		if err = os.MkdirAll(dir, 0o755); err == nil {
			top, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return []error{fmt.Errorf("open the output directory %s: %w", dir, err)}
	}
	a := applier{dir: dir, top: top, cur: -1, errs: map[string]error{}}
	defer a.close()
	var errs []error
	seen := make(map[string]bool, len(t.Entries))
	for _, e := range t.Entries {
		name := filepath.Join(dir, filepath.FromSlash(e.Path))
		if !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			errs = append(errs, fmt.Errorf("refusing to write %q outside %s", e.Path, dir))
			continue
		}
		e.Path = path.Clean(e.Path)
		if seen[e.Path] {
			errs = append(errs, fmt.Errorf("the generated plan holds %s twice, not writing it again: the input holds a duplicate", name))
			continue
		}
		seen[e.Path] = true
		parent, base := path.Split(e.Path)
		fd, err := a.dirFD(strings.TrimSuffix(parent, "/"))
		if err != nil {
			errs = append(errs, fmt.Errorf("create %s: %w", name, err))
			continue
		}
		if e.IsLink() {
			err = unix.Symlinkat(e.Target, fd, base)
		} else {
			err = writeExclusive(fd, base, e.Data)
		}
		switch {
		case errors.Is(err, unix.EEXIST):
			errs = append(errs, fmt.Errorf("%s already exists, not overwriting it", name))
		case err != nil:
			errs = append(errs, fmt.Errorf("create %s: %w", name, err))
		}
	}
	return errs
}

// applier holds the output directory and the last directory below it
// that Apply entered, by its path relative to the output directory:
// entries come sorted, those of one directory together, so one open
// descriptor suffices (holding one per directory would make the kernel
// grow the descriptor table of a threaded process, which waits for RCU
// grace periods). errs holds the directories it could not enter.
type applier struct {
	dir     string
	top     int
	curPath string
	cur     int
	errs    map[string]error
}

// dirFD returns a descriptor of rel, a directory below the output
// directory ("" for itself), creating it (and its parents) when missing;
// an existing symlink or non-directory is an error, not followed.
func (a *applier) dirFD(rel string) (int, error) {
	switch {
	case rel == "":
		return a.top, nil
	case a.cur >= 0 && rel == a.curPath:
		return a.cur, nil
	}
	if err, ok := a.errs[rel]; ok {
		return -1, err
	}
	fd, err := a.enter(rel)
	if err != nil {
		a.errs[rel] = err
		return -1, err
	}
	if a.cur >= 0 {
		unix.Close(a.cur)
	}
	a.curPath, a.cur = rel, fd
	return fd, nil
}

// enter walks down to rel from the output directory, one component at a
// time, creating what is missing and following no symlink.
func (a *applier) enter(rel string) (int, error) {
	parent, done := a.top, ""
	for _, name := range strings.Split(rel, "/") {
		done = path.Join(done, name)
		full := filepath.Join(a.dir, filepath.FromSlash(done))
		err := unix.Mkdirat(parent, name, 0o755)
		if errors.Is(err, unix.EEXIST) {
			err = nil
		}
		fd := -1
		if err == nil {
			fd, err = unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		var st unix.Stat_t
		switch {
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR) &&
			unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK:
			err = fmt.Errorf("%s is a symlink, not writing through it", full)
		case errors.Is(err, unix.ENOTDIR):
			err = fmt.Errorf("%s exists and is not a directory", full)
		case err != nil:
			err = fmt.Errorf("create directory %s: %w", full, err)
		}
		if parent != a.top {
			unix.Close(parent)
		}
		if err != nil {
			return -1, err
		}
		parent = fd
	}
	return parent, nil
}

func (a *applier) close() {
	if a.cur >= 0 {
		unix.Close(a.cur)
	}
	unix.Close(a.top)
}

// writeExclusive creates base in the directory dirfd, which must not
// exist, with data.
func writeExclusive(dirfd int, base string, data []byte) error {
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	for len(data) > 0 && err == nil {
		var n int
		if n, err = unix.Write(fd, data); err == nil {
			data = data[n:]
		} else if err == unix.EINTR {
			err = nil
		}
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}
