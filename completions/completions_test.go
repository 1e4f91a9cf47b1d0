package completions_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listing is what the fake postmulti prints for -l, in upstream's
// "%-15s %-15s %-9s %s" columns (name, group, enabled, config directory;
// "-" for none), as /usr/sbin/postmulti -l prints them: two instances share
// a group, one has none.
var listing = fmt.Sprintf("%-15s %-15s %-9s %s\n", "-", "-", "y", "/etc/postfix") +
	fmt.Sprintf("%-15s %-15s %-9s %s\n", "postfix-out", "mta", "y", "/etc/postfix-out") +
	fmt.Sprintf("%-15s %-15s %-9s %s\n", "postfix-in", "mta", "n", "/etc/postfix-in") +
	fmt.Sprintf("%-15s %-15s %-9s %s\n", "postfix-nogrp", "-", "y", "/etc/postfix-nogrp")

var (
	options   = []string{"-a", "-e", "-g", "-i", "-G", "-I", "-l", "-p", "-R", "-v", "-x", "--help"}
	actions   = []string{"init", "create", "import", "deport", "destroy", "enable", "disable", "assign"}
	instances = []string{"-", "postfix-out", "postfix-in", "postfix-nogrp",
		"/etc/postfix", "/etc/postfix-out", "/etc/postfix-in", "/etc/postfix-nogrp"}
	pcmds = []string{"start", "stop", "reload", "status", "flush", "check", "abort",
		"drain", "quick-stop", "set-permissions", "upgrade-configuration", "logrotate"}
	params = []string{"config_directory=", "queue_directory=", "data_directory="}
	none   = []string{}
)

// A completionCase is a command line up to the cursor and what completing
// its last word offers. Each shell's harness gives pmtestcmd a completion
// of its own that offers alpha and beta.
type completionCase struct {
	line string
	want []string // the candidates, in any order
	// per shell: replaces want where a shell's conventions differ
	// (fish and zsh offer options only for a word starting with "-";
	// zsh leaves out options that exclude each other).
	per map[string][]string
	has []string // instead of want: candidates that must be among many
	// bash only: the script asks for no space after the word
	nospace bool
}

var cases = []completionCase{
	{line: "postmulti -", want: options},
	{line: "postmulti ", want: options, per: map[string][]string{"fish": none, "zsh": none}},
	{line: "postmulti -a -", want: options,
		per: map[string][]string{"zsh": {"-e", "-l", "-p", "-x", "-G", "-I", "-R", "-v", "--help"}}},

	// Arguments of options, also clustered (-ai) or after a cluster.
	{line: "postmulti -e ", want: actions},
	{line: "postmulti -e de", want: []string{"deport", "destroy"}},
	{line: "postmulti -i ", want: instances},
	{line: "postmulti -ai ", want: instances},
	{line: "postmulti -i postfix-o", want: []string{"postfix-out"}},
	{line: "postmulti -g ", want: []string{"mta"}},
	{line: "postmulti -G ", want: []string{"-", "mta"}},
	{line: "postmulti -I ", want: []string{"-", "postfix-"}, nospace: true},

	// -p: postfix commands for the first operand only.
	{line: "postmulti -p ", want: pcmds},
	{line: "postmulti -p st", want: []string{"start", "stop", "status"}},
	{line: "postmulti -p -i postfix-out st", want: []string{"start", "stop", "status"}},
	{line: "postmulti -ai postfix-out -p st", want: []string{"start", "stop", "status"}},
	// "p" and "x" inside an option's argument are no -p or -x.
	{line: "postmulti -ipostfix-out -p ", want: pcmds},
	{line: "postmulti -p -ipostfix-out ", want: pcmds},
	{line: "postmulti -p -- ", want: pcmds},
	{line: "postmulti -p start ", want: none},
	// Options stop at the first non-option, as getopt's "+" makes them.
	{line: "postmulti -p start -", want: none},
	{line: "postmulti -l foo -", want: none},
	{line: "postmulti -- -", want: none},

	// -x: a command, then that command's own completion.
	{line: "postmulti -x ", has: []string{"pmtestcmd", "postmulti"}},
	{line: "postmulti -x pmt", want: []string{"pmtestcmd"}},
	{line: "postmulti -ax pmt", want: []string{"pmtestcmd"}},
	{line: "postmulti -x -- pmt", want: []string{"pmtestcmd"}},
	{line: "postmulti -x pmtestcmd ", want: []string{"alpha", "beta"}},
	{line: "postmulti -i postfix-out -x pmtestcmd ", want: []string{"alpha", "beta"}},
	{line: "postmulti -x pmtestcmd -", want: none},
	{line: "postmulti -x postmulti -e ", want: actions},

	// -e: options may follow the action, then parameter operands.
	{line: "postmulti -e create ", want: params, nospace: true},
	{line: "postmulti -ecreate ", want: params, nospace: true},
	{line: "postmulti -e create con", want: []string{"config_directory="}, nospace: true},
	{line: "postmulti -e create -", want: options,
		per: map[string][]string{"zsh": {"-a", "-g", "-i", "-G", "-I", "-R", "-v", "--help"}}},
}

