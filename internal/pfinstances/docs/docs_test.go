package docs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpToDate checks that the checked-in manual pages and completions
// are what the command tree generates now.
func TestUpToDate(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"man/postfix-instances.1", "man/postfix-instances-list.1", "man/postfix-instances-status.1", "man/postfix-instances-check.1",
		"completions/postfix-instances.bash", "completions/_postfix-instances", "completions/postfix-instances.fish"} {
		if _, ok := files[want]; !ok {
			t.Errorf("%s is not generated", want)
		}
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join("../../..", name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s is out of date (%v): run \"go generate ./internal/pfinstances/...\" or \"make docs\"", name, err)
		}
	}
	// Only the verbs get pages: no help or completion command.
	pages, _ := filepath.Glob("../../../man/postfix-instances*.1")
	if len(pages) != 4 {
		t.Errorf("man/postfix-instances*.1: %d pages, want 4: %v", len(pages), pages)
	}
	status := string(files["man/postfix-instances-status.1"])
	for _, s := range []string{"EXIT STATUS", "schema_version", "n_restarts", "NeedDaemonReload"} {
		if !strings.Contains(status, s) {
			t.Errorf("postfix-instances-status.1 does not mention %q", s)
		}
	}
}
