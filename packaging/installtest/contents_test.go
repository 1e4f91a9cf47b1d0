package installtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// TestPackageContents builds the packages for this machine's architecture
// (the .deb in both flavours, deb12 and deb13) and checks their file lists,
// modes, versions, relations and maintainer scripts against what
// packaging/README.md promises. It needs dpkg-deb and rpm
// (scripts/packaging-check.sh installs rpm), not a container.
func TestPackageContents(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not building packages")
	}
	for _, tool := range []string{"dpkg-deb", "rpm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to inspect the packages (apt-get install dpkg rpm): %v", tool, err)
		}
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "build-packages.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PKG_DIST="+dist, "PKG_ARCHES="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build-packages.sh: %v\n%s", err, out)
	}
	deb12, _ := filepath.Glob(filepath.Join(dist, "*+deb12_*.deb"))
	deb13, _ := filepath.Glob(filepath.Join(dist, "*+deb13_*.deb"))
	all, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(dist, "*.rpm"))
	if len(deb12) != 1 || len(deb13) != 1 || len(all) != 2 || len(rpms) != 1 {
		t.Fatalf("want a +deb12 and a +deb13 .deb and one .rpm in %s, got %v %v", dist, all, rpms)
	}

	// The .rpm's only static unit is the template (postfix.service is
	// Fedora's; postfix-dir@.service is Debian 13's).
	units := []string{"/usr/lib/systemd/system/postfix@.service"}
	debDropins, _ := filepath.Glob(filepath.Join(root, "units", "debian", "postfix@.service.d", "*.conf"))
	if len(debDropins) == 0 {
		t.Fatal("units/debian/postfix@.service.d/ holds no drop-in")
	}
	common := []string{
		"/usr/lib/systemd/system-generators/postfix-instance-generator 0755",
		"/usr/share/man/man8/postfix-instance-generator.8.gz 0644",
		"/usr/share/bash-completion/completions/postmulti 0644",
		"/usr/share/fish/vendor_completions.d/postmulti.fish 0644",
		"/usr/share/doc/postfix-instances/README.md 0644",
		"/usr/bin/postfix-instances 0755",
		"/usr/share/man/man1/postfix-instances.1.gz 0644",
		"/usr/share/man/man1/postfix-instances-list.1.gz 0644",
		"/usr/share/man/man1/postfix-instances-status.1.gz 0644",
		"/usr/share/man/man1/postfix-instances-check.1.gz 0644",
		"/usr/share/bash-completion/completions/postfix-instances 0644",
		"/usr/share/fish/vendor_completions.d/postfix-instances.fish 0644",
	}

	// Both .deb flavours: the same programs, pages and completions.
	debCommon := append(slices.Clone(common),
		"/usr/sbin/postmulti 0755",
		"/usr/share/man/man1/postmulti.1.gz 0644",
		"/usr/share/zsh/vendor-completions/_postmulti 0644",
		"/usr/share/zsh/vendor-completions/_postfix-instances 0644",
		"/usr/share/doc/postfix-instances/changelog.gz 0644",
		"/usr/share/doc/postfix-instances/copyright 0644",
		"/usr/share/lintian/overrides/postfix-instances 0644",
	)
	// deb12 installs the template as a drop-in on Debian 12's, with
	// units/debian/'s drop-ins beside it.
	want12 := append(slices.Clone(debCommon),
		"/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf 0644")
	for _, d := range debDropins {
		want12 = append(want12, "/usr/lib/systemd/system/postfix@.service.d/"+filepath.Base(d)+" 0644")
	}
	// deb13: drop-ins on Debian 13's two units and our postfix-dir@; not
	// the Debian 12 drop-ins (configure-instance.sh refuses arguments on
	// 13, Debian's template there is not ours to replace).
	want13 := append(slices.Clone(debCommon),
		"/usr/lib/systemd/system/postfix-dir@.service 0644",
		"/usr/lib/systemd/system/postfix.service.d/20-postfix-instances.conf 0644",
		"/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf 0644")
	stageSum := map[string]string{
		"deb12/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf": "units/postfix@.service",
		"deb13/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf": "units/debian13/postfix@.service.d/20-postfix-instances.conf",
		"deb13/usr/lib/systemd/system/postfix.service.d/20-postfix-instances.conf":  "units/debian13/postfix.service.d/20-postfix-instances.conf",
		"deb13/usr/lib/systemd/system/postfix-dir@.service":                         "units/postfix-dir@.service",
	}
	for _, c := range []struct {
		flavour, deb, depends string
		want                  []string
	}{
		{"deb12", deb12[0], "Depends: postfix (>= 3.7), postfix (<< 3.9.1-7~)\n", want12},
		{"deb13", deb13[0], "Depends: postfix (>= 3.9.1-7~)\n", want13},
	} {
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(output(t, "dpkg-deb", "-c", c.deb)), "\n") {
			f := strings.Fields(line)
			if strings.HasPrefix(f[0], "d") {
				continue
			}
			got = append(got, strings.TrimPrefix(f[5], ".")+" "+modeOf(f[0]))
			if f[1] != "root/root" {
				t.Errorf("%s: %s is owned by %s, want root/root", c.flavour, f[5], f[1])
			}
		}
		sameSet(t, c.flavour+" .deb files", got, c.want)
		control := output(t, "dpkg-deb", "-f", c.deb, "Package", "Version", "Depends", "Section")
		for _, want := range []string{"Package: postfix-instances\n", c.depends, "Section: mail\n"} {
			if !strings.Contains(control, want) {
				t.Errorf("%s .deb control lacks %q:\n%s", c.flavour, want, control)
			}
		}
		version := strings.TrimSpace(output(t, "dpkg-deb", "-f", c.deb, "Version"))
		if !strings.HasSuffix(version, "+"+c.flavour) {
			t.Errorf("%s .deb has version %s, want VERSION+%s", c.flavour, version, c.flavour)
		}
		cl := output(t, "sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/postfix-instances/changelog.gz | zcat | head -1`, "sh", c.deb)
		if !strings.HasPrefix(cl, "postfix-instances ("+version+") ") {
			t.Errorf("%s .deb changelog does not start with its version %s: %s", c.flavour, version, cl)
		}
		data := t.TempDir()
		output(t, "dpkg-deb", "-x", c.deb, data)
		for path, src := range stageSum {
			flavour, path, _ := strings.Cut(path, "/")
			if flavour != c.flavour {
				continue
			}
			got, err := os.ReadFile(filepath.Join(data, path))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(root, src))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("%s .deb: /%s differs from %s", c.flavour, path, src)
			}
		}
		ctrl := t.TempDir()
		output(t, "dpkg-deb", "--control", c.deb, ctrl)
		for _, script := range []string{"preinst", "postinst", "postrm"} {
			want, err := os.ReadFile(filepath.Join(root, "packaging", "deb", script))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(ctrl, script))
			if err != nil {
				t.Fatalf("%s .deb has no %s: %v", c.flavour, script, err)
			}
			if string(got) != string(want) {
				t.Errorf("%s .deb %s differs from packaging/deb/%s", c.flavour, script, script)
			}
			if st, _ := os.Stat(filepath.Join(ctrl, script)); st.Mode().Perm() != 0o755 {
				t.Errorf("%s .deb %s has mode %v, want 0755", c.flavour, script, st.Mode().Perm())
			}
		}
	}
	if out, err := exec.Command("dpkg", "--compare-versions",
		strings.TrimSpace(output(t, "dpkg-deb", "-f", deb12[0], "Version")), "lt",
		strings.TrimSpace(output(t, "dpkg-deb", "-f", deb13[0], "Version"))).CombinedOutput(); err != nil {
		t.Errorf("the deb13 build does not sort above the deb12 build (apt would not upgrade on dist-upgrade): %v %s", err, out)
	}

	wantRPM := append(append(slices.Clone(common), withMode(units, "0644")...),
		"/usr/libexec/postfix-instances/postmulti 0755",
		"/usr/share/postfix-instances/man/man1/postmulti.1.gz 0644",
		"/usr/lib/systemd/system/postfix.service.d/50-postfix-instances-umbrella.conf 0644",
		"/usr/lib/systemd/system/postfix@-.service.d/50-fedora.conf 0644",
		"/usr/share/zsh/site-functions/_postmulti 0644",
		"/usr/share/zsh/site-functions/_postfix-instances 0644",
		"/usr/share/licenses/postfix-instances/copyright 0644",
		// Directories RPM must own (it does not create parents implicitly).
		"/usr/libexec/postfix-instances dir",
		"/usr/share/postfix-instances dir",
		"/usr/share/postfix-instances/man dir",
		"/usr/share/postfix-instances/man/man1 dir",
		"/usr/lib/systemd/system/postfix.service.d dir",
		"/usr/lib/systemd/system/postfix@-.service.d dir",
	)
	var gotRPM []string
	for _, line := range strings.Split(strings.TrimSpace(output(t, "rpm", "-qp", "--qf", "[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]", rpms[0])), "\n") {
		f := strings.Fields(line)
		mode := modeOf(f[0])
		if strings.HasPrefix(f[0], "d") {
			mode = "dir"
		}
		gotRPM = append(gotRPM, f[2]+" "+mode)
		if f[1] != "root:root" {
			t.Errorf(".rpm: %s is owned by %s, want root:root", f[2], f[1])
		}
	}
	sameSet(t, ".rpm files", gotRPM, wantRPM)

	// Relations and scripts of the .rpm.
	if req := output(t, "rpm", "-qp", "--requires", rpms[0]); !strings.Contains(req, "postfix >= 3.7") {
		t.Errorf(".rpm does not require postfix >= 3.7:\n%s", req)
	}
	scripts := output(t, "rpm", "-qp", "--scripts", rpms[0])
	for _, want := range []string{"preinstall scriptlet", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", "divert /usr/sbin/postmulti"} {
		if !strings.Contains(scripts, want) {
			t.Errorf(".rpm scripts lack %q", want)
		}
	}
	if cl := output(t, "rpm", "-qp", "--changelog", rpms[0]); !strings.Contains(cl, "-1\n") {
		t.Errorf(".rpm changelog's newest entry is not VERSION-RELEASE:\n%s", cl)
	}
}

func withMode(paths []string, mode string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p + " " + mode
	}
	return out
}

// modeOf turns "-rwxr-xr-x" into "0755".
func modeOf(perms string) string {
	var m int
	for i, c := range perms[1:10] {
		if c != '-' {
			m |= 1 << (8 - i)
		}
	}
	return fmt.Sprintf("%04o", m)
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: unexpected %s", what, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: missing %s", what, w)
		}
	}
}
