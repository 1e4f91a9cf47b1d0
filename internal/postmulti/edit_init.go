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
func (r *runner) runInit(st *editState) error {
	return setf(st.primary,
		maincf.Assignment{Name: "multi_instance_wrapper", Value: "${command_directory}/postmulti -p --"},
		maincf.Assignment{Name: "multi_instance_enable", Value: "yes"})
}
