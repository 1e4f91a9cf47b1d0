package postmulti

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// What upstream's load_all_instances makes of the instance model: where it
// stops, in its words, and the list it keeps when it does not.

// upstreamText is the message (without "postmulti: fatal: ") with which
// upstream stops at p, were it the first problem it met; "" for the
// problems upstream does not see (instance.Kind.Fatal: the instance only
// cannot run under systemd).
func upstreamText(p instance.Problem) string {
	switch p.Kind {
	case instance.Unreadable:
		if !p.Default {
			// Whatever stops the postconf run that reads the instance.
			return "Failed to obtain all required " + p.ConfigDir + "/main.cf parameters"
		}
		var ee *maincf.ExpandError
		switch {
		case p.Cause == nil:
		case p.Param == "": // main.cf itself (mail_conf_read)
			return postfixText(p.Cause)
		case errors.As(p.Cause, &ee): // mail_conf_eval
			return ee.MailDictFatal()
		default:
			return fmt.Sprintf("%s/main.cf: %v", strings.TrimSuffix(p.ConfigDir, "/"), p.Cause)
		}
	case instance.BadValue:
		if p.Default {
			return fmt.Sprintf("bad boolean configuration: %s = %s", p.Param, p.Value)
		}
		return fmt.Sprintf("Unexpected %s/main.cf entry: %s = %s", p.ConfigDir, p.Param, p.Value)
	case instance.Conflict:
		return fmt.Sprintf("instance %s, %s=%s conflicts with instance %s, %s=%s", p.ConfigDir, p.Param, p.Value, p.OwnerDir, p.OwnerParam, p.Value)
	case instance.BadDirectory:
		if p.Cause != nil {
			return fmt.Sprintf("%s = '%s': directory not found: %s", p.Param, p.Value, strerror(p.Cause))
		}
		return fmt.Sprintf("%s = '%s' is not a directory", p.Param, p.Value)
	}
	return ""
}

// postfixText words err as Postfix does: "open FILE: Strerror" for a
// file that cannot be read, the error's own text otherwise.
func postfixText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + " " + pe.Path + ": " + strerror(pe.Err)
	}
	return err.Error()
}

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
