package postmulti

import "github.com/postfix-systemd/postfix-instances/internal/instance"

// What upstream's load_all_instances makes of the instance model: where it
// stops, and the list it keeps when it does not.

// sharedRefused returns the problem on which upstream stops at start-up,
// before it reads any instance, when it checks the shared directories
// (check_shared_dir_status): a missing one or two that are the same;
// false when there is none.
func sharedRefused(set *instance.Set) (instance.Problem, bool) {
	for _, p := range set.Problems[:set.Shared] {
		if p.Kind.Fatal() {
			return p, true
		}
	}
	return instance.Problem{}, false
}

// refused returns the first problem on which upstream itself stops, and
// false when it accepts the whole set.
func refused(set *instance.Set) (instance.Problem, bool) {
	for _, p := range set.Problems {
		if p.Kind.Fatal() {
			return p, true
		}
	}
	return instance.Problem{}, false
}

// postmultiView returns the instances upstream's -l -a lists, in its
// order, with its values: set.Instances, those that cannot run under
// systemd included (their problems are not upstream's, see
// instance.Kind.Fatal). When upstream would stop instead, it returns that
// problem as the error; so it does for a relative config directory that
// the model did not read (instance.Options.WorkDir unset), which upstream
// reads relative to its working directory.
func postmultiView(set *instance.Set) ([]instance.Instance, error) {
	if p, ok := refused(set); ok {
		return nil, p
	}
	read := make(map[int]bool, len(set.Instances))
	for _, in := range set.Instances {
		read[in.Position] = true
	}
	for _, p := range set.Problems {
		if p.Kind == instance.RelativePath && !read[p.Position] {
			return nil, p
		}
	}
	return append([]instance.Instance(nil), set.Instances...), nil
}
