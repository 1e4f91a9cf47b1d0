package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// The differential test runs the real postmulti -p and Run side by side
// against one instance tree whose command_directory holds a fake postfix
// that records every call (config directory, arguments, environment) and
// exits with a scripted status. Without systemd, Run must make the same
// calls in the same order with the same environments, and exit the same.

// oracleHelperEnv makes the test binary bind-mount the tree's default
// config directory over /etc/postfix (it runs in a private mount namespace
// of its own) and become the real postmulti, which refuses any other
// MAIL_CONFIG.
const oracleHelperEnv = "PFI_ORACLE_ETC_POSTFIX"

func init() {
	dir := os.Getenv(oracleHelperEnv)
	if dir == "" {
		return
	}
	if err := syscall.Mount(dir, "/etc/postfix", "", syscall.MS_BIND, ""); err != nil {
		fmt.Fprintf(os.Stderr, "bind %s over /etc/postfix: %v\n", dir, err)
		os.Exit(97)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, oracleHelperEnv+"=") {
			env = append(env, kv)
		}
	}
	err := syscall.Exec("/usr/sbin/postmulti", append([]string{"/usr/sbin/postmulti"}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "exec postmulti: %v\n", err)
	os.Exit(98)
}

// fakePostfix records one call and exits as $PFI_FAKE_DIR/exit-DIR-ACTION
// says (0 when there is no such file).
const fakePostfix = `#!/bin/sh
{
	printf 'CALL %s' "$MAIL_CONFIG"
	for a in "$@"; do printf ' [%s]' "$a"; done
	printf '\n'
	# The environment exactly as execve(2) passed it, in its order.
	tr '\0' '\n' </proc/$$/environ | sed 's/^/  ENV /'
} >>"$PFI_FAKE_LOG"
f="$PFI_FAKE_DIR/exit-${MAIL_CONFIG##*/}-$2"
if [ -f "$f" ]; then exit "$(cat "$f")"; fi
exit 0
`

type oracleTree struct {
	root   string
	bin    string // command_directory with the fake postfix
	etc    string // the default config directory
	insts  []instance.Instance
	byName map[string]instance.Instance
}

func newOracleTree(t *testing.T) *oracleTree {
	t.Helper()
	root := t.TempDir()
	tr := &oracleTree{root: root, bin: filepath.Join(root, "bin"), etc: filepath.Join(root, "etc/postfix"), byName: map[string]instance.Instance{}}
	mustWrite := func(path, data string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(filepath.Join(tr.bin, "postfix"), fakePostfix, 0o755)
	if err := os.Symlink("/usr/sbin/postconf", filepath.Join(tr.bin, "postconf")); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("/usr/share/postfix/main.cf.debian")
	if err != nil {
		t.Fatalf("Debian's main.cf template (package postfix): %v", err)
	}
	secondaries := []struct {
		name    string
		enabled string
	}{{"postfix-a", "yes"}, {"postfix-b", "no"}, {"postfix-c", "yes"}}
	var dirs []string
	// The real postmulti sees the default instance at /etc/postfix, where
	// the tree's is bind-mounted.
	tr.insts = append(tr.insts, instance.Instance{Default: true, Enabled: true, ConfigDir: "/etc/postfix", CommandDir: tr.bin,
		QueueDir: "/var/spool/postfix", DataDir: "/var/lib/postfix"})
	for i, s := range secondaries {
		dir := filepath.Join(root, "etc", s.name)
		dirs = append(dirs, dir)
		mustWrite(filepath.Join(dir, "main.cf"), fmt.Sprintf(
			"queue_directory = %s/spool/%s\ndata_directory = %s/lib/%s\nmulti_instance_name = %s\nmulti_instance_group = mta\nmulti_instance_enable = %s\n",
			root, s.name, root, s.name, s.name, s.enabled), 0o644)
		tr.insts = append(tr.insts, instance.Instance{Name: s.name, Group: "mta", Enabled: s.enabled == "yes", ConfigDir: dir, Position: i + 1,
			QueueDir: root + "/spool/" + s.name, DataDir: root + "/lib/" + s.name})
	}
	// Run acts only on instances that can run under systemd (as all
	// these can): Resolve says so, as Load does.
	instance.Resolve(tr.insts, nil, unit.Classic)
	for _, in := range tr.insts[1:] {
		if _, err := in.Runnable(); err != nil {
			t.Fatal(err)
		}
		tr.byName[in.Name] = in
	}
	mustWrite(filepath.Join(tr.etc, "main.cf"), string(base)+fmt.Sprintf(
		"\ncommand_directory = %s\nmulti_instance_enable = yes\nmulti_instance_directories = %s\n", tr.bin, strings.Join(dirs, " ")), 0o644)
	return tr
}

// realPostmulti runs the real postmulti with args and env; it returns the
// exit status.
func (tr *oracleTree) realPostmulti(t *testing.T, env []string, args ...string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append([]string(nil), env...), oracleHelperEnv+"="+tr.etc)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() < 97:
		return ee.ExitCode()
	}
	t.Fatalf("real postmulti %q: %v\n%s", args, err, stderr.String())
	return -1
}

