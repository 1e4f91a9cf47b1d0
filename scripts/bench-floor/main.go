// Command bench-floor is the floor for scripts/bench-generator.sh: the
// least a generator must do for N instances, and nothing else. It reads the
// default main.cf, takes the words of its multi_instance_directories line
// (one logical line, no expansion, no validation), reads each DIR/main.cf,
// and writes 2N entries into OUT: a small file per instance in a directory
// of its own (a drop-in) and a symlink per instance in one .wants/
// directory.
//
// Usage: bench-floor OUT [EARLY LATE], like a generator, reading
// /etc/postfix (the benchmark bind-mounts its tree there).
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: bench-floor OUT [EARLY LATE]")
		os.Exit(2)
	}
	if err := run("/etc/postfix", os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "bench-floor:", err)
		os.Exit(1)
	}
}

func run(configDir, out string) error {
	data, err := os.ReadFile(filepath.Join(configDir, "main.cf"))
	if err != nil {
		return err
	}
	var dirs []string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "multi_instance_directories ="); ok {
			dirs = strings.Fields(v)
		}
	}
	wants := filepath.Join(out, "postfix.service.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	for i, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "main.cf"))
		if err != nil {
			return err
		}
		name := "postfix@" + strconv.Itoa(i) + ".service"
		d := filepath.Join(out, name+".d")
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		n := bytes.Count(data, []byte("\n"))
		content := fmt.Sprintf("[Service]\nEnvironment=MAIL_CONFIG=%s\n# %d lines\n", dir, n)
		if err := os.WriteFile(filepath.Join(d, "50-instance.conf"), []byte(content), 0o644); err != nil {
			return err
		}
		if err := os.Symlink("/lib/systemd/system/postfix@.service", filepath.Join(wants, name)); err != nil {
			return err
		}
	}
	return nil
}
