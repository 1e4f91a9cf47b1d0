package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Apply creates the entries of t below dir, which must exist. Files and
// symlinks are created exclusively: an entry that already exists is
// reported as a duplicate and left alone, never overwritten. Apply goes on
// after a failure and returns one error per entry it could not create.
// Modes are 0644 for files and 0755 for directories, less the umask (the
// generator runs with umask 022).
func Apply(t Tree, dir string) []error {
	var errs []error
	made := map[string]bool{}
	for _, e := range t.Entries {
		if !filepath.IsLocal(filepath.FromSlash(e.Path)) {
			errs = append(errs, fmt.Errorf("refusing to write %q outside %s", e.Path, dir))
			continue
		}
		name := filepath.Join(dir, filepath.FromSlash(e.Path))
		if parent := filepath.Dir(name); !made[parent] {
			if err := mkdir(parent); err != nil {
				errs = append(errs, fmt.Errorf("create directory: %w", err))
				continue
			}
			made[parent] = true
		}
		var err error
		if e.IsLink() {
			err = os.Symlink(e.Target, name)
		} else {
			err = writeExclusive(name, e.Data)
		}
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%s already exists, not overwriting it: the input holds a duplicate", name)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// mkdir creates dir, and its parents only when needed: most parents are a
// drop-in directory right below the (existing) output directory, and a
// plain mkdir(2) is all they take.
func mkdir(dir string) error {
	err := os.Mkdir(dir, 0o755)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrExist):
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
		return err
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	}
	return err
}

// writeExclusive creates name, which must not exist, with data. It uses
// the system calls directly: an *os.File would also register the file with
// Go's poller, several calls per file that a thousand drop-ins notice.
func writeExclusive(name string, data []byte) error {
	fd, err := syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return &fs.PathError{Op: "create", Path: name, Err: err}
	}
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			syscall.Close(fd)
			return fmt.Errorf("write %s: %w", name, err)
		}
		data = data[n:]
	}
	if err := syscall.Close(fd); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	return nil
}