func TestAgainstRealPostmulti(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running the real postmulti")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (a private mount namespace for the real postmulti); use -short to skip")
	}
	if _, err := os.Stat("/usr/sbin/postmulti"); err != nil {
		t.Fatalf("the real postmulti (package postfix) is needed: %v; use -short to skip", err)
	}
	tr := newOracleTree(t)
	actions := [][]string{{"start"}, {"stop"}, {"reload"}, {"flush"}, {"status"}, {"check"}, {"abort"}, {"drain"},
		{"quick-stop"}, {"set-permissions", "mail_owner=postfix"}, {"upgrade-configuration"}, {"logrotate"}, {"restart"}}
	selections := []struct {
		args  []string
		insts []instance.Instance
	}{
		{nil, tr.insts}, // no selection means all in -p mode
		{[]string{"-a"}, tr.insts},
		{[]string{"-g", "mta"}, tr.insts[1:]},
		{[]string{"-i", "postfix-b"}, []instance.Instance{tr.byName["postfix-b"]}},
		{[]string{"-i", "a"}, []instance.Instance{tr.byName["postfix-a"]}},
	}
	for _, action := range actions {
		for si, sel := range selections {
			for _, variant := range []string{"plain", "verbose", "failing"} {
				if variant != "plain" && si != 1 {
					continue
				}
				name := fmt.Sprintf("%s/%s/%s", strings.Join(action, "_"), strings.Join(sel.args, "_"), variant)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					work := t.TempDir()
					if variant == "failing" {
						// postfix-a fails the action (and the check that
						// replaces start on a disabled one: postfix-b).
						for _, f := range []string{"exit-postfix-a-" + action[0], "exit-postfix-b-check", "exit-postfix-c-" + action[0]} {
							if err := os.WriteFile(filepath.Join(work, f), []byte("3\n"), 0o644); err != nil {
								t.Fatal(err)
							}
						}
					}
					env := func(log string) []string {
						// MAIL_CONFIG and MAIL_LOGTAG already set: setenv(3) replaces
						// them where they stand.
						return []string{"PATH=/usr/bin:/bin", "MAIL_CONFIG=/etc/postfix", "MAIL_LOGTAG=stale", "LANG=C",
							"PFI_FAKE_LOG=" + filepath.Join(work, log), "PFI_FAKE_DIR=" + work}
					}
					args := append([]string(nil), sel.args...)
					if variant == "verbose" {
						args = append(args, "-v")
					}
					args = append(append(args, "-p"), action...)
					wantCode := tr.realPostmulti(t, env("real.log"), args...)

					var out bytes.Buffer
					code, err := Run(context.Background(), action[0], action[1:], sel.insts, Options{
						Verbose: variant == "verbose", LogTag: "postfix", Env: env("ours.log"), CommandDir: tr.bin,
						Stdout: &out, Stderr: &out,
					})
					if err != nil && !errors.Is(err, ErrNoMatchingInstances) {
						t.Fatalf("Run: %v", err)
					}
					real, _ := os.ReadFile(filepath.Join(work, "real.log"))
					ours, _ := os.ReadFile(filepath.Join(work, "ours.log"))
					// The logs name their own file; nothing else may differ.
					ours = bytes.ReplaceAll(ours, []byte("ours.log"), []byte("real.log"))
					if !bytes.Equal(real, ours) {
						t.Errorf("postfix calls differ from the real postmulti %q:\n--- real\n%s--- ours\n%s", args, real, ours)
					}
					if code != wantCode {
						t.Errorf("exit %d, real postmulti %q exits %d (err %v)", code, args, wantCode, err)
					}
					if (wantCode != 0 && len(real) == 0) != (err != nil) {
						t.Errorf("fatal error %v, but the real postmulti made %d bytes of calls and exited %d", err, len(real), wantCode)
					}
				})
			}
		}
	}
}
