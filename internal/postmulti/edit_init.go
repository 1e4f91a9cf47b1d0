package postmulti

// runInit is -e init: make the default main.cf hand "postfix start" etc.
// to postmulti (postfix-wrapper(5)) and enable multi-instance management,
// as postmulti-script's
//
//	postconf -e 'multi_instance_wrapper = ${command_directory}/postmulti -p --' 'multi_instance_enable = yes'
//
// Parameters that are not yet set are appended in this order (upstream's
// postconf appends them in hash-table order, which varies).
func (r *runner) runInit(st *editState) error {
	if err := setf(st.primary, "multi_instance_wrapper", "${command_directory}/postmulti -p --"); err != nil {
		return err
	}
	return setf(st.primary, "multi_instance_enable", "yes")
}
