package generator

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// Add puts es into t, keeping its entries sorted by path.
func (t *Tree) Add(es ...Entry) {
	t.Entries = append(t.Entries, es...)
	slices.SortStableFunc(t.Entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}

// Late returns unit.Late and the umbrella's want of it, for the config
// directories dirs, whose main.cf could not be read because the file
// system that holds them is not mounted yet (generators run before local
// file systems other than / and /usr are mounted). The unit waits for
// those mounts (RequiresMountsFor=), then has systemd run the generators
// again, which now read those instances and write their units under their
// own names, and starts the umbrella again, which pulls in the instances
// it now wants. source is the default main.cf, which lists the dirs.
func Late(dirs []string, source string) ([]Entry, error) {
	for _, d := range dirs {
		if err := unitWord(d); err != nil {
			return nil, fmt.Errorf("cannot wait for the mount of %s: %w", d, err)
		}
	}
	b := append([]byte(nil), Header+"[Unit]\n"...)
	b = setting(b, "Description", "Postfix instances on file systems mounted after the generators ran")
	b = setting(b, "Documentation", documentation)
	b = setting(b, "SourcePath", source)
	b = setting(b, "RequiresMountsFor", strings.Join(dirs, " "))
	b = append(b, "\n[Service]\nType=oneshot\n"...)
	// One command, so that it runs to its end although the reload removes
	// this unit's file (the generator no longer needs it).
	b = setting(b, "ExecStart", `/bin/sh -c "systemctl daemon-reload && systemctl start --no-block `+unit.Umbrella+`"`)
	return []Entry{
		{Path: unit.Late, Data: b},
		{Path: unit.Umbrella + ".wants/" + unit.Late, Target: "../" + unit.Late},
	}, nil
}

// Report returns unit.Report and the umbrella's want of it: a service that
// runs argv (the generator with --dry-run) once the journal runs, its
// standard output discarded and its standard error, the generator's
// messages, in the journal under the generator's identifier. It is for a
// boot where the generator had neither /dev/kmsg nor the journal to log
// to (a container: systemd connects a generator's standard error to
// /dev/null). source is the default main.cf.
func Report(argv []string, source string) ([]Entry, error) {
	for _, a := range argv {
		if err := unitWord(a); err != nil {
			return nil, fmt.Errorf("cannot run %q from a unit: %w", a, err)
		}
	}
	b := append([]byte(nil), Header+"[Unit]\n"...)
	b = setting(b, "Description", "Log what postfix-instance-generator could not log at boot")
	b = setting(b, "Documentation", documentation)
	b = setting(b, "SourcePath", source)
	// Done before unit.Late's daemon-reload, which removes this unit's file.
	b = setting(b, "Before", unit.Late)
	b = append(b, "\n[Service]\nType=oneshot\n"...)
	b = setting(b, "ExecStart", strings.Join(argv, " "))
	b = append(b, "StandardOutput=null\nStandardError=journal\nSyslogIdentifier=postfix-instance-generator\n"...)
	// Exit status 1 is what it reports: a skipped instance, logged.
	b = append(b, "SuccessExitStatus=1\n"...)
	return []Entry{
		{Path: unit.Report, Data: b},
		{Path: unit.Umbrella + ".wants/" + unit.Report, Target: "../" + unit.Report},
	}, nil
}

// unitWord checks that s can stand unquoted as one word of a unit
// setting: an absolute path or an option, without white space, quotes,
// backslashes, specifiers or variables.
func unitWord(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\n\r\"'\\%$;") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("it holds characters a unit file would read differently")
	}
	if !strings.HasPrefix(s, "-") && !path.IsAbs(s) {
		return fmt.Errorf("not an absolute path")
	}
	return nil
}
