package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a writer process (see TestMain).
const helperEnv = "ATOMICFILE_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[len(os.Args)-2:]))
	}
	os.Exit(m.Run())
}

// helper runs in a re-executed test binary. "append" adds one parameter in
// one locked cycle; "crash" rewrites the file forever, each version derived
// from the one it read, until it is killed.
func helper(mode string, args []string) int {
	path, arg := args[0], args[1]
	switch mode {
	case "append":
		if err := Edit(path, appendParam(arg)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "crash":
		fmt.Println("ready")
		for {
			err := Edit(path, func(old []byte) ([]byte, error) {
				n, ok := versionOf(old)
				if !ok {
					return nil, fmt.Errorf("%s is not a whole version", path)
				}
				return content(n + 1), nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

func appendParam(name string) func([]byte) ([]byte, error) {
	return func(old []byte) ([]byte, error) {
		return append(old, name+" = value of "+name+"\n"...), nil
	}
}

// content is version n of the crash test's file: a header naming n and a
// body whose length and bytes depend on n, so that any mixture of two
// versions differs from both.
func content(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# version %d\n", n)
	lines := 2000 + (n*7919)%6000
	for i := 0; i < lines; i++ {
		fmt.Fprintf(&b, "p%d = %d %d\n", i, n, i*n)
	}
	fmt.Fprintf(&b, "# end of version %d\n", n)
	return b.Bytes()
}

// versionOf returns n when data is exactly content(n).
func versionOf(data []byte) (int, bool) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	n, err := strconv.Atoi(strings.TrimPrefix(string(line), "# version "))
	if err != nil || !bytes.Equal(data, content(n)) {
		return 0, false
	}
	return n, true
}

func assertNoTemp(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path + TempSuffix); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s%s left behind (lstat: %v)", path, TempSuffix, err)
	}
}

func statOf(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if testing.Short() {
			t.Skip("needs root")
		}
		t.Fatal("this test needs root (to give files other owners); run as root or with -short")
	}
}

func TestWriteFileNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.cf")
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	if err := WriteFile(path, []byte("a = b\n"), 0o644|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "a = b\n" {
		t.Fatalf("read back %q, %v", got, err)
	}
	if m := statOf(t, path).Mode & 0o7777; m != 0o2644 {
		t.Errorf("new file mode %o, want 2644 (umask not applied)", m)
	}
	assertNoTemp(t, path)
}

func TestWriteFileKeepsModeAndOwner(t *testing.T) {
	requireRoot(t)
	path := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4321, 8765); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(path, 0o2640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := statOf(t, path)
	if st.Uid != 4321 || st.Gid != 8765 || st.Mode&0o7777 != 0o2640 {
		t.Errorf("after WriteFile: owner %d:%d mode %o, want 4321:8765 2640", st.Uid, st.Gid, st.Mode&0o7777)
	}
	if got, _ := os.ReadFile(path); string(got) != "new\n" {
		t.Errorf("content %q", got)
	}
	assertNoTemp(t, path)
}

func TestEditMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.cf")
	called := false
	err := Edit(path, func(old []byte) ([]byte, error) { called = true; return old, nil })
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Edit of a missing file: %v, want a not-exist error naming the file", err)
	}
	if called {
		t.Error("fn called for a missing file")
	}
	assertNoTemp(t, path)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Edit created %s", path)
	}
}

func TestEditErrorLeavesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(path, []byte("keep = me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Edit(path, func(old []byte) ([]byte, error) { return []byte("lost"), boom })
	if !errors.Is(err, boom) {
		t.Errorf("Edit returned %v, want fn's error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "keep = me\n" {
		t.Errorf("file changed to %q", got)
	}
	assertNoTemp(t, path)
}

func TestEditNotRegular(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.cf")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Edit(path, func(old []byte) ([]byte, error) { return old, nil }); err == nil {
		t.Error("Edit of a directory succeeded")
	}
	assertNoTemp(t, path)
}

// TestStaleTemp: a temporary file left by a writer killed before its final
// chmod is reused and truncated; one left after it (final mode already set,
// so possibly also renamed half-way) is removed and recreated, as
// edit_file(3) does.
func TestStaleTemp(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o644} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "main.cf")
			if err := os.WriteFile(path, []byte("a = 1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+TempSuffix, bytes.Repeat([]byte("garbage\n"), 1000), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path+TempSuffix, mode); err != nil {
				t.Fatal(err)
			}
			if err := Edit(path, appendParam("b")); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); string(got) != "a = 1\nb = value of b\n" {
				t.Errorf("content %q", got)
			}
			assertNoTemp(t, path)
		})
	}
}

func TestTempSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.cf")
	victim := filepath.Join(dir, "victim")
	for _, f := range []string{path, victim} {
		if err := os.WriteFile(f, []byte("untouched\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(victim, path+TempSuffix); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n"), 0o644); err == nil {
		t.Error("WriteFile followed a symbolic link at the temporary name")
	}
	for _, f := range []string{path, victim} {
		if got, _ := os.ReadFile(f); string(got) != "untouched\n" {
			t.Errorf("%s changed to %q", f, got)
		}
	}
}

const writers = 32

// checkAll requires the file to hold the seed line and exactly one line for
// each name, in any order.
func checkAll(t *testing.T, path, seed string, names []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) == 0 || lines[0] != seed {
		t.Fatalf("first line %q, want %q", lines[0], seed)
	}
	got := append([]string(nil), lines[1:]...)
	var want []string
	for _, n := range names {
		want = append(want, n+" = value of "+n)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after %d concurrent edits the file holds\n%s\nwant (in any order)\n%s", len(names), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	assertNoTemp(t, path)
}

