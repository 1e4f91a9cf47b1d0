// Command postfix-instances shows the Postfix instances of a host as
// systemd runs them; see internal/pfinstances and postfix-instances(1).
package main

import (
	"os"

	"github.com/postfix-systemd/postfix-instances/internal/pfinstances"
)

func main() { os.Exit(pfinstances.Main()) }
