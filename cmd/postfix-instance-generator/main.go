// Command postfix-instance-generator is a systemd generator: at boot and on
// every "systemctl daemon-reload" it turns the Postfix instances listed in
// the default main.cf into units (postfix@NAME.service on Debian 12;
// postfix@X.service and postfix-dir@PATH.service on Debian 13, see
// unit.Layout), ordered by the start list, grouped into
// postfix-GROUP.target units, and wanted by postfix.service when enabled.
// See postfix-instance-generator(8).
//
// This file only wires the generator package to the systemd.generator(7)
// calling convention: arguments, logging, exit status.
package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the generator's GOGC (unless GOGC is set). Most of what it
// allocates is the model of the instances it read, live until the units
// are written: at Go's default of 100 the collector marks that growing
// heap again and again (twice at 1000 instances) to free little of it. At
// 400 it does not run below 16 MiB of heap, which 1500 instances of
// Debian's main.cf do not reach (peak RSS 15 MiB; 12 MiB at 1000), and
// beyond that lets the heap grow to five times what is live. Measured
// (scripts/bench-generator.sh, N=1000): without it the collector runs
// three times per run and the generator's CPU time grows by about a
// quarter.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(Main(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