// fixture is a hermetic place to run a shell: a fake postmulti and a
// pmtestcmd first on PATH, HOME and XDG directories of its own.
type fixture struct {
	dir string
	env []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	home := filepath.Join(dir, "home")
	for _, d := range []string{bin, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fake := "#!/bin/sh\n[ \"$1\" = -l ] || { echo \"fake postmulti: unexpected arguments: $*\" >&2; exit 1; }\ncat <<'EOF'\n" + listing + "EOF\n"
	for name, text := range map[string]string{"postmulti": fake, "pmtestcmd": "#!/bin/sh\n"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &fixture{dir: dir, env: []string{
		"PATH=" + bin + ":/usr/bin:/bin",
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local/share"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local/state"),
		"TERM=dumb",
	}}
}

// run runs a command in the fixture with extra environment, and returns
// its standard output; a failure or anything on standard error is fatal.
func (f *fixture) run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = f.dir
	cmd.Env = append(slices.Clone(f.env), env...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %q: %v\nstderr: %s\nstdout: %s", name, args, err, stderr.String(), stdout.String())
	}
	return stdout.String()
}

// need returns the path of a program the test needs, or stops the test:
// with a failure naming the package to install, or under -short a skip.
func need(t *testing.T, path, pkg string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if testing.Short() {
			t.Skipf("%s missing (-short): install the %s package", path, pkg)
		}
		t.Fatalf("%s missing: install the %s package (scripts/install-deps.sh does)", path, pkg)
	}
	return path
}

// check compares what a shell offered with what the case wants.
func (c completionCase) check(t *testing.T, shell string, got []string) {
	t.Helper()
	if c.has != nil {
		for _, w := range c.has {
			if !slices.Contains(got, w) {
				t.Errorf("%s: completing %q offered %d words without %q", shell, c.line, len(got), w)
			}
		}
		return
	}
	want, ok := c.per[shell]
	if !ok {
		want = c.want
	}
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s: completing %q offered %q, want %q", shell, c.line, got, want)
	}
}

// words splits a command line as the shells do for these cases: at spaces,
// with an empty last word where the line ends in a space.
func words(line string) []string {
	w := strings.Fields(line)
	if strings.HasSuffix(line, " ") {
		w = append(w, "")
	}
	return w
}

func TestBash(t *testing.T) { testBash(t, newFixture(t), "postmulti.bash", cases) }

