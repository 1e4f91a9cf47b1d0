package postmulti

import "github.com/postfix-systemd/postfix-instances/internal/maincf"

// runInit is -e init: make the default main.cf hand "postfix start" etc.
// to postmulti (postfix-wrapper(5)) and enable multi-instance management,
// as postmulti-script's
//
//	postconf -e 'multi_instance_wrapper = ${command_directory}/postmulti -p --' 'multi_instance_enable = yes'
//
// in one pass over the file, as that one postconf run makes it. Parameters
// that are not yet set are appended in this order (upstream's postconf
// appends them in hash-table order, which varies).
//
// Of what instance.Resolve decides, init changes nothing (it reads
// neither parameter); but where the default instance was disabled, init
// is what enables it (-e enable requires init first), and is refused, as
// -e enable is, when the generator skips the default instance. Upstream's
// init reads no other instance, nor does this check.
func (r *runner) runInit(st *editState) error {
	if def := r.pc.set.Default(); !def.Enabled && def.Skip != nil {
		return unrunnable(def.ConfigDir, def.Skip)
	}
	return setf(st.primary,
		maincf.Assignment{Name: "multi_instance_wrapper", Value: "${command_directory}/postmulti -p --"},
		maincf.Assignment{Name: "multi_instance_enable", Value: "yes"})
}
