package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMirrorFromDeb822(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"debian 12 default", `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.example.org/debian-security
Suites: bookworm-security
Components: main
`, "http://deb.example.org/debian"},
		{"security first, deb-src skipped", `Types: deb
URIs: http://sec.example.org/debian-security
Suites: bookworm-security

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm

Types: deb deb-src
URIs: https://mirror.example.org/debian
Suites: bookworm
`, "https://mirror.example.org/debian"},
		{"disabled stanza", `Types: deb
Enabled: no
URIs: http://off.example.org/debian
Suites: bookworm

Types: deb
URIs: http://on.example.org/debian
Suites: bookworm
`, "http://on.example.org/debian"},
		{"only updates suite falls back", `Types: deb
URIs: http://up.example.org/debian
Suites: bookworm-updates
`, "http://up.example.org/debian"},
		{"continuation line", "Types: deb\nURIs:\n http://cont.example.org/debian\nSuites: bookworm\n", "http://cont.example.org/debian"},
		{"nothing usable", "Types: deb\nURIs: file:/srv/debian\nSuites: bookworm\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mirrorFromDeb822(tc.in); got != tc.want {
				t.Errorf("mirrorFromDeb822 = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMirrorFromOneLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "deb http://a.example.org/debian bookworm main\n", "http://a.example.org/debian"},
		{"options and security first", `# comment
deb http://a.example.org/debian-security bookworm-security main
deb-src http://src.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://b.example.org/debian bookworm main # trailing
`, "http://b.example.org/debian"},
		{"updates only", "deb http://u.example.org/debian bookworm-updates main\n", "http://u.example.org/debian"},
		{"none", "# deb http://x.example.org/debian bookworm main\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mirrorFromOneLine(tc.in); got != tc.want {
				t.Errorf("mirrorFromOneLine = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMirrorFiles(t *testing.T) {
	t.Setenv(MirrorEnv, "")
	dir := t.TempDir()
	if _, err := Mirror(dir); err == nil || !strings.Contains(err.Error(), MirrorEnv) {
		t.Errorf("Mirror of an empty directory: err = %v, want one naming %s", err, MirrorEnv)
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte("deb http://list.example.org/debian bookworm main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Mirror(dir); err != nil || got != "http://list.example.org/debian" {
		t.Errorf("Mirror = %q, %v; want the sources.list URI", got, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list.d", "debian.sources"), []byte("Types: deb\nURIs: http://d822.example.org/debian\nSuites: bookworm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Mirror(dir); err != nil || got != "http://d822.example.org/debian" {
		t.Errorf("Mirror = %q, %v; want debian.sources to win", got, err)
	}
	t.Setenv(MirrorEnv, "http://env.example.org/debian")
	if got, err := Mirror(dir); err != nil || got != "http://env.example.org/debian" {
		t.Errorf("Mirror = %q, %v; want $%s", got, err, MirrorEnv)
	}
}

func TestTreeKey(t *testing.T) {
	k := TreeKey()
	if len(k) != 16 || k != TreeKey() {
		t.Fatalf("TreeKey = %q: want a stable 16-hex-digit key", k)
	}
	saved := Packages
	t.Cleanup(func() { Packages = saved })
	Packages = append(append([]string(nil), saved...), "less")
	if TreeKey() == k {
		t.Errorf("TreeKey did not change with the package list")
	}
	Packages = append([]string{saved[len(saved)-1]}, saved[:len(saved)-1]...)
	if TreeKey() != k {
		t.Errorf("TreeKey depends on the order of the package list")
	}
}

func TestInstalledPackages(t *testing.T) {
	p := filepath.Join(t.TempDir(), "status")
	status := `Package: postfix
Status: install ok installed
Version: 3.7.11

Package: swaks
Status: deinstall ok config-files

Package: dbus
Status: install ok installed
`
	if err := os.WriteFile(p, []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := installedPackages(p)
	if err != nil {
		t.Fatal(err)
	}
	if !got["postfix"] || !got["dbus"] || got["swaks"] || len(got) != 2 {
		t.Errorf("installedPackages = %v, want postfix and dbus only", got)
	}
}
