package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

func TestCheckRelease(t *testing.T) {
	for _, r := range harness.Releases() {
		if _, ok := releases[string(r)]; !ok {
			t.Errorf("the demo does not know the harness's release %s", r)
		}
		if err := checkRelease(string(r)); err != nil {
			t.Errorf("checkRelease(%q) = %v, want nil: the harness builds it", r, err)
		}
	}
	if len(releases) != len(harness.Releases()) {
		t.Errorf("the demo knows %d releases, the harness %d", len(releases), len(harness.Releases()))
	}
	if err := checkRelease("woody"); err == nil || err.Error() != `unknown release "woody" (bookworm, trixie, sid)` {
		t.Errorf("checkRelease(woody) = %v", err)
	}
}

// TestInstallDepsDemo runs scripts/install-deps.sh demo, the demo's first
// step, against stand-ins for id, dpkg-query, apt-get, debconf-set-selections
// and go that pretend some packages are missing and record what would be
// run: this host cannot lose systemd-container to show the real thing.
func TestInstallDepsDemo(t *testing.T) {
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "install-deps.sh")
	for _, tc := range []struct {
		name, uid, missing, set string
		wantCode                int
		wantLog, wantOut        string
	}{
		{name: "fresh machine", uid: "0", missing: "systemd-container debootstrap util-linux", set: "demo",
			wantLog: "apt-get update -qq\n" +
				"apt-get install -y -qq --no-install-recommends debootstrap systemd-container util-linux\n" +
				"go mod download\n",
			wantOut: "install-deps.sh: installing debootstrap systemd-container util-linux (apt-get)\n" +
				"install-deps.sh: everything demo needs is present\n"},
		{name: "nothing missing", uid: "0", set: "demo",
			wantLog: "go mod download\n",
			wantOut: "install-deps.sh: everything demo needs is present\n"},
		{name: "only test packages missing", uid: "0", missing: "postfix zsh lintian", set: "demo",
			wantLog: "go mod download\n",
			wantOut: "install-deps.sh: everything demo needs is present\n"},
		{name: "not root", uid: "1000", missing: "systemd-container", set: "demo", wantCode: 1,
			wantOut: "install-deps.sh: must run as root (apt-get install)\n"},
		{name: "unknown set", uid: "0", set: "bogus", wantCode: 2,
			wantOut: "install-deps.sh: unknown set bogus (test, demo)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			log := filepath.Join(dir, "log")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			stubs := map[string]string{
				"id": "echo " + tc.uid,
				// dpkg-query -W -f=... PACKAGE
				"dpkg-query":             `for p in $MISSING; do [ "$p" = "$3" ] && exit 1; done; echo "install ok installed"`,
				"apt-get":                `echo "apt-get $*" >>"$LOG"`,
				"go":                     `echo "go $*" >>"$LOG"`,
				"debconf-set-selections": `cat >/dev/null; echo debconf >>"$LOG"`,
			}
			for name, body := range stubs {
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("bash", script, tc.set)
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "MISSING=" + tc.missing, "LOG=" + log}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			logged, _ := os.ReadFile(log)
			if code != tc.wantCode || string(out) != tc.wantOut || string(logged) != tc.wantLog {
				t.Errorf("install-deps.sh %s with %q missing, uid %s: exit %d, output:\n%s\nran:\n%s\nwant exit %d, output:\n%s\nran:\n%s",
					tc.set, tc.missing, tc.uid, code, out, logged, tc.wantCode, tc.wantOut, tc.wantLog)
			}
			if strings.Contains(string(logged), "debconf") {
				t.Errorf("the demo's install answered postfix's debconf questions, though it installs no postfix")
			}
		})
	}
}
