package instance

import (
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// DirFS returns os.DirFS(root) for Load, with a leaner ReadFile: Load
// reads every instance's main.cf once, whole, and an *os.File (which
// os.DirFS's ReadFile opens) also makes the descriptor non-blocking and
// tries to register it with Go's poller, then undoes both: five more
// system calls per file than open, fstat, read and close, which a
// thousand instances notice. (Reading through it, Load also reuses one
// buffer per goroutine and needs no fstat.) Everything else is os.DirFS's.
func DirFS(root string) fs.FS {
	if root == "" {
		return os.DirFS(root) // which fails every call
	}
	return dirFS{os.DirFS(root).(fs.StatFS), root}
}

type dirFS struct {
	fs.StatFS // os.DirFS(root)
	root      string
}

// ReadFile implements fs.ReadFileFS with os.DirFS's errors: an
// *fs.PathError naming name, with the errno of the failed call.
func (d dirFS) ReadFile(name string) ([]byte, error) { return d.read(name, nil) }

// read is ReadFile into buf[:0], grown as needed; with buf nil, into a
// new buffer of the size fstat gives. The error comes with a nil slice.
func (d dirFS) read(name string, buf []byte) ([]byte, error) {
	if !fs.ValidPath(name) || strings.IndexByte(name, 0) >= 0 {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	full := d.path(name)
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Open(full, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	data := buf[:0]
	if buf == nil {
		size := 512
		var st syscall.Stat_t
		if syscall.Fstat(fd, &st) == nil && st.Size > 0 && int64(int(st.Size)) == st.Size {
			size = int(st.Size) + 1 // one more, to see the end in one read
		}
		data = make([]byte, 0, size)
	}
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := retryEINTR(func() (int, error) { return syscall.Read(fd, data[len(data):cap(data)]) })
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
	}
}

// path is the name of name (valid for fs.FS) on the host.
func (d dirFS) path(name string) string {
	if name == "." {
		return d.root
	}
	if strings.HasSuffix(d.root, "/") {
		return d.root + name
	}
	return d.root + "/" + name
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
