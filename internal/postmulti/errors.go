package postmulti

import (
	"errors"
	"fmt"
	"io"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// fatalError is upstream's msg_fatal(): "PROG: fatal: MSG" and exit 1.
// pre, when set, is a line printed before it verbatim (getopt's own
// diagnostic before the usage message). tag overrides the program name,
// for messages upstream's helper script logs under its own tag.
type fatalError struct {
	pre string
	tag string
	msg string
}

func (e *fatalError) Error() string { return e.msg }

func fatalf(format string, args ...any) error {
	return &fatalError{msg: fmt.Sprintf(format, args...)}
}

// scriptFatalf is a fatal error that upstream reports from
// postmulti-script, tagged "$MAIL_LOGTAG/postmulti-script".
func scriptFatalf(tag, format string, args ...any) error {
	return &fatalError{tag: tag, msg: fmt.Sprintf(format, args...)}
}

// exitError ends the program with a status and no message: the status of
// an iteration, or of a helper command that reported its own error.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode maps an error to the process exit status and prints it the
// way upstream does, except that it always goes to stderr. This is the
// one place where errors become exit codes.
func exitCode(prog string, stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var fe *fatalError
	if errors.As(err, &fe) {
		if fe.pre != "" {
			fmt.Fprintln(stderr, fe.pre)
		}
		tag := prog
		if fe.tag != "" {
			tag = fe.tag
		}
		fmt.Fprintf(stderr, "%s: fatal: %s\n", tag, fe.msg)
		return 1
	}
	fmt.Fprintf(stderr, "%s: fatal: %v\n", prog, err)
	return 1
}

// strerror renders an errno like the C library's strerror(3).
func strerror(err error) string { return instance.Strerror(err) }
