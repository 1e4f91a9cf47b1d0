package postmulti

import (
	"fmt"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// EnableOptions are -e enable and -e disable's options.
type EnableOptions struct {
	Enable    bool
	Selection selection
}

// runEnable is -e enable / -e disable: set multi_instance_enable in the
// selected instance's main.cf (the default instance may be selected with
// "-i -"). Enabling an instance that cannot run under systemd is refused
// (refuseUnrunnable). Disabling is not checked: instance.Resolve does not
// read multi_instance_enable, so no instance can run or not run for it;
// the generator only stops wanting the instance's unit. On the Debian13
// layout, -e disable also warns of a "systemctl enable" link that keeps
// starting the instance at boot (warnSystemctlEnabled).
func (r *runner) runEnable(st *editState, o EnableOptions) error {
	t, err := r.loadTarget(st, o.Selection, false)
	if err != nil {
		return err
	}
	if err := r.checkInitialized(); err != nil {
		return err
	}
	v := "no"
	if o.Enable {
		v = "yes"
		if err := r.refuseUnrunnable(t); err != nil {
			return err
		}
	}
	err = r.editInstanceMainCF(st, t.ConfigDir, func(f *maincf.File) error {
		return setf(f, maincf.Assignment{Name: "multi_instance_enable", Value: v})
	})
	if err == nil && !o.Enable {
		r.warnSystemctlEnabled(t)
	}
	return err
}

// warnSystemctlEnabled warns, on the Debian13 layout, when a link in
// /etc/systemd/system/*.wants/ (or *.requires/), made by "systemctl enable
// postfix@X" as Debian 13 documents, pulls in the secondary instance t's
// unit: it starts at boot whatever multi_instance_enable says, and -e
// disable, like upstream, does not touch it. Upstream prints nothing
// here; the warning changes neither the exit status nor any file. The
// default instance is left out: it is Debian's postfix.service, which
// every other instance's unit is PartOf=, and disabling it would take
// them all out of boot.
func (r *runner) warnSystemctlEnabled(t *instance.Instance) {
	if r.pc.set.Layout != unit.Debian13 || t.Default {
		return
	}
	spec, err := t.Runnable()
	if err != nil {
		return
	}
	link, ok := unit.Wants(instance.DirFS(r.path("/")), unit.AdminDir)[spec.Unit]
	if !ok {
		return
	}
	who := t.Name
	if who == "" {
		who = t.ConfigDir
	}
	r.warn("", fmt.Sprintf(`%s: multi_instance_enable = no, but %s ("systemctl enable") still starts %s at boot; postmulti -e disable does not remove that link: run "systemctl disable %s"`,
		who, link, spec.Unit, spec.Unit))
}

// AssignOptions are -e assign's options.
type AssignOptions struct {
	Selection         selection
	NewName, NewGroup *string // -I and -G; "" clears
}

// runAssign is -e assign: give the selected instance a new name (-I, "-"
// for none) or group (-G, "-" for none). Nothing changes, and nothing is
// checked beyond the names, when both are already as asked. A name or
// group with which the instance could not run under systemd is refused
// (refuseUnrunnable), as is one that upstream finds unsafe.
func (r *runner) runAssign(st *editState, o AssignOptions) error {
	t, err := r.loadTarget(st, o.Selection, false)
	if err != nil {
		return err
	}
	if err := checkNames(o.NewName, o.NewGroup); err != nil {
		return err
	}
	fl, err := r.assignNames(t, o.NewName, o.NewGroup)
	if err != nil {
		return err
	}
	if fl == 0 {
		return nil
	}
	st.flags |= fl
	if err := r.checkInitialized(); err != nil {
		return err
	}
	if err := r.refuseUnrunnable(t); err != nil {
		return err
	}
	return r.setNames(st)
}
