package postmulti

import "github.com/postfix-systemd/postfix-instances/internal/maincf"

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
// the generator only stops wanting the instance's unit.
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
	return r.editInstanceMainCF(st, t.ConfigDir, func(f *maincf.File) error {
		return setf(f, maincf.Assignment{Name: "multi_instance_enable", Value: v})
	})
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
