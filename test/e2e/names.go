package e2e

import (
	"fmt"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// Names are what the walk-through expects on one Debian release: the
// units its instances run as, the package build installed there, the
// files that package adds. Everything release-dependent the steps check is
// computed here, once, from internal/unit's naming rules; no step spells a
// unit name of its own.
type Names struct {
	Release harness.Release
	// Debian13 is Debian 13's unit layout (trixie, sid): postfix.service is
	// the default instance, postfix@X runs /etc/postfix-X, and the default
	// instance starts after the secondaries (Debian's template has
	// Before=postfix.service). Otherwise Debian 12's: postfix@-.service,
	// postfix@NAME by multi_instance_name, postfix.service the umbrella.
	Debian13 bool
	// Flavour is the .deb build for the release (PKG_DEB_FLAVOURS of
	// scripts/build-packages.sh): deb12 or deb13.
	Flavour string
	// Diverted are the files the package must divert there, by the names
	// dpkg-divert --list shows.
	Diverted []string
	// NotDiverted are files of Debian's postfix the package must leave
	// alone there (dpkg-divert --list must not name them).
	NotDiverted []string
	// DropIns are the static drop-ins the package installs on Debian's
	// units.
	DropIns []string
}

// Classic are the names on Debian 12, which most tests boot.
var Classic = NamesFor(harness.Bookworm)

// NamesFor returns the names on release r.
func NamesFor(r harness.Release) Names {
	if r == harness.Bookworm {
		return Names{Release: r, Flavour: "deb12",
			Diverted:    []string{"/usr/sbin/postmulti", "/usr/lib/systemd/system-generators/postfix-instance-generator"},
			NotDiverted: []string{"postfix@.service", "postfix.service"},
			DropIns:     []string{TemplateDropIn},
		}
	}
	return Names{Release: r, Debian13: true, Flavour: "deb13",
		Diverted:    []string{"/usr/sbin/postmulti"},
		NotDiverted: []string{"postfix-instance-generator", "postfix@.service", "postfix.service"},
		DropIns:     []string{TemplateDropIn, "/usr/lib/systemd/system/postfix.service.d/20-postfix-instances.conf"},
	}
}

// Unit is the unit of the walk-through's instance name ("-" for the
// default instance), created with postmulti -I NAME in ConfigDir(NAME), as
// internal/unit's layout of the release names it.
func (n Names) Unit(name string) string {
	if name == "-" {
		return n.Default()
	}
	return n.UnitOf(Instance{Name: name})
}

// UnitOf is the unit of the secondary instance in, named or nameless, in
// its config directory (Instance.ConfigDir), as internal/unit's layout of
// the release names it.
func (n Names) UnitOf(in Instance) string {
	u, err := n.Layout().ForInstance(false, in.Name, in.ConfigDir())
	if err != nil {
		panic(fmt.Sprintf("e2e: instance %q in %s: %v", in.Name, in.ConfigDir(), err))
	}
	return u
}

// Layout is the release's unit layout.
func (n Names) Layout() unit.Layout {
	if n.Debian13 {
		return unit.Debian13
	}
	return unit.Classic
}

// Default is the default instance's unit.
func (n Names) Default() string { return n.Layout().Default() }

// All is the unit "systemctl start|stop|reload postfix" acts on, all
// instances: Debian 12's umbrella, Debian 13's default instance (its
// secondaries are PartOf= and ReloadPropagatedFrom= it).
func (n Names) All() string { return unit.Umbrella }

// Group is the group target of multi_instance_group group.
func (n Names) Group(group string) string {
	g, err := unit.ForGroup(group)
	if err != nil {
		panic(fmt.Sprintf("e2e: group %q: %v", group, err))
	}
	return g
}

// BootOrder lists the units of the default instance and of the enabled
// instances among ins (in start-list order) in the order they come up at
// boot: on Debian 12 the default instance first, as postmulti starts them;
// on Debian 13 the secondaries first and the default instance last, which
// Debian's template fixes (Before=postfix.service) and a drop-in cannot
// change.
func (n Names) BootOrder(ins []Instance) []string {
	var secondaries []string
	for _, in := range ins {
		if in.Enable {
			secondaries = append(secondaries, n.UnitOf(in))
		}
	}
	if n.Debian13 {
		return append(secondaries, n.Default())
	}
	return append([]string{n.Default()}, secondaries...)
}
