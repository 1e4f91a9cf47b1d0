package maincf

// The oracle: run the real postconf(1) on temporary copies and compare
// with what this package computes for the same invocation.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const postconfPath = "/usr/sbin/postconf"

// requirePostconf skips under -short and fails loudly without postconf.
func requirePostconf(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("differential test against the real postconf skipped in -short mode")
	}
	if _, err := os.Stat(postconfPath); err != nil {
		t.Fatalf("these tests need the real postconf (Postfix 3.7) at %s: %v; install it with: apt-get install postfix (or run scripts/install-deps)", postconfPath, err)
	}
}

func TestMain(m *testing.M) {
	// Some cases make postconf die of SIGSEGV (as postconf does for loops
	// through relational operands): do not litter core files.
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	os.Exit(m.Run())
}

// outcome is what one postconf invocation did, or what we say it does.
// Warnings are compared as a sorted list: postconf prints some in
// hash-table order.
type outcome struct {
	Stdout   string
	Warnings []string // sorted; postconf prints some in hash-table order
	Fatal    string
	Code     int // exit status; -1 for death by a signal

	// loadFatal: postconf fails before printing anything. Which of
	// several failures comes first, and so the warnings printed, the
	// fatal message and even exit 1 versus SIGSEGV, then depends on
	// hash-table order, which postconf randomizes (seen: 5 runs of 8
	// exit 1, 3 die of SIGSEGV, on one file): only failure is compared.
	loadFatal bool

	done int // emulate: how many names were handled, the failing one included

	// err is set when postconf could not be run (runPostconf has
	// reported it): there is nothing to compare.
	err error
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d, fatal %q\nstdout:\n%s\nwarnings:\n  %s", o.Code, o.Fatal, o.Stdout,
		strings.Join(o.Warnings, "\n  "))
}

// msgText is how Postfix's msg(3) prints text: non-printable bytes as '?'.
// Applied to both sides, so that the comparison does not depend on whether
// postconf keeps UTF-8.
func msgText(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// postconfSem bounds concurrent postconf processes.
var postconfSem = make(chan struct{}, 2*runtime.NumCPU()+2)

// runPostconf runs the real postconf with -c dir and args. It may run
// on any goroutine: a failure to run postconf is reported with t.Errorf
// (never t.Fatalf, which must be called from the test's own goroutine)
// and returned in outcome.err.
func runPostconf(t testing.TB, dir string, args ...string) outcome {
	t.Helper()
	postconfSem <- struct{}{}
	defer func() { <-postconfSem }()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(postconfPath, append([]string{"-c", dir}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	err := cmd.Run()
	o := outcome{Stdout: stdout.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			o.Code = -1
		} else {
			o.Code = ee.ExitCode()
		}
	default:
		t.Errorf("run postconf: %v", err)
		o.err = err
		return o
	}
	master := "open " + dir + "/master.cf: No such file or directory"
	for _, l := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
		if l == "" {
			continue
		}
		if _, w, ok := strings.Cut(l, ": warning: "); ok {
			if w != master {
				o.Warnings = append(o.Warnings, w)
			}
		} else if _, f, ok := strings.Cut(l, ": fatal: "); ok {
			o.Fatal = f
		} else {
			o.Warnings = append(o.Warnings, "UNPARSED: "+l)
		}
	}
	sort.Strings(o.Warnings)
	return o
}

// emulate says what "postconf -c dir [-x] -h names..." does for main.cf
// bytes data.
func emulate(dir string, data []byte, x bool, names []string) outcome {
	var o outcome
	var warn []string
	fin := func() outcome {
		for _, w := range warn {
			o.Warnings = append(o.Warnings, msgText(w))
		}
		sort.Strings(o.Warnings)
		return o
	}
	f := &File{Path: dir + "/main.cf", data: string(data)}
	if err := f.parse(); err != nil {
		warn = append(warn, f.warnings...)
		o.Fatal, o.Code = msgText(err.Error()), 1
		return fin()
	}
	c := NewConfig(dir, f, nil)
	s := c.state()
	if s.err != nil {
		var ee *ExpandError
		if !errors.As(s.err, &ee) {
			panic(s.err)
		}
		warn = append(warn, ee.Warnings...)
		o.Fatal, o.Code, o.loadFatal = ee.Fatal, 1, true
		if ee.Crash {
			o.Code = -1
		}
		return fin()
	}
	warn = append(warn, s.warn...)
	var out strings.Builder
	for i, name := range names {
		o.done = i + 1
		if !c.Known(name) {
			warn = append(warn, name+": unknown parameter")
			continue
		}
		var v string
		if x {
			var err error
			v, err = c.Expand(name)
			var ee *ExpandError
			if errors.As(err, &ee) {
				warn = append(warn, ee.Warnings...)
				// postconf exits without flushing stdout: only the
				// full 4096-byte VSTREAM buffers were written.
				if n := out.Len(); n > 0 {
					o.Stdout = out.String()[:(n-1)/4096*4096]
				}
				o.Fatal, o.Code = ee.Fatal, 1
				if ee.Crash {
					o.Code = -1
				}
				return fin()
			} else if err != nil {
				panic(err)
			}
		} else {
			v, _ = c.Raw(name)
		}
		out.WriteString(v + "\n")
	}
	o.Stdout = out.String()
	warn = append(warn, s.unused...)
	return fin()
}

// sameOutcome compares, ignoring what a crashing postconf leaves behind.
func sameOutcome(got, want outcome) bool {
	if got.loadFatal {
		return want.Code != 0 && want.Stdout == ""
	}
	if want.Code == -1 || got.Code == -1 {
		return got.Code == want.Code
	}
	return got.Stdout == want.Stdout && got.Fatal == want.Fatal && got.Code == want.Code &&
		strings.Join(got.Warnings, "\n") == strings.Join(want.Warnings, "\n")
}

// interesting are built-in parameters checked for every corpus file, on
// top of the file's own names.
var interesting = []string{
	"config_directory", "queue_directory", "data_directory", "command_directory",
	"daemon_directory", "meta_directory", "shlib_directory", "multi_instance_directories",
	"multi_instance_name", "multi_instance_group", "multi_instance_enable",
	"multi_instance_wrapper", "syslog_name", "myhostname", "mydomain", "myorigin",
	"mydestination", "mynetworks", "mynetworks_style", "compatibility_level",
	"smtputf8_enable", "mail_version", "process_name", "service_name",
	"virtual_maps", "virtual_alias_maps", "smtpd_banner", "default_rbl_reply",
	"smtpd_reject_footer", "proxy_read_maps", "alias_maps", "inet_interfaces",
}

// writeMainCf makes a temporary config directory holding main.cf = data
// and returns it, or "" after reporting the failure with t.Errorf: it
// runs on goroutines other than the test's, where t.Fatal must not be
// called. The file is made an hour old: postconf reads a main.cf modified
// within the last second again and again (util/dict.c dict_load_file_xt
// lets a "hot" file cool down), repeating its warnings.
func writeMainCf(t testing.TB, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Errorf("write main.cf: %v", err)
		return ""
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Errorf("write main.cf: %v", err)
		return ""
	}
	return dir
}