func newMainCF(t *testing.T) (path, seed string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "main.cf")
	seed = "# seed"
	if err := os.WriteFile(path, []byte(seed+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, seed
}

// editConcurrently runs one Edit per name, all at once, each appending its
// parameter; it returns when all are done.
func editConcurrently(t *testing.T, path string, names []string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Edit(path, func(old []byte) ([]byte, error) {
				time.Sleep(time.Millisecond) // widen the read-modify-write window
				return appendParam(name)(old)
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	path, seed := newMainCF(t)
	var names []string
	for i := 0; i < writers; i++ {
		names = append(names, fmt.Sprintf("goroutine_%02d", i))
	}
	editConcurrently(t, path, names)
	checkAll(t, path, seed, names)
}

func helperCmd(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

func TestConcurrentProcesses(t *testing.T) {
	path, seed := newMainCF(t)
	var names []string
	var cmds []*exec.Cmd
	for i := 0; i < writers; i++ {
		name := fmt.Sprintf("process_%02d", i)
		names = append(names, name)
		cmd := helperCmd(t, "append", path, name)
		cmd.Stderr = os.Stderr
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer process: %v", err)
		}
	}
	checkAll(t, path, seed, names)
}

// TestConcurrentWithPostconf mixes our writers with real postconf -e
// processes on one main.cf: since both lock main.cf.tmp the edit_file(3)
// way, no change is lost on either side.
func TestConcurrentWithPostconf(t *testing.T) {
	postconf, err := exec.LookPath("postconf")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/postconf"); serr != nil {
			t.Fatalf("postconf not found (install postfix): %v", err)
		}
		postconf = "/usr/sbin/postconf"
	}
	path, seed := newMainCF(t)
	dir := filepath.Dir(path)
	var names []string
	var cmds []*exec.Cmd
	for i := 0; i < writers/2; i++ {
		name := fmt.Sprintf("postconf_%02d", i)
		names = append(names, name)
		cmd := exec.Command(postconf, "-c", dir, "-e", name+" = value of "+name)
		cmd.Stderr = os.Stderr
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var ours []string
	for i := 0; i < writers/2; i++ {
		ours = append(ours, fmt.Sprintf("ours_%02d", i))
	}
	names = append(names, ours...)
	editConcurrently(t, path, ours)
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("postconf -e: %v", err)
		}
	}
	checkAll(t, path, seed, names)
}

// TestCrash kills a writer process with SIGKILL at random moments, again and
// again for a few seconds, and requires the file to be exactly one whole
// version every time; the writers also check, as they read, that they never
// see anything else. Mode and owner survive every version.
func TestCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(path, content(0), 0o640); err != nil {
		t.Fatal(err)
	}
	wantUID, wantGID := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		wantUID, wantGID = 4321, 8765
		if err := os.Chown(path, wantUID, wantGID); err != nil {
			t.Fatal(err)
		}
	}
	budget := 3 * time.Second
	if testing.Short() {
		budget = 500 * time.Millisecond
	}
	// Run for the budget, and on (up to a hard limit, for slow machines and
	// -race) until both outcomes were seen often enough. The kill delay
	// adapts: longer after a kill that found no new version, shorter after
	// one that did, so that kills land both between and inside cycles.
	start := time.Now()
	maxDelay := 20 * time.Millisecond
	kills, last, advanced, staleTemps := 0, 0, 0, 0
	for {
		elapsed := time.Since(start)
		enough := kills >= 10 && advanced > 0 && advanced < kills
		if elapsed > 4*budget || elapsed > budget && enough {
			break
		}
		cmd := helperCmd(t, "crash", path, "-")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("writer did not start: %q, %v; stderr: %s", line, err, stderr.String())
		}
		time.Sleep(time.Duration(rand.Int64N(int64(maxDelay))))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("writer ended on its own: %v; stderr: %s", err, stderr.String())
		}
		kills++
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := versionOf(data)
		if !ok {
			t.Fatalf("after kill %d the file is torn: %d bytes starting %q", kills, len(data), data[:min(len(data), 40)])
		}
		if n < last {
			t.Fatalf("after kill %d the file went back from version %d to %d", kills, last, n)
		}
		if n > last {
			advanced++
			maxDelay = max(maxDelay*9/10, time.Millisecond)
		} else {
			maxDelay = min(maxDelay*5/4, 2*time.Second)
		}
		last = n
		if _, err := os.Lstat(path + TempSuffix); err == nil {
			staleTemps++
		}
		st := statOf(t, path)
		if int(st.Uid) != wantUID || int(st.Gid) != wantGID || st.Mode&0o7777 != 0o640 {
			t.Fatalf("version %d: owner %d:%d mode %o, want %d:%d 640", n, st.Uid, st.Gid, st.Mode&0o7777, wantUID, wantGID)
		}
	}
	// The next writer copes with whatever temporary file the last kill left.
	if err := Edit(path, func(old []byte) ([]byte, error) {
		n, ok := versionOf(old)
		if !ok {
			return nil, errors.New("torn")
		}
		return content(n + 1), nil
	}); err != nil {
		t.Fatal(err)
	}
	assertNoTemp(t, path)
	if data, _ := os.ReadFile(path); !bytes.Equal(data, content(last+1)) {
		t.Errorf("final edit did not produce version %d", last+1)
	}
	t.Logf("%d kills, %d versions written, %d kills advanced the file, %d left a temporary file", kills, last, advanced, staleTemps)
	if kills < 10 || advanced == 0 || advanced == kills {
		t.Errorf("the test did not exercise both outcomes: %d kills, %d advanced", kills, advanced)
	}
}
