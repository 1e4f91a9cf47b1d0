package check

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
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

// debian reports, on the Debian13 layout (Set.Layout: Debian 13's
// postfix package, where "systemctl enable postfix@X" also decides what
// boots), secondary instances whose multi_instance_enable says otherwise.
func (c *checker) debian() {
	if c.in.Set == nil || c.in.Set.Layout != unit.Debian13 {
		return
	}
	// The other way round (multi_instance_enable = yes, no link in
	// /etc) is no mismatch: postfix-instance-generator(8) links every
	// enabled instance at boot and on daemon-reload; until it has,
	// units() reports the instance as unknown to systemd.
	etcWants := unit.Wants(c.fsys, unit.AdminDir)
	for _, x := range c.insts {
		if x.Default {
			continue
		}
		u := x.spec.Unit
		etc := etcWants[u]
		line := paramLine(x.Instance, "multi_instance_enable")
		if etc != "" && !x.Enabled {
			c.add(Finding{Severity: Warning, Instance: x.label, File: x.spec.MainCF, Line: line, order: x.order,
				Check:   CheckDebianEnable,
				Message: fmt.Sprintf("systemctl enable made it start at boot (%s), but multi_instance_enable = no", etc),
				Fix:     fmt.Sprintf("postmulti -i %s -e enable, or systemctl disable %s", x.label, path.Base(etc))})
		}
	}
}
