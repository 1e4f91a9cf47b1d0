package check

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// units reports enabled instances that systemd does not know and those
// whose generated drop-in is older than their main.cf.
func (c *checker) units() {
	if c.in.Systemd == nil && !isDir(c.fsys, "/run/systemd/system") {
		c.note("systemd is not running here (no /run/systemd/system): unit checks skipped")
		return
	}
	for _, x := range c.insts {
		if !x.Enabled {
			continue
		}
		unit, dropIn := x.spec.Unit, x.dropInPath()
		dst, derr := fs.Stat(c.fsys, fsPath(dropIn))
		known, stale, why := derr == nil, false, ""
		if c.in.Systemd != nil {
			st, err := c.in.Systemd.UnitStatus(c.ctx, unit)
			if err != nil {
				c.note("%s: cannot ask systemd about %s: %v", x.label, unit, err)
			} else {
				// A template instance always loads; the generator's
				// drop-in is what makes it this instance.
				known = st.LoadState == "loaded" && slices.Contains(st.DropInPaths, dropIn)
				if st.NeedDaemonReload {
					stale, why = true, "systemd says the unit files or main.cf changed since it loaded "+unit
				}
			}
		}
		line := paramLine(x.Instance, "multi_instance_enable")
		if !known {
			c.add(Finding{Severity: Error, Instance: x.label, File: x.spec.MainCF, Line: line, order: x.order,
				Check: CheckUnitUnknown,
				Message: fmt.Sprintf("enabled, but systemd does not know it as %s (no %s): the generator has not run since the instance was added, so nothing starts it",
					unit, dropIn),
				Fix: "systemctl daemon-reload"})
			continue
		}
		if derr == nil {
			if mst, err := fs.Stat(c.fsys, fsPath(x.spec.MainCF)); err == nil && mst.ModTime().After(dst.ModTime()) {
				stale = true
				why = fmt.Sprintf("main.cf (%s) is newer than the generated drop-in %s (%s)", stamp(mst.ModTime()), dropIn, stamp(dst.ModTime()))
			}
		}
		if stale {
			c.add(Finding{Severity: Warning, Instance: x.label, File: x.spec.MainCF, order: x.order,
				Check:   CheckDaemonReload,
				Message: why + ": " + unit + " may not match main.cf",
				Fix:     "systemctl daemon-reload"})
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func isDir(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, fsPath(name))
	return err == nil && st.IsDir()
}

// debian reports, on Debian 13 and later (where "systemctl enable
// postfix@X" decides what boots), secondary instances whose
// multi_instance_enable says otherwise.
func (c *checker) debian() {
	if debianRelease(c.fsys) < 13 {
		return
	}
	etcWants, genWants := wants(c.fsys, "/etc/systemd/system"), wants(c.fsys, generatorDir)
	for _, x := range c.insts {
		if x.Default {
			continue
		}
		cands := debianUnits(x)
		etc, gen := first(etcWants, cands), first(genWants, cands)
		line := paramLine(x.Instance, "multi_instance_enable")
		switch {
		case etc != "" && !x.Enabled:
			c.add(Finding{Severity: Warning, Instance: x.label, File: x.spec.MainCF, Line: line, order: x.order,
				Check:   CheckDebianEnable,
				Message: fmt.Sprintf("systemctl enable made it start at boot (%s), but multi_instance_enable = no", etc),
				Fix:     fmt.Sprintf("postmulti -i %s -e enable, or systemctl disable %s", x.label, path.Base(etc))})
		case etc == "" && gen == "" && x.Enabled:
			c.add(Finding{Severity: Warning, Instance: x.label, File: x.spec.MainCF, Line: line, order: x.order,
				Check:   CheckDebianEnable,
				Message: fmt.Sprintf("multi_instance_enable = yes, but nothing starts it at boot: Debian 13 starts only what \"systemctl enable\" enabled (%s)", strings.Join(cands, " or ")),
				Fix:     fmt.Sprintf("systemctl enable %s, or postmulti -i %s -e disable", cands[len(cands)-1], x.label)})
		}
	}
}

// debianUnits are the units that run x on Debian 13: ours, and Debian's
// own postfix@X.service for /etc/postfix-X.
func debianUnits(x *inst) []string {
	out := []string{x.spec.Unit}
	if u, ok := unit.DebianForConfigDir(x.spec.ConfigDir); ok && !slices.Contains(out, u) {
		out = append(out, u)
	}
	return out
}

// wants maps each unit that a DIR/*.wants/ or DIR/*.requires/ link
// pulls in to its first such link.
func wants(fsys fs.FS, dir string) map[string]string {
	out := map[string]string{}
	ents, err := fs.ReadDir(fsys, fsPath(dir))
	if err != nil {
		return out
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".wants") && !strings.HasSuffix(e.Name(), ".requires") {
			continue
		}
		sub := path.Join(dir, e.Name())
		links, err := fs.ReadDir(fsys, fsPath(sub))
		if err != nil {
			continue
		}
		for _, l := range links {
			if _, ok := out[l.Name()]; !ok {
				out[l.Name()] = path.Join(sub, l.Name())
			}
		}
	}
	return out
}

// first returns the link of the first of units that m has, "" when none.
func first(m map[string]string, units []string) string {
	for _, u := range units {
		if l, ok := m[u]; ok {
			return l
		}
	}
	return ""
}

// debianRelease is the Debian major release of the host (/etc/os-release,
// /etc/debian_version): 0 when it is not Debian or unknown; testing and
// unstable ("trixie/sid") count as 13 and later.
func debianRelease(fsys fs.FS) int {
	data, err := readText(fsys, "/etc/os-release")
	if err == nil {
		id, version := "", ""
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"'`)
			switch k {
			case "ID":
				id = v
			case "VERSION_ID":
				version = v
			}
		}
		if id != "debian" {
			return 0
		}
		if n, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0]); err == nil {
			return n
		}
	}
	data, err = readText(fsys, "/etc/debian_version")
	if err != nil {
		return 0
	}
	v := strings.TrimSpace(string(data))
	if n, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0]); err == nil {
		return n
	}
	if strings.HasSuffix(v, "/sid") && v != "bookworm/sid" && v != "bullseye/sid" {
		return 13
	}
	return 0
}
