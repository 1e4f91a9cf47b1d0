package postmulti

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConcurrentCreate runs 32 "postmulti -e create" with distinct names
// at once (ours, in a copy-on-write namespace) and expects all 32 in the
// list afterwards, as both our -l and the real postmulti -l show it: the
// default main.cf's read-modify-write is locked. (Upstream's is not: "XXX:
// No multi.cf lock file, so this is not race-free".)
func TestConcurrentCreate(t *testing.T) {
	requireDiffPrereqs(t)
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(bin, "postmulti")
	if err := os.Symlink(self, ours); err != nil {
		t.Fatal(err)
	}
	const n = 32
	script := fmt.Sprintf(`
cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
%[1]s -e init
pids=
for i in $(seq 1 %[2]d); do
  %[1]s -I postfix-c$i -G conc -e create > %[3]s/create.$i.out 2>&1 &
  pids="$pids $!"
done
st=0
for p in $pids; do wait $p || st=1; done
[ $st = 0 ] || { cat %[3]s/create.*.out >&2; exit 1; }
%[1]s -l > %[3]s/ours.list
/usr/sbin/postmulti -l > %[3]s/real.list
/usr/sbin/postconf -h multi_instance_directories > %[3]s/dirs
`, ours, n, dir)
	ns := filepath.Join(dir, "ns")
	if err := os.Mkdir(ns, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, errOut, err := inNamespace(ns, "", "", script, ""); err != nil {
		t.Fatalf("concurrent creates: %v\n%s%s", err, out, errOut)
	}
	t.Logf("%d concurrent creates in %v", n, time.Since(start).Round(time.Millisecond))
	ol, _ := os.ReadFile(filepath.Join(dir, "ours.list"))
	rl, _ := os.ReadFile(filepath.Join(dir, "real.list"))
	dirs, _ := os.ReadFile(filepath.Join(dir, "dirs"))
	if string(ol) != string(rl) {
		t.Errorf("our -l and the real -l differ:\n--- ours\n%s--- real\n%s", ol, rl)
	}
	lines := strings.Split(strings.TrimSuffix(string(ol), "\n"), "\n")
	if len(lines) != n+1 {
		t.Errorf("-l lists %d instances, want %d (default + %d created):\n%s", len(lines), n+1, n, ol)
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("postfix-c%d ", i)
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, name) && strings.Contains(l, " conc ") {
				found = true
			}
		}
		if !found {
			t.Errorf("instance %s is missing from -l", name)
		}
	}
	if got := len(strings.Fields(string(dirs))); got != n {
		t.Errorf("multi_instance_directories has %d entries, want %d: %s", got, n, dirs)
	}
}
