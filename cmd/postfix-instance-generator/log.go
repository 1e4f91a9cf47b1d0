package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
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

// kmsgPath is the kernel log device; tests point it elsewhere.
var kmsgPath = "/dev/kmsg"

var levelNames = map[string]int{
	"emerg": 0, "alert": 1, "crit": 2, "err": 3,
	"warning": 4, "notice": 5, "info": 6, "debug": 7,
}

// logger writes messages like systemd's generators do (log_setup_generator):
// to /dev/kmsg as "<PRI>postfix-instance-generator[PID]: message", or to
// standard error when that is a terminal, when SYSTEMD_LOG_TARGET says
// so, or when /dev/kmsg cannot be opened.
//
// /dev/kmsg is opened at the first message, not before: a run that goes
// well logs nothing at the default level, and opening it is not free (the
// kernel looks for the oldest record of its log buffer).
type logger struct {
	max      int
	openKmsg bool // open kmsgPath at the first message
	kmsg     *os.File
	w        io.Writer
	pid      int
}

func newLogger(env []string, stderr io.Writer) *logger {
	l := &logger{max: logInfo, w: stderr}
	target := "auto"
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "SYSTEMD_LOG_LEVEL":
			if n, ok := levelNames[v]; ok {
				l.max = n
			} else if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 7 {
				l.max = n
			}
		case "SYSTEMD_LOG_TARGET":
			target = v
		}
	}
	switch target {
	case "console", "console-prefixed":
		return l
	case "null":
		l.w = io.Discard
		return l
	case "kmsg":
	default:
		if f, ok := stderr.(*os.File); ok && isTerminal(f) {
			return l
		}
	}
	l.openKmsg = true
	return l
}

func (l *logger) close() {
	if l.kmsg != nil {
		l.kmsg.Close()
	}
}

func (l *logger) logf(level int, format string, args ...any) {
	if level > l.max {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if l.openKmsg {
		l.openKmsg = false
		if f, err := os.OpenFile(kmsgPath, os.O_WRONLY|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0); err == nil {
			l.kmsg, l.pid = f, os.Getpid()
		}
	}
	if l.kmsg != nil {
		// One write is one kernel log record.
		if _, err := fmt.Fprintf(l.kmsg, "<%d>postfix-instance-generator[%d]: %s\n", logDaemon|level, l.pid, msg); err == nil {
			return
		}
	}
	fmt.Fprintf(l.w, "%s\n", msg)
}

func (l *logger) errorf(format string, args ...any) { l.logf(logErr, format, args...) }
func (l *logger) debugf(format string, args ...any) { l.logf(logDebug, format, args...) }

// isTerminal reports whether f is a terminal (tcgetattr succeeds).
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