// namesOf lists the names a file assigns (by our parser, or a rough split
// for files that do not parse) plus the interesting built-ins.
func namesOf(data []byte) []string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, l := range strings.Split(string(data), "\n") {
		if n, _, ok := strings.Cut(l, "="); ok && l != "" && !isSpace(l[0]) && l[0] != '#' {
			add(strings.TrimSpace(n))
		}
	}
	for _, n := range interesting {
		add(n)
	}
	return names
}

// checkOracle compares postconf -h and -xh for names on data. For -xh,
// a fatal error stops postconf, so the names after the failing one are
// checked by further runs.
func checkOracle(t *testing.T, label string, data []byte, names []string) {
	t.Helper()
	dir := writeMainCf(t, data)
	if dir == "" {
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	check := func(x bool, names []string) {
		defer wg.Done()
		args := []string{"-h"}
		if x {
			args = []string{"-xh"}
		}
		want := runPostconf(t, dir, append(args, names...)...)
		if want.err != nil {
			return
		}
		got := emulate(dir, data, x, names)
		if !sameOutcome(got, want) {
			mu.Lock()
			t.Errorf("%s: postconf -c DIR %s %s\n%s", label, args[0], strings.Join(names, " "), diffOutcome(got, want))
			mu.Unlock()
		}
	}
	wg.Add(1)
	go check(false, names)
	// Split the -xh runs where we (and, if we agree, postconf) fail.
	rest := names
	for len(rest) > 0 {
		n := len(rest)
		if o := emulate(dir, data, true, rest); o.Code != 0 && o.done > 0 {
			n = o.done
		}
		wg.Add(1)
		go check(true, rest[:n])
		rest = rest[n:]
	}
	wg.Wait()
}

func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.cf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = data
	}
	return m
}

// TestOracleCorpus: postconf -h and -xh, value for value, on hard files.
func TestOracleCorpus(t *testing.T) {
	requirePostconf(t)
	for name, data := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkOracle(t, name, data, namesOf(data))
		})
	}
}

// TestOracleAllDefaults: every built-in parameter, raw and expanded, on an
// empty main.cf and on one that changes the directories.
func TestOracleAllDefaults(t *testing.T) {
	requirePostconf(t)
	var names []string
	for _, n := range builtin().Names() {
		if n != "process_id" { // postconf's PID, not ours
			names = append(names, n)
		}
	}
	for label, data := range map[string][]byte{
		"empty":  nil,
		"layout": []byte("compatibility_level = 3.6\nmyhostname = mx.example.com\ndaemon_directory = /usr/libexec/postfix\nmulti_instance_name = postfix-x\n"),
	} {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			checkOracle(t, label, data, names)
		})
	}
}

