// Package environ reads and edits environment lists ("NAME=value"
// strings, as os.Environ returns them) the way the C library does for the
// programs we stand in for: getenv(3) finds the first entry of a name.
// Every part of the project that looks up or sets a variable in an
// environment it passes on goes through this package, so that the shim,
// the life cycle and the commands they run all see the same value.
package environ

import "strings"

// Get is getenv(3) (glibc's, and Go's os.Getenv): the value of the first
// entry for name, and whether there is one.
func Get(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// Set is setenv(3) with overwrite: the first entry for name is replaced
// where it stands, or name=value is appended. Later entries for name are
// dropped: getenv never finds them, and os/exec, which keeps the last of
// duplicate entries, must not pass them on in place of the value set.
// env itself is not modified.
func Set(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	set := false
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); ok && k == name {
			if set {
				continue
			}
			kv, set = name+"="+value, true
		}
		out = append(out, kv)
	}
	if !set {
		out = append(out, name+"="+value)
	}
	return out
}

// Unique returns env with only the first entry of each name, the one
// getenv finds, where it stands: what to give os/exec, which would
// otherwise pass the last one of duplicate entries to the child.
func Unique(env []string) []string {
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	return out
}
