// Package unit holds the names of the systemd units that run Postfix
// instances, and the rules for making them: the one place that says what
// the templates, the drop-in, the umbrella unit, a group target and an
// instance's unit are called, which instance names and groups can stand in
// a unit name, how long a unit name may be, and how a config directory is
// escaped.
//
// The rules depend on the host's layout (Layout, DetectLayout): Classic on
// Debian 12 and RPM systems, where our template runs every instance;
// Debian13 on Debian 13 and sid, where Debian's own postfix.service is the
// default instance and Debian's postfix@X.service runs /etc/postfix-X.
//
// The generator (which writes the units), the life cycle (which starts
// them) and the postmulti shim (which refuses what the generator would
// skip) all name units through this package; package instance decides
// which instance gets which unit (instance.Resolve, with Layout.ForInstance).
//
//	Classic:
//	postfix@.service                      Template: the shipped template
//	postfix@-.service                     ForDefault: the default instance
//	postfix@NAME.service                  ForName: a named instance, the name unescaped
//	postfix@ESCAPED-PATH.service          ForPath: a nameless instance (systemd-escape --path)
//	postfix.service                       Umbrella: every enabled instance
//	Debian13:
//	postfix.service                       Debian13.Default(): the default instance (Debian's unit)
//	postfix@X.service                     DebianForConfigDir: /etc/postfix-X (Debian's template)
//	postfix-dir@ESCAPED-PATH.service      ForDir: any other config directory (DirTemplate)
//	Both:
//	UNIT.d/50-instance.conf               DropIn: the generated drop-in
//	postfix-GROUP.target                  ForGroup: one per multi_instance_group
//	QUEUE/pid/master.pid                  PIDFile: the master's PID file
package unit

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Names that are part of the public interface.
const (
	// Template is the shipped template every instance unit instantiates.
	Template = "postfix@.service"
	// Umbrella starts, stops and reloads all enabled instances; its
	// .wants/ directory is where boot-time wants go.
	Umbrella = "postfix.service"
	// DropInFile is the file name of the per-instance drop-in.
	DropInFile = "50-instance.conf"
	// Late is the oneshot service the generator writes when config
	// directories lie on file systems not mounted yet at boot: once they
	// are, it has systemd run the generators again (generator.Late).
	Late = "postfix-instances-late.service"
	// Report is the oneshot service the generator writes when it could not
	// log at boot: it logs the same messages once the journal runs
	// (generator.Report).
	Report = "postfix-instance-generator-report.service"
	// pidFileName is the master's PID file, relative to queue_directory.
	pidFileName = "pid/master.pid"
	// defaultInstance is the instance string of the default instance.
	defaultInstance = "-"
)

// maxName is the longest unit name this package makes: systemd's
// UNIT_NAME_MAX and the file-name limit NAME_MAX are both 255, and a unit
// name must also fit, as a directory name, with the longest suffix the
// generator appends to one (".wants", for a group target; an instance unit
// gets ".d"). One limit for every unit: 255 - len(".wants").
const maxName = 255 - len(".wants")

// ForDefault returns the default instance's unit, postfix@-.service.
func ForDefault() string { return instanceUnit(defaultInstance) }

// ForName returns the unit of the instance named name: postfix@NAME.service,
// the name kept as it is, never escaped. The error says why name cannot
// stand in a unit name (see validateName).
func ForName(name string) (string, error) {
	if err := validateName(name); err != nil {
		return "", err
	}
	return instanceUnit(name), nil
}

// ForPath returns the unit of a nameless instance, addressed by its config
// directory dir as systemd-escape --path writes it (after cleaning: dir
// must be absolute, without ".." elements).
func ForPath(dir string) (string, error) {
	return byPath(dir, "nameless instance", instanceUnit)
}

// byPath is ForPath's and ForDir's rule: the unit mk names after dir
// escaped as systemd-escape --path writes it; what names the instance in
// errors.
func byPath(dir, what string, mk func(string) string) (string, error) {
	if !strings.HasPrefix(dir, "/") {
		return "", fmt.Errorf("%s has a relative config directory %q", what, dir)
	}
	if hasDotDot(dir) {
		return "", fmt.Errorf("config directory %q contains a \"..\" element", dir)
	}
	u := mk(escapePath(dir))
	if len(u) > maxName {
		return "", fmt.Errorf("unit name %s for %s %s is longer than %d characters", u, what, dir, maxName)
	}
	return u, nil
}

// ForGroup returns the group target postfix-GROUP.target; the error says
// why group cannot stand in a unit name (see validateGroup).
func ForGroup(group string) (string, error) {
	if err := validateGroup(group); err != nil {
		return "", err
	}
	return groupTarget(group), nil
}

// DropIn returns the path of unit's generated drop-in, relative to a
// generator output directory: UNIT.d/50-instance.conf.
func DropIn(unit string) string { return unit + ".d/" + DropInFile }

// PIDFile returns the master's PID file for a queue directory.
func PIDFile(queueDir string) string { return path.Join(queueDir, pidFileName) }

func instanceUnit(inst string) string { return "postfix@" + inst + ".service" }
func groupTarget(group string) string { return "postfix-" + group + ".target" }

