// Package docs generates postfix-instances' manual pages and shell
// completions from its cobra command tree (github.com/spf13/cobra/doc,
// GenBashCompletionV2, GenZshCompletion, GenFishCompletion), so that they
// always say what the command does. The files are checked in under man/
// and completions/; "go generate ./internal/pfinstances/..." (or "make
// docs") rewrites them and TestUpToDate fails when they are stale.
package docs

//go:generate go run ./gendocs ../../..

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/postfix-systemd/postfix-instances/internal/pfinstances"
)

// Date is the date in the manual pages' header: fixed, so that the
// generated files do not change from one run to the next. Bump it when
// the command changes.
var Date = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

// Files returns every generated file, by path relative to the module
// root.
func Files() (map[string][]byte, error) {
	root := pfinstances.NewRootCommand(&pfinstances.Env{})
	var disable func(*cobra.Command)
	disable = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, s := range c.Commands() {
			disable(s)
		}
	}
	disable(root)
	files := map[string][]byte{}
	tmp, err := os.MkdirTemp("", "pfi-docs")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	header := &doc.GenManHeader{Title: "POSTFIX-INSTANCES", Section: "1", Date: &Date,
		Source: "postfix-instances", Manual: "postfix-instances manual"}
	if err := doc.GenManTree(root, header, tmp); err != nil {
		return nil, fmt.Errorf("manual pages: %w", err)
	}
	pages, err := filepath.Glob(filepath.Join(tmp, "*.1"))
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		files["man/"+filepath.Base(p)] = b
	}
	for name, gen := range map[string]func(*bytes.Buffer) error{
		"completions/postfix-instances.bash": func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) },
		"completions/_postfix-instances":     func(b *bytes.Buffer) error { return root.GenZshCompletion(b) },
		"completions/postfix-instances.fish": func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) },
	} {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files[name] = b.Bytes()
	}
	return files, nil
}

// Write writes every generated file below the module root dir.
func Write(dir string) error {
	files, err := Files()
	if err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
