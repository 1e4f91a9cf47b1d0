package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/postfix-systemd/postfix-instances/internal/environ"
)

// syslog priorities (syslog(3)) and the facility systemd's generators log with.
const (
	logErr     = 3
	logWarning = 4
	logNotice  = 5
	logInfo    = 6
	logDebug   = 7
	logDaemon  = 3 << 3
)

// kmsgBurst is how many records one writer may put into /dev/kmsg at a
// time: the kernel (printk_devkmsg=ratelimit, the default) lets each
// open /dev/kmsg write ten records per five seconds and drops the rest.
const kmsgBurst = 10

// summaryAfter is the number of messages from which a run ends with a
// summary line.
const summaryAfter = 10

// identifier is the syslog identifier of every message, in the kernel
// log and in the journal: journalctl -t postfix-instance-generator.
const identifier = "postfix-instance-generator"

// The log's ends, replaced by tests.
var (
	kmsgPath       = "/dev/kmsg"
	journalEnabled = journal.Enabled
	journalSend    = journal.Send
)

var levelNames = map[string]int{
	"emerg": 0, "alert": 1, "crit": 2, "err": 3,
	"warning": 4, "notice": 5, "info": 6, "debug": 7,
}

// destination is where a logger's messages go.
type destination int

const (
	toUnchosen destination = iota
	toStderr
	toKmsg
	toJournal
	toNowhere
)

// logger writes messages like systemd's generators do
// (log_setup_generator): to /dev/kmsg as
// "<PRI>postfix-instance-generator[PID]: message"; where there is no
// /dev/kmsg (containers), to the journal with SYSLOG_IDENTIFIER
// postfix-instance-generator; to standard error when neither is there,
// when standard error is a terminal, when SYSTEMD_LOG_TARGET=console says
// so, and always for --dry-run.
//
// The destination is chosen at the first message, not before: a run that
// goes well logs nothing at the default level, and opening /dev/kmsg is
// not free (the kernel looks for the oldest record of its log buffer).
type logger struct {
	max    int
	target string // SYSTEMD_LOG_TARGET, or "console" for --dry-run
	stderr io.Writer
	tty    bool // stderr is a terminal
	// journalStream: stderr is connected to the journal (a unit's), which
	// reads a "<PRI>" prefix as the line's priority.
	journalStream bool
	pid           int

	to   destination
	kmsg *os.File
	// fellBack: no kmsg and no journal, so messages went to stderr,
	// which is not a terminal: at boot, systemd makes that /dev/null.
	fellBack bool

	count int    // messages logged
	worst int    // the most severe level logged
	held  int    // messages not written to kmsg, the burst being spent
	last  string // the last one of them, with its level
	lastL int
}

func newLogger(env []string, stderr io.Writer, dryRun bool) *logger {
	l := &logger{max: logInfo, stderr: stderr, target: "auto", worst: logDebug}
	if v, ok := environ.Get(env, "SYSTEMD_LOG_LEVEL"); ok {
		if n, ok := levelNames[v]; ok {
			l.max = n
		} else if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 7 {
			l.max = n
		}
	}
	if v, ok := environ.Get(env, "SYSTEMD_LOG_TARGET"); ok {
		l.target = v
	}
	if dryRun {
		l.target = "console" // never the kernel log or the journal
	}
	if f, ok := stderr.(*os.File); ok {
		l.tty = isTerminal(f)
		l.journalStream, _ = journal.StderrIsJournalStream()
	}
	return l
}

// choose picks the destination at the first message.
func (l *logger) choose() {
	l.to = toStderr
	switch l.target {
	case "console", "console-prefixed":
		return
	case "null":
		l.to = toNowhere
		return
	case "kmsg":
		l.openKmsg()
	case "journal":
		l.openJournal()
	case "journal-or-kmsg":
		if !l.openJournal() {
			l.openKmsg()
		}
	default:
		if l.tty {
			return
		}
		if !l.openKmsg() {
			l.openJournal()
		}
	}
	l.fellBack = l.to == toStderr && !l.tty
}

func (l *logger) openKmsg() bool {
	f, err := os.OpenFile(kmsgPath, os.O_WRONLY|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	l.kmsg, l.pid, l.to = f, os.Getpid(), toKmsg
	return true
}

func (l *logger) openJournal() bool {
	if !journalEnabled() {
		return false
	}
	l.to = toJournal
	return true
}

// lost reports whether messages were written only to a standard error
// that is not a terminal, for want of a kernel log and a journal: at boot
// in a container, systemd connects a generator's standard error to
// /dev/null.
func (l *logger) lost() bool { return l.fellBack }

func (l *logger) logf(level int, format string, args ...any) {
	if level > l.max {
		return
	}
	if l.to == toUnchosen {
		l.choose()
	}
	msg := fmt.Sprintf(format, args...)
	l.count++
	l.worst = min(l.worst, level)
	if l.to == toKmsg && l.count >= kmsgBurst {
		// Held back: the close writes it, or a summary in its place.
		l.held++
		l.last, l.lastL = msg, level
		return
	}
	l.write(level, msg)
}

func (l *logger) write(level int, msg string) {
	switch l.to {
	case toNowhere:
		return
	case toKmsg:
		// One write is one kernel log record.
		if _, err := fmt.Fprintf(l.kmsg, "<%d>%s[%d]: %s\n", logDaemon|level, identifier, l.pid, msg); err == nil {
			return
		}
	case toJournal:
		if journalSend(msg, journal.Priority(level), map[string]string{"SYSLOG_IDENTIFIER": identifier, "SYSLOG_FACILITY": "3"}) == nil {
			return
		}
	}
	if l.journalStream {
		fmt.Fprintf(l.stderr, "<%d>%s\n", level, msg)
		return
	}
	fmt.Fprintf(l.stderr, "%s\n", msg)
}

// close ends the log: after summaryAfter or more messages, with a summary
// line; in the kernel log, that line takes the place of the messages held
// back beyond its burst, and says where to see them all.
func (l *logger) close() {
	switch {
	case l.held == 1:
		l.write(l.lastL, l.last)
	case l.held > 1:
		l.write(l.worst, fmt.Sprintf("%d messages in all; the last %d are not in the kernel log, which takes about %d at a time: run \"%s --dry-run\" to see them all.",
			l.count, l.held, kmsgBurst, identifier))
	case l.count >= summaryAfter:
		l.write(l.worst, fmt.Sprintf("%d messages in all.", l.count))
	}
	if l.kmsg != nil {
		l.kmsg.Close()
	}
}

func (l *logger) errorf(format string, args ...any) { l.logf(logErr, format, args...) }
func (l *logger) debugf(format string, args ...any) { l.logf(logDebug, format, args...) }

// isTerminal reports whether f is a terminal (tcgetattr succeeds).
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
