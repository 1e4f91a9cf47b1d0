package instance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// MaxFileSize is the largest main.cf Load reads: 1 MiB, about forty
// times upstream's fully commented main.cf.dist (27 KB). A larger file is
// refused rather than read (a main.cf that is a symlink to /dev/zero, or
// a runaway file, must not exhaust memory at boot).
const MaxFileSize = 1 << 20

// DirFS returns the file system Load reads: the tree below root, as if
// root were "/". Open never blocks (a FIFO is opened non-blocking, to be
// refused by Load), and below a root other than "/" every path resolves
// as it would after chroot(2) into root: absolute symlinks point inside
// the tree, ".." stops at its top (openat2(2) with RESOLVE_IN_ROOT, Linux
// 5.6 and later). It implements fs.StatFS.
func DirFS(root string) fs.FS { return dirFS(root) }

type dirFS string

// open opens name, relative to the root, with flags (O_CLOEXEC added).
func (d dirFS) open(op, name string, flags int) (*os.File, error) {
	if !fs.ValidPath(name) || strings.IndexByte(name, 0) >= 0 || d == "" {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	flags |= syscall.O_CLOEXEC
	var fd int
	var err error
	if d == "/" {
		fd, err = retryEINTR(func() (int, error) { return syscall.Open("/"+name, flags, 0) })
	} else {
		var rfd int
		rfd, err = retryEINTR(func() (int, error) {
			return syscall.Open(string(d), unix.O_PATH|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		})
		if err == nil {
			how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
			fd, err = retryEINTR(func() (int, error) { return unix.Openat2(rfd, name, &how) })
			syscall.Close(rfd)
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if flags&syscall.O_NONBLOCK != 0 {
		// Opened: from here on, plain blocking reads. A non-blocking
		// descriptor would also start Go's network poller, in vain for
		// files, which costs the generator a third of its time.
		if err := syscall.SetNonblock(fd, false); err != nil {
			syscall.Close(fd)
			return nil, &fs.PathError{Op: op, Path: name, Err: err}
		}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// Open implements fs.FS. It opens name for reading without blocking and
// without making a terminal the controlling one.
func (d dirFS) Open(name string) (fs.File, error) {
	f, err := d.open("open", name, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY)
	if err != nil {
		return nil, err // not a nil *os.File in an fs.File
	}
	return f, nil
}

// Stat implements fs.StatFS, following symlinks.
func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	if d == "/" && fs.ValidPath(name) {
		return os.Stat("/" + name)
	}
	f, err := d.open("stat", name, unix.O_PATH)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: errors.Unwrap(err)}
	}
	return fi, nil
}

// stat is syscall.Stat of name, relative to the root, without the
// allocations of Stat.
func (d dirFS) stat(name string, st *syscall.Stat_t) error {
	if d == "/" && fs.ValidPath(name) {
		return syscall.Stat("/"+name, st)
	}
	f, err := d.open("stat", name, unix.O_PATH)
	if err != nil {
		return err
	}
	defer f.Close()
	return syscall.Fstat(int(f.Fd()), st)
}

// NotRegularError is why ReadRegular refuses a FIFO or a device: Postfix
// would hang on the one and may read the other for ever.
type NotRegularError struct{ Mode fs.FileMode }

func (e *NotRegularError) Error() string {
	kind := "a special file"
	switch t := e.Mode.Type(); {
	case t&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case t&fs.ModeCharDevice != 0:
		kind = "a character device"
	case t&fs.ModeDevice != 0:
		kind = "a block device"
	case t&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return "not a regular file (" + kind + ")"
}

// errTooLarge is the reason for a file larger than MaxFileSize.
var errTooLarge = fmt.Errorf("file too large (more than %d MiB)", MaxFileSize>>20)

// ReadRegular reads name whole from fsys, only if it is a regular file of
// at most MaxFileSize bytes. The errors are *fs.PathError naming name,
// worded as Postfix words them where it refuses the same file: "read
// NAME: Is a directory", "open NAME: No such device or address" (a
// socket); a FIFO or a device, which Postfix would open and read, gets a
// NotRegularError, a file too large "file too large (more than 1 MiB)".
// The file is opened through fsys.Open, which for DirFS does not block.
func ReadRegular(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	switch {
	case fi.IsDir():
		return nil, &fs.PathError{Op: "read", Path: name, Err: syscall.EISDIR}
	case !fi.Mode().IsRegular():
		return nil, &fs.PathError{Op: "open", Path: name, Err: &NotRegularError{fi.Mode()}}
	case fi.Size() > MaxFileSize:
		return nil, &fs.PathError{Op: "read", Path: name, Err: errTooLarge}
	}
	// One allocation of the size fstat gives (plus a read's worth, to
	// see the end), whatever the file.
	var buf bytes.Buffer
	buf.Grow(int(fi.Size()) + bytes.MinRead)
	_, err = buf.ReadFrom(io.LimitReader(f, MaxFileSize+1))
	data := buf.Bytes()
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if len(data) > MaxFileSize { // it grew since fstat
		return nil, &fs.PathError{Op: "read", Path: name, Err: errTooLarge}
	}
	return data, nil
}

// retryEINTR calls f until it does not fail with EINTR.
func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
