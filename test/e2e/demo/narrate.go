package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// narrator writes the transcript: numbered steps, the commands typed with
// their essential output, and progress for long steps. Colour only when
// stdout is a terminal (and NO_COLOR is unset).
type narrator struct {
	w     io.Writer
	tty   bool
	color bool
	step  int
	mu    sync.Mutex
}

func newNarrator() *narrator {
	fi, err := os.Stdout.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	return &narrator{w: os.Stdout, tty: tty,
		color: tty && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
}

const (
	bold  = "1"
	dim   = "2"
	red   = "31"
	green = "32"
	cyan  = "36"
)

func (n *narrator) paint(code, s string) string {
	if !n.color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (n *narrator) printf(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fmt.Fprintf(n.w, format, args...)
}

// Step starts a numbered step.
func (n *narrator) Step(title string) {
	n.step++
	n.printf("\n%s\n", n.paint(bold, fmt.Sprintf("%d. %s", n.step, title)))
}

// Say is a line of prose.
func (n *narrator) Say(format string, args ...any) {
	n.printf("   %s\n", fmt.Sprintf(format, args...))
}

// Note is a dimmed line of prose.
func (n *narrator) Note(format string, args ...any) {
	n.printf("   %s\n", n.paint(dim, fmt.Sprintf(format, args...)))
}

// OK is a line saying a step's check held.
func (n *narrator) OK(format string, args ...any) {
	n.printf("   %s %s\n", n.paint(green, "ok"), fmt.Sprintf(format, args...))
}

// Typed shows a command as a person would type it, as root.
func (n *narrator) Typed(args []string, note string) {
	line := n.paint(cyan, "# "+commandLine(args))
	if note != "" {
		line += "   " + n.paint(dim, "("+note+")")
	}
	n.printf("   %s\n", line)
}

// Output shows a command's output, indented; blank lines at the end go.
func (n *narrator) Output(out string) {
	out = strings.TrimRight(out, "\n ")
	if out == "" {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		n.printf("     %s\n", line)
	}
}

// Progress runs f, showing what is happening and the elapsed time while it
// runs: on a terminal one line rewritten every second, otherwise a line
// every ten seconds, so that no minute passes in silence. what may be
// changed by f through the returned setter; detail, when not nil, adds a
// figure (packages unpacked, ...).
func (n *narrator) Progress(what string, detail func() string, f func(setWhat func(string)) error) (time.Duration, error) {
	start := time.Now()
	var mu sync.Mutex
	cur := what
	setWhat := func(s string) {
		mu.Lock()
		cur = s
		mu.Unlock()
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		period := 10 * time.Second
		if n.tty {
			period = time.Second
		}
		tick := time.NewTicker(period)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown && n.tty {
					n.printf("\r\x1b[K")
				}
				return
			case <-tick.C:
			}
			mu.Lock()
			line := fmt.Sprintf("… %s  %s", cur, clock(time.Since(start)))
			mu.Unlock()
			if detail != nil {
				if d := detail(); d != "" {
					line += "  " + d
				}
			}
			if n.tty {
				n.printf("\r\x1b[K   %s", n.paint(dim, line))
			} else {
				n.printf("   %s\n", line)
			}
			shown = true
		}
	}()
	defer func() { // also when f fails the demo (a panic)
		close(done)
		<-stopped
	}()
	err := f(setWhat)
	return time.Since(start), err
}

// clock is m:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// seconds is a duration as "1.2 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// commandLine quotes args as a POSIX shell would need them; a postconf -e
// with more than three settings shows the first two and how many follow.
func commandLine(args []string) string {
	var shown []string
	for i, a := range args {
		shown = append(shown, shellQuote(a))
		if a == "-e" && i > 0 && len(args)-i-1 > 3 && strings.Contains(args[i+1], "=") {
			shown = append(shown, shellQuote(args[i+1]), shellQuote(args[i+2]),
				fmt.Sprintf("… (%d more settings)", len(args)-i-3))
			break
		}
	}
	return strings.Join(shown, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@,+=%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
