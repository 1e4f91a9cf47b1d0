package instance

import (
	"fmt"
	"strings"
)

// TemplateName is the shipped template every instance unit instantiates.
const TemplateName = "postfix@.service"

// maxUnitName is systemd's UNIT_NAME_MAX.
const maxUnitName = 255

// UnitName returns the instance's systemd unit: postfix@-.service for the
// default instance, postfix@NAME.service for a named one (the name kept as it
// is, never escaped), and postfix@ESCAPED-PATH.service for a nameless
// secondary instance, addressed by its config directory as systemd-escape
// --path would write it. A name that is not a valid unit instance string is
// an error.
func (i Instance) UnitName() (string, error) {
	var inst string
	switch {
	case i.Default:
		inst = "-"
	case i.Name == "":
		if !strings.HasPrefix(i.ConfigDir, "/") {
			return "", fmt.Errorf("nameless instance has a relative config directory %q", i.ConfigDir)
		}
		inst = EscapePath(i.ConfigDir)
	default:
		if err := ValidateName(i.Name); err != nil {
			return "", err
		}
		inst = i.Name
	}
	name := "postfix@" + inst + ".service"
	if len(name) > maxUnitName {
		return "", fmt.Errorf("unit name for instance %q is longer than %d characters", i.Name, maxUnitName)
	}
	return name, nil
}

// ValidateName checks that name can stand, unescaped, as the instance part
// of a unit name: letters, digits and ":-_." only (systemd's instance
// characters less the backslash, which would read as an escape), not "-"
// alone (that is the default instance) and not starting with a dot.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("empty instance name")
	}
	if name == "-" {
		return fmt.Errorf("instance name %q is reserved for the default instance", name)
	}
	if name[0] == '.' {
		return fmt.Errorf("instance name %q starts with a dot", name)
	}
	for _, c := range []byte(name) {
		if !isAlnum(c) && !strings.ContainsRune(":-_.", rune(c)) {
			return fmt.Errorf("instance name %q contains %q, which a systemd unit name cannot carry", name, c)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// EscapePath escapes an absolute path as systemd-escape --path does
// (unit_name_path_escape): slashes trimmed and collapsed, "/" becomes "-",
// bytes other than letters, digits, ":_." become \xNN, a leading "." too;
// the root directory is "-".
func EscapePath(path string) string {
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	if len(parts) == 0 {
		return "-"
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			if isAlnum(c) || c == ':' || c == '_' || (c == '.' && !(i == 0 && j == 0)) {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
	}
	return b.String()
}
