// Command postmulti is the systemd-aware drop-in for Postfix's postmulti(1)
// multi-instance manager; see internal/postmulti and postmulti(1).
package main

import (
	"os"

	"github.com/postfix-systemd/postfix-instances/internal/postmulti"
)

func main() { os.Exit(postmulti.Main()) }