// validateName checks that name can stand, unescaped, as the instance part
// of a unit name: letters, digits and ":-_." only (systemd's instance
// characters less the backslash, which would read as an escape), not "-"
// alone (that is the default instance), not starting with a dot, and short
// enough (maxName). It does not require the "postfix-" prefix: upstream
// postmulti manages an instance named otherwise and enforces the prefix
// only when it assigns a name.
func validateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty instance name")
	case name == defaultInstance:
		return fmt.Errorf("instance name %q is reserved for the default instance", name)
	case name[0] == '.':
		return fmt.Errorf("instance name %q starts with a dot", name)
	}
	if i := badByte(name); i >= 0 {
		return fmt.Errorf("instance name %q contains %s, which a systemd unit name cannot carry", name, QuoteByte(name[i]))
	}
	if u := instanceUnit(name); len(u) > maxName {
		return fmt.Errorf("instance name %q is too long: its unit name would have %d characters, at most %d", name, len(u), maxName)
	}
	return nil
}

// validateGroup checks that group can stand, unescaped, in the group
// target postfix-GROUP.target: letters, digits and ":-_." only, and short
// enough (maxName).
func validateGroup(group string) error {
	if group == "" {
		return fmt.Errorf("empty instance group")
	}
	if i := badByte(group); i >= 0 {
		return fmt.Errorf("instance group %q contains %s, which a systemd unit name cannot carry", group, QuoteByte(group[i]))
	}
	if u := groupTarget(group); len(u) > maxName {
		return fmt.Errorf("instance group %q is too long: its target %s would have %d characters, at most %d", group, u, len(u), maxName)
	}
	return nil
}

// badByte returns the index of the first byte of s that cannot stand
// unescaped in a unit name's instance part, or -1.
func badByte(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune(":-_.", rune(c)) {
			return i
		}
	}
	return -1
}

// QuoteByte quotes one byte for a message: 'c' for printable ASCII,
// otherwise '\xNN' as systemd-escape writes it (a byte of a UTF-8
// sequence is not a character on its own: 'é' begins with '\xc3', never
// 'Ã').
func QuoteByte(c byte) string {
	if c > ' ' && c < 0x7f && c != '\'' && c != '\\' {
		return "'" + string(rune(c)) + "'"
	}
	switch c {
	case ' ':
		return "' '"
	case '\'':
		return `'\''`
	case '\\':
		return `'\\'`
	}
	return fmt.Sprintf(`'\x%02x'`, c)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// CheckPath says why the absolute path p cannot be written into a unit
// file setting (Environment=, PIDFile=, RequiresMountsFor=, …) as it is:
// a byte other than letters, digits and "/._-+:@,=~" (no white space,
// quotes, backslashes or "%" specifiers), or a ".." element. The error
// reads after the path: "contains …".
func CheckPath(p string) error {
	for i := 0; i < len(p); i++ {
		if !safePathByte(p[i]) {
			return fmt.Errorf("contains %s, which is not written into unit files", QuoteByte(p[i]))
		}
	}
	if hasDotDot(p) {
		return errors.New(`contains a ".." element`)
	}
	return nil
}

func safePathByte(c byte) bool {
	return isAlnum(c) || strings.IndexByte("/._-+:@,=~", c) >= 0
}

func hasDotDot(p string) bool {
	for rest := p; rest != ""; {
		var elem string
		elem, rest, _ = strings.Cut(rest, "/")
		if elem == ".." {
			return true
		}
	}
	return false
}

// escapePath escapes an absolute path as systemd-escape --path does
// (unit_name_path_escape): the path simplified ("." elements and repeated
// or trailing slashes dropped), "/" becomes "-", bytes other than letters,
// digits, ":_." become \xNN, a leading "." too; the root directory is "-".
// A path with ".." elements is not simplified (systemd-escape refuses it).
func escapePath(p string) string {
	parts := slicesDeleteDot(strings.FieldsFunc(p, func(r rune) bool { return r == '/' }))
	if len(parts) == 0 {
		return "-"
	}
	return escape(strings.Join(parts, "/"))
}

// escape escapes s as "systemd-escape STRING" does: "/" becomes "-";
// letters, digits, ":", "_" and "." (but a leading one) stay; every other
// byte is written \xNN.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case isAlnum(c) || c == ':' || c == '_' || (c == '.' && i > 0):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// DebianForConfigDir returns the unit Debian 13's own postfix@.service
// template runs the config directory dir as: postfix@X.service for
// /etc/postfix-X (X non-empty, without a slash, once dir is cleaned),
// and false for every other directory, which Debian 13 does not run.
//
// X is written as Debian's "postfix start" redirect computes it
// (postfix-script): "systemd-escape -p $config_directory", less
// everything up to the first "\x2d". That is the path escaping of X
// within the path, which differs from "systemd-escape X" only for a
// leading dot: /etc/postfix-.x is postfix@.x.service, not
// postfix@\x2ex.service (both mean /etc/postfix-.x to the template, but
// systemd would hold them as two units).
func DebianForConfigDir(dir string) (string, bool) {
	if !strings.HasPrefix(dir, "/") || hasDotDot(dir) {
		return "", false
	}
	suffix, ok := strings.CutPrefix(path.Clean(dir), "/etc/postfix-")
	if !ok || suffix == "" || strings.Contains(suffix, "/") {
		return "", false
	}
	x, ok := strings.CutPrefix(escapePath(path.Clean(dir)), `etc-postfix\x2d`)
	if !ok {
		return "", false
	}
	return instanceUnit(x), true
}

func slicesDeleteDot(parts []string) []string {
	out := parts[:0]
	for _, p := range parts {
		if p != "." {
			out = append(out, p)
		}
	}
	return out
}