// testBash runs the bash completion script on each case's line in f.
func testBash(t *testing.T, f *fixture, script string, cases []completionCase) {
	bash := need(t, "/bin/bash", "bash")
	framework := need(t, "/usr/share/bash-completion/bash_completion", "bash-completion")
	harness, script := abs(t, "testdata/complete.bash"), abs(t, script)
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			args := append([]string{"--norc", "--noprofile", harness, framework, script}, words(c.line)...)
			var got []string
			nospace := false
			for _, l := range lines(f.run(t, nil, bash, args...)) {
				switch {
				case strings.HasPrefix(l, "reply:"):
					// "word", or "word  (description)" (cobra's scripts)
					w, _, _ := strings.Cut(strings.TrimPrefix(l, "reply:"), "  (")
					got = append(got, w)
				case l == "compopt:-o nospace":
					nospace = true
				case !strings.HasPrefix(l, "compopt:"):
					t.Fatalf("unexpected output line %q", l)
				}
			}
			c.check(t, "bash", got)
			if c.has == nil && nospace != c.nospace {
				t.Errorf("bash: completing %q: compopt -o nospace %v, want %v", c.line, nospace, c.nospace)
			}
		})
	}
}

func TestFish(t *testing.T) { testFish(t, newFixture(t), "postmulti.fish", cases) }

// testFish runs the fish completion script on each case's line in f.
func testFish(t *testing.T, f *fixture, script string, cases []completionCase) {
	fish := need(t, "/usr/bin/fish", "fish")
	script = abs(t, script)
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			out := f.run(t, nil, fish, "--no-config", "-c",
				`source $argv[1]; or exit 1; complete -c pmtestcmd -x -a 'alpha beta'; complete -C $argv[2]`,
				script, c.line)
			var got []string
			for _, l := range lines(out) {
				// "word", or "word\tdescription"
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
			c.check(t, "fish", got)
		})
	}
}

// TestZsh runs the real completion system of an interactive zsh on a
// pseudo-terminal (zsh/zpty): compinit, the #compdef line, _arguments.
func TestZsh(t *testing.T) { testZsh(t, newFixture(t), "postmulti", cases) }

// testZsh runs zsh's completion of command (its function _COMMAND, from
// this directory) on each case's line in f.
func testZsh(t *testing.T, f *fixture, command string, cases []completionCase) {
	zsh := need(t, "/usr/bin/zsh", "zsh")
	setup, drive, dir := abs(t, "testdata/zpty-setup.zsh"), abs(t, "testdata/zpty-drive.zsh"), abs(t, ".")
	// One dump for all cases, made by compinit from $fpath as a user's
	// shell would; each case then loads it (compinit -C).
	dump := filepath.Join(f.dir, "zcompdump-"+command)
	f.run(t, []string{"PM_COMPDIR=" + dir, "PM_ZCOMPDUMP=" + dump}, zsh, "-f", "-c",
		`fpath=($PM_COMPDIR $fpath); autoload -Uz compinit && compinit -u -d $PM_ZCOMPDUMP`)
	if b, err := os.ReadFile(dump); err != nil || !strings.Contains(string(b), "'"+command+"' '_"+command+"'") {
		t.Fatalf("compinit did not register _%s for %s in %s (%v):\n%s", command, command, dump, err, b)
	}
	for i, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			capture := filepath.Join(f.dir, "capture-"+command+strconv.Itoa(i))
			f.run(t, []string{"PM_COMPDIR=" + dir, "PM_ZCOMPDUMP=" + dump, "PM_CAPTURE=" + capture}, zsh, "-f", drive, setup, c.line)
			b, err := os.ReadFile(capture)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			var got []string
			nmatches := -1
			for _, l := range lines(string(b)) {
				if w, ok := strings.CutPrefix(l, "word:"); ok {
					got = append(got, w)
				} else if n, ok := strings.CutPrefix(l, "nmatches:"); ok {
					nmatches, _ = strconv.Atoi(n)
				}
			}
			// zsh counts identical matches of a group once: of the
			// thousands of words after "-x ", some are both a command
			// and a builtin. The short lists have no such twins.
			if nmatches != len(got) && (c.has == nil || nmatches <= 0) {
				t.Fatalf("zsh: completing %q: recorded %d words but zsh counted %d matches (-1: completion did not finish):\n%s", c.line, len(got), nmatches, b)
			}
			c.check(t, "zsh", got)
		})
	}
}

func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
}
