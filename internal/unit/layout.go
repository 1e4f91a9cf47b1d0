package unit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// Layout is the set of naming rules in force on a host: which unit runs
// which instance. It follows from the postfix package installed there
// (DetectLayout), and every part reads it from the instance model
// (instance.Set.Layout), never detecting it again.
//
//	                 Classic (Debian 12, RPM)      Debian13 (Debian 13, sid)
//	default          postfix@-.service             postfix.service (Debian's unit)
//	/etc/postfix-X   postfix@NAME.service          postfix@X.service (Debian's template)
//	other, named     postfix@NAME.service          postfix-dir@ESCAPED-PATH.service
//	nameless         postfix@ESCAPED-PATH.service  as the two rows above, by path
//	group            postfix-GROUP.target          postfix-GROUP.target
//
// On Debian13, X is the suffix of the config directory as Debian's own
// "postfix start" redirect and "systemctl enable postfix@X" compute it
// (DebianForConfigDir), whatever multi_instance_name says: one instance,
// one unit name. Instances Debian's template cannot run (any config
// directory other than /etc/postfix-X) run as our own template
// postfix-dir@.service, addressed by their escaped config directory.
type Layout uint8

const (
	// Classic is Debian 12's and the RPM packages' layout: our template
	// postfix@.service runs every instance, postfix.service is an umbrella.
	Classic Layout = iota
	// Debian13 is Debian 13's and sid's: Debian's postfix.service is the
	// default instance, Debian's postfix@.service runs /etc/postfix-X, our
	// postfix-dir@.service every other secondary instance.
	Debian13
)

// DirTemplate is our own template for the instances of the Debian13
// layout that Debian's postfix@.service cannot run (config directories
// other than /etc/postfix-X); its instance string is the escaped config
// directory (systemd-escape --path), its MAIL_CONFIG the generated
// drop-in's.
const DirTemplate = "postfix-dir@.service"

// SystemUnitDir is where distribution packages install units on Debian
// 13 and sid (merged /usr): Debian's postfix.service and postfix@.service,
// and our postfix-dir@.service.
const SystemUnitDir = "/usr/lib/systemd/system"

// ClassicUnitDir is where the Classic layout's template postfix@.service
// is installed (Debian 12 packages install units under /lib).
const ClassicUnitDir = "/lib/systemd/system"

// maxPostfixUnit is how much of the installed postfix.service
// DetectLayout reads: Debian's is 3 KB.
const maxPostfixUnit = 64 << 10

// DetectLayout tells the layout from the installed postfix package's
// postfix.service below fsys (rooted at "/"): Debian13 when
// usr/lib/systemd/system/postfix.service (or lib/systemd/system/, where
// /usr is not merged) runs "postfix debian-systemd-start" in an
// ExecStart= line, which only Debian 13's and later units do; Classic
// otherwise, also when there is no such file (RPM, no postfix installed,
// a test tree without units).
func DetectLayout(fsys fs.FS) Layout {
	for _, name := range []string{"usr/lib/systemd/system/" + Umbrella, "lib/systemd/system/" + Umbrella} {
		f, err := fsys.Open(name)
		if err != nil {
			continue
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			f.Close() // never read a FIFO at boot
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, maxPostfixUnit))
		f.Close()
		if err != nil {
			continue
		}
		if runsDebianStart(data) {
			return Debian13
		}
		return Classic
	}
	return Classic
}

// runsDebianStart reports whether a unit file has an ExecStart= line that
// runs "debian-systemd-start".
func runsDebianStart(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxPostfixUnit)
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && strings.TrimSpace(key) == "ExecStart" && strings.Contains(value, "debian-systemd-start") {
			return true
		}
	}
	return false
}

func (l Layout) String() string {
	switch l {
	case Classic:
		return "classic"
	case Debian13:
		return "debian13"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Default returns the default instance's unit: postfix@-.service
// (Classic), postfix.service (Debian13).
func (l Layout) Default() string {
	if l == Debian13 {
		return Umbrella
	}
	return ForDefault()
}

// ForInstance returns the unit of one instance: the default one
// (isDefault), or a secondary one with its multi_instance_name name (""
// for a nameless instance) and its cleaned absolute config directory dir.
// The error says why the instance has no unit. A name is checked on both
// layouts (validateName: it stands in messages and descriptions), even
// where the unit is named by the path.
func (l Layout) ForInstance(isDefault bool, name, dir string) (string, error) {
	if isDefault {
		return l.Default(), nil
	}
	if name != "" {
		if err := validateName(name); err != nil {
			return "", err
		}
	}
	if l != Debian13 {
		if name == "" {
			return ForPath(dir)
		}
		return instanceUnit(name), nil
	}
	if u, ok := DebianForConfigDir(dir); ok {
		if len(u) > maxName {
			return "", fmt.Errorf("unit name %s for %s is longer than %d characters", u, dir, maxName)
		}
		return u, nil
	}
	return ForDir(dir)
}

// ForDir returns the unit of our template postfix-dir@.service (the
// Debian13 layout) for the config directory dir: its escaped path, as
// systemd-escape --path writes it (after cleaning: dir must be absolute,
// without ".." elements).
func ForDir(dir string) (string, error) {
	return byPath(dir, "instance", dirUnit)
}

func dirUnit(inst string) string { return "postfix-dir@" + inst + ".service" }

// TemplateOf returns the unit file that unit u instantiates: the template
// "PREFIX@.service" of an instance unit ("postfix@out.service" →
// "postfix@.service", "postfix-dir@srv-x.service" →
// "postfix-dir@.service"), u itself for a unit that is no template's
// instance (postfix.service).
func TemplateOf(u string) string {
	prefix, rest, ok := strings.Cut(u, "@")
	if !ok {
		return u
	}
	dot := strings.LastIndexByte(rest, '.')
	if dot < 0 {
		return u
	}
	return prefix + "@" + rest[dot:]
}

// LinkTarget returns where a .wants/ symlink for unit u points, as
// systemctl enable and systemd's own generators point them: at the unit
// file u instantiates, in the directory the layout's packages install it
// (ClassicUnitDir, SystemUnitDir).
func (l Layout) LinkTarget(u string) string {
	dir := ClassicUnitDir
	if l == Debian13 {
		dir = SystemUnitDir
	}
	return dir + "/" + TemplateOf(u)
}

// GroupMember reports whether an instance's unit joins its group's
// target (PartOf=, Before=, wanted by it). On Debian13 the default
// instance does not: Debian's postfix.service is what every secondary is
// PartOf= and Before=, so a group target that the default instance were
// part of would stop every instance with its group, and its
// Before=postfix.service would make an ordering cycle.
func (l Layout) GroupMember(isDefault bool) bool { return !(l == Debian13 && isDefault) }
