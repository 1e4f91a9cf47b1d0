// Package atomicfile replaces configuration files atomically and serialises
// read-modify-write cycles on them, with the same protocol postconf -e uses,
// so that our writers and Postfix's own exclude each other.
//
// # The protocol
//
// Postfix edits main.cf and master.cf through edit_file(3) (src/util/edit_file.c):
// it opens PATH.tmp (O_CREAT, mode 0600, never truncated before it is
// locked), takes an exclusive flock(2) on it, and checks that the locked file
// is still the one named PATH.tmp (same device and inode), is a regular file
// with one link and mode 0600; otherwise it removes the name (a leftover of a
// crash) or simply retries. It then truncates it, reads the original,
// writes the result, sets the final mode, fsyncs, and renames PATH.tmp over
// PATH while still holding the lock. A process that waited for the lock on
// the renamed file sees that PATH.tmp is gone or is another inode, and starts
// again; so each cycle reads the file its predecessor wrote.
//
// We follow that protocol to the letter (the lock lives on PATH.tmp, not on
// a separate lock file), because a lock file of our own would not exclude a
// concurrent postconf -e, postmulti -e or an administrator's postconf. On
// top of edit_file(3) we keep the original's owner and mode (postconf resets
// them to the caller's and 0644), fsync the directory after the rename, and
// remove PATH.tmp on every error path while we still hold the lock.
//
// A process killed in the middle leaves PATH untouched (the rename is the
// only step that changes it) and may leave PATH.tmp behind; the next writer,
// ours or Postfix's, reuses or removes it, as edit_file(3) does. Extended
// attributes, ACLs and security labels are not copied, as postconf does not
// copy them either. A symbolic link at PATH is replaced by a regular file
// (again as postconf does); one at PATH.tmp is refused.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// TempSuffix is appended to a file's name to form the name of its temporary
// output file, which also carries the lock (Postfix's EDIT_FILE_SUFFIX).
const TempSuffix = ".tmp"

// tempMode is the mode of the temporary file while it is being written
// (Postfix's EDIT_FILE_MODE). A temporary file with any other mode is a
// leftover of a crash after the final chmod, and is removed.
const tempMode = 0o600

// permMask selects every permission bit of st_mode, set-id and sticky bits
// included (Postfix's FILE_PERM_MASK).
const permMask = 0o7777

// WriteFile replaces path with data atomically: readers see either the old
// file or the new one, never a mixture, and a crash at any point leaves one
// of the two. An existing file keeps its mode and owner; a new one gets
// exactly mode perm (the umask does not apply) and the caller's owner.
// WriteFile takes the same lock as Edit, so it waits for a concurrent Edit
// (or postconf -e) to finish.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return edit(path, true, perm, func([]byte) ([]byte, error) { return data, nil })
}

// Edit runs one locked read-modify-write cycle on an existing file: fn gets
// its current contents and returns the new ones, which replace the file as
// WriteFile does. No other Edit, WriteFile or postconf -e on the same path
// runs between the read and the rename. When fn returns an error, the file
// is left alone and Edit returns that error. A missing file is an error that
// matches fs.ErrNotExist, as postconf -e fails on a missing main.cf.
//
// Edit blocks until it gets the lock; fn must not write path itself
// (through Edit or WriteFile), which would wait for that lock forever.
func Edit(path string, fn func(old []byte) ([]byte, error)) error {
	return edit(path, false, 0, fn)
}

func edit(path string, create bool, perm fs.FileMode, fn func([]byte) ([]byte, error)) (err error) {
	tmpPath := path + TempSuffix
	tmp, err := lockTemp(tmpPath)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			// We still hold the lock: the name is ours to remove.
			if rerr := os.Remove(tmpPath); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
				err = fmt.Errorf("remove %s: %w", tmpPath, rerr)
			}
		}
		tmp.Close() // releases the lock, after the rename when committed
	}()

	old, st, err := readOriginal(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && create:
		st = nil
	default:
		return err
	}
	data, err := fn(old)
	if err != nil {
		return err
	}

	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmpPath, err)
	}
	fd := int(tmp.Fd())
	mode := uint32(perm.Perm())
	if perm&fs.ModeSetuid != 0 {
		mode |= syscall.S_ISUID
	}
	if perm&fs.ModeSetgid != 0 {
		mode |= syscall.S_ISGID
	}
	if perm&fs.ModeSticky != 0 {
		mode |= syscall.S_ISVTX
	}
	if st != nil {
		mode = st.Mode & permMask
		var tst syscall.Stat_t
		if err := syscall.Fstat(fd, &tst); err != nil {
			return fmt.Errorf("stat %s: %w", tmpPath, err)
		}
		// Chown before chmod: chown clears the set-id bits.
		if tst.Uid != st.Uid || tst.Gid != st.Gid {
			if err := syscall.Fchown(fd, int(st.Uid), int(st.Gid)); err != nil {
				return fmt.Errorf("keep owner %d:%d of %s: %w", st.Uid, st.Gid, path, err)
			}
		}
	}
	if err := syscall.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", tmpPath, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmpPath, err)
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmpPath, path, err)
	}
	committed = true
	return syncDir(filepath.Dir(path))
}

// readOriginal reads path and returns its contents and status; it refuses
// anything but a regular file.
func readOriginal(path string) ([]byte, *syscall.Stat_t, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, &st, nil
}

// lockTemp opens and exclusively locks tmpPath following edit_file_open(3):
// it returns an empty, locked regular file that is still named tmpPath.
func lockTemp(tmpPath string) (*os.File, error) {
	for {
		f, err := os.OpenFile(tmpPath, os.O_CREATE|os.O_WRONLY|syscall.O_NOFOLLOW, tempMode)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", tmpPath, err)
		}
		if err := flock(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", tmpPath, err)
		}
		var locked, named syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &locked); err != nil {
			f.Close()
			return nil, fmt.Errorf("stat %s: %w", tmpPath, err)
		}
		if err := syscall.Lstat(tmpPath, &named); err != nil || named.Dev != locked.Dev || named.Ino != locked.Ino {
			// Renamed or removed by the previous holder: start again.
			f.Close()
			continue
		}
		if named.Mode&syscall.S_IFMT != syscall.S_IFREG || named.Nlink > 1 || named.Mode&permMask != tempMode {
			// A leftover from a crash, possibly renamed half-way or already
			// given its final mode: do not write to it.
			if err := os.Remove(tmpPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
				f.Close()
				return nil, fmt.Errorf("remove stale %s: %w", tmpPath, err)
			}
			f.Close()
			continue
		}
		if err := f.Truncate(0); err != nil {
			os.Remove(tmpPath)
			f.Close()
			return nil, fmt.Errorf("truncate %s: %w", tmpPath, err)
		}
		return f, nil
	}
}

// flock takes an exclusive flock(2), retrying when a signal interrupts it.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

// syncDir makes a rename in dir durable. File systems that cannot fsync a
// directory (EINVAL) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
