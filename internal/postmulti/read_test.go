package postmulti

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFIFOMainCF: an instance whose main.cf is a FIFO does not hang
// postmulti -l (upstream's postconf would block on it for ever): it is
// refused as postmulti refuses an instance postconf cannot read, with
// the file and the reason.
func TestFIFOMainCF(t *testing.T) {
	root := testRoot(t)
	p := filepath.Join(root, "etc/postfix-in/main.cf")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runWithin(t, root, &fakeLifecycle{}, "-l", "-a")
	want := "postconf: fatal: open /etc/postfix-in/main.cf: not a regular file (a FIFO)\n" +
		"postmulti: fatal: Failed to obtain all required /etc/postfix-in/main.cf parameters\n"
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr, want)
	}
}
