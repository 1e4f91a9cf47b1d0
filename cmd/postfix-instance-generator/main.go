// Command postfix-instance-generator is a systemd generator: at boot and on
// every "systemctl daemon-reload" it turns the Postfix instances listed in
// the default main.cf into postfix@NAME.service instances, ordered by the
// start list, grouped into postfix-GROUP.target units, and wanted by
// postfix.service when enabled. See postfix-instance-generator(8).
//
// This file only wires the generator package to the systemd.generator(7)
// calling convention: arguments, logging, exit status.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}
