package instancetest

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// NonRegularTree builds, below a new temporary directory, a default
// config directory whose multi_instance_directories lists three instances
// whose main.cf is not a regular file: a directory, a listening Unix
// socket and a FIFO, in that order. It returns the default config
// directory and the three instance directories.
func NonRegularTree(t *testing.T) (defaultDir string, dirs []string) {
	t.Helper()
	root := t.TempDir()
	mk := map[string]func(p string) error{
		"dir": func(p string) error { return os.Mkdir(p, 0o755) },
		"socket": func(p string) error {
			l, err := net.Listen("unix", p)
			if err == nil {
				t.Cleanup(func() { l.Close() })
			}
			return err
		},
		"fifo": func(p string) error { return syscall.Mkfifo(p, 0o644) },
	}
	for _, k := range []string{"dir", "socket", "fifo"} {
		d := filepath.Join(root, "postfix-"+k)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := mk[k](filepath.Join(d, "main.cf")); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	defaultDir = filepath.Join(root, "postfix")
	if err := os.MkdirAll(defaultDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(defaultDir, "main.cf"), []byte(Dirs(strings.Join(dirs, " "))), 0o644); err != nil {
		t.Fatal(err)
	}
	return defaultDir, dirs
}
