package postmulti

import (
	"bufio"
	"strings"
)

// ListOptions are the -l mode's options.
type ListOptions struct {
	Selection selection
	Reverse   bool
}

// runList is -l: one line per selected instance in start order (or its
// reverse): name, group, enable flag and config directory, in upstream's
// "%-15s %-15s %-9s %s" columns; "-" stands for no name or no group.
// Selecting nothing prints nothing and succeeds.
func (r *runner) runList(o ListOptions) error {
	w := bufio.NewWriter(r.env.Stdout)
	for _, ip := range r.ordered(o.Reverse) {
		if !o.Selection.matches(ip) {
			continue
		}
		name, group, en := ip.Name, ip.Group, "n"
		if name == "" {
			name = "-"
		}
		if group == "" {
			group = "-"
		}
		if ip.Enabled {
			en = "y"
		}
		w.WriteString(padRight(name, 15) + " " + padRight(group, 15) + " " + padRight(en, 9) + " " + ip.ConfigDir + "\n")
	}
	if err := w.Flush(); err != nil {
		return fatalf("error writing output: %s", strerror(err))
	}
	return nil
}

// padRight pads s with spaces to n bytes, as printf's %-Ns counts bytes
// (Go's fmt counts runes).
func padRight(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}
