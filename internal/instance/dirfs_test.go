package instance

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDirFS: reading through DirFS gives what os.DirFS gives, contents
// and errors (compared by their errno) alike, also for a file whose size
// stat does not know (/proc).
func TestDirFS(t *testing.T) {
	root := t.TempDir()
	big := bytes.Repeat([]byte("smtpd_banner = $myhostname\n"), 1000)
	for name, data := range map[string][]byte{"etc/main.cf": []byte("biff = no\n"), "etc/empty": nil, "etc/big": big} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ root, name string }{
		{root, "etc/main.cf"}, {root, "etc/empty"}, {root, "etc/big"}, {root + "/", "etc/main.cf"},
		{root, "etc"}, {root, "etc/missing"}, {root, "etc/main.cf/x"}, {root, "/etc/main.cf"},
		{root, "etc/../etc/main.cf"}, {root, "etc/a\x00b"}, {"/", "proc/self/cmdline"},
	} {
		want, wantErr := fs.ReadFile(os.DirFS(tc.root), tc.name)
		got, gotErr := ReadRegular(DirFS(tc.root), tc.name)
		if errno(gotErr) != errno(wantErr) || !bytes.Equal(got, want) {
			t.Errorf("ReadFile(DirFS(%q), %q) = %d bytes, %v; os.DirFS: %d bytes, %v", tc.root, tc.name, len(got), gotErr, len(want), wantErr)
		}
	}
	if _, err := fs.Stat(DirFS(root), "etc/main.cf"); err != nil {
		t.Errorf("Stat: %v", err)
	}
}

// errno is err's errno, fs.ErrInvalid's text or "" for no error.
func errno(err error) string {
	var en syscall.Errno
	switch {
	case err == nil:
		return ""
	case errors.As(err, &en):
		return en.Error()
	}
	return errors.Unwrap(err).Error()
}