// diffOutcome describes how got differs from want (postconf's).
func diffOutcome(got, want outcome) string {
	var b strings.Builder
	if got.Code != want.Code || got.Fatal != want.Fatal {
		fmt.Fprintf(&b, "exit/fatal: postconf %d %q, maincf %d %q\n", want.Code, want.Fatal, got.Code, got.Fatal)
	}
	gl, wl := strings.Split(got.Stdout, "\n"), strings.Split(want.Stdout, "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			fmt.Fprintf(&b, "stdout line %d: postconf %q, maincf %q\n", i+1, w, g)
		}
	}
	gs, ws := map[string]bool{}, map[string]bool{}
	for _, w := range got.Warnings {
		gs[w] = true
	}
	for _, w := range want.Warnings {
		ws[w] = true
		if !gs[w] {
			fmt.Fprintf(&b, "only postconf warns: %s\n", w)
		}
	}
	for _, w := range got.Warnings {
		if !ws[w] {
			fmt.Fprintf(&b, "only maincf warns: %s\n", w)
		}
	}
	return b.String()
}

// editCase is one edit, both as a File method and as postconf arguments.
type editCase struct {
	op    string // "-e", "-X", "-#"
	name  string
	value string // for -e
}

func (e editCase) args() []string {
	if e.op == "-e" {
		return []string{"-e", e.name + " = " + e.value}
	}
	return []string{e.op, e.name}
}

func (e editCase) apply(f *File) error {
	switch e.op {
	case "-e":
		return f.Set(e.name, e.value)
	case "-X":
		f.Remove(e.name)
	case "-#":
		f.CommentOut(e.name)
	}
	return nil
}

// editCases are the edits tried on a file, one by one: add a new name,
// replace, remove and comment out its first, middle or last name, touch a
// missing one; and a sequence of edits applied to one copy.
func editCases(f *File) (single, sequence []editCase) {
	names := f.Names()
	single = []editCase{
		{"-e", "brand_new_param", "  new value\twith tab  "},
		{"-X", "no_such_param", ""},
	}
	if len(names) == 0 {
		return single, single
	}
	first, mid, last := names[0], names[len(names)/2], names[len(names)-1]
	single = append(single,
		editCase{"-e", first, "replaced $value"},
		editCase{"-e", mid, ""},
		editCase{"-X", mid, ""},
		editCase{"-#", last, ""},
	)
	sequence = []editCase{
		{"-e", last, "x"},
		{"-#", first, ""},
		{"-X", mid, ""},
		{"-e", "brand_new_param", "y"},
	}
	return single, sequence
}

// checkEdits applies each edit case (and then the sequence) to
// data with this package and with postconf, and compares the bytes.
func checkEdits(t *testing.T, label string, data []byte, cases, sequence []editCase) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	run := func(cases []editCase) {
		defer wg.Done()
		dir := writeMainCf(t, data)
		if dir == "" {
			return
		}
		f, err := Parse(dir+"/main.cf", data)
		if err != nil {
			mu.Lock()
			t.Errorf("%s: %v", label, err)
			mu.Unlock()
			return
		}
		var desc []string
		for _, e := range cases {
			if o := runPostconf(t, dir, e.args()...); o.err != nil {
				return
			} else if o.Code != 0 {
				mu.Lock()
				t.Errorf("%s: postconf %q: %s", label, e.args(), o)
				mu.Unlock()
				return
			}
			if err := e.apply(f); err != nil {
				mu.Lock()
				t.Errorf("%s: %v: %v", label, e, err)
				mu.Unlock()
				return
			}
			desc = append(desc, fmt.Sprintf("%q", e.args()))
		}
		want, err := os.ReadFile(filepath.Join(dir, "main.cf"))
		if err != nil {
			t.Error(err)
			return
		}
		if got := f.Bytes(); !bytes.Equal(got, want) {
			mu.Lock()
			t.Errorf("%s: after postconf %s:\n--- postconf:\n%q\n--- maincf:\n%q", label, strings.Join(desc, " then "), want, got)
			mu.Unlock()
		}
	}
	for _, e := range cases {
		wg.Add(1)
		go run([]editCase{e})
	}
	if len(sequence) > 0 {
		wg.Add(1)
		go run(sequence)
	}
	wg.Wait()
}

// TestOracleEdits: Set, Remove and CommentOut against postconf -e, -X, -#
// byte for byte, on every corpus file that parses.
func TestOracleEdits(t *testing.T) {
	requirePostconf(t)
	for name, data := range corpus(t) {
		f, err := Parse("main.cf", data)
		if err != nil {
			continue // postconf -e edits it anyway; we refuse to
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			single, sequence := editCases(f)
			checkEdits(t, name, data, single, sequence)
		})
	}
}
