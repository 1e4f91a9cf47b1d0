// Command gendocs writes postfix-instances' manual pages and shell
// completions below the module root given as its argument (see package
// docs).
package main

import (
	"fmt"
	"os"

	"github.com/postfix-systemd/postfix-instances/internal/pfinstances/docs"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs MODULE-ROOT")
		os.Exit(2)
	}
	if err := docs.Write(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
