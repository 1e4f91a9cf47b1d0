package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
			if err := os.MkdirAll(parent, 0o755); err != nil {
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

func writeExclusive(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	return nil
}
