package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

// fakeEnds points the logger's kernel log at a file (or at nothing, when
// kmsg is false) and its journal at a slice, for the test's duration.
func fakeEnds(t *testing.T, kmsg, journalThere bool) (kmsgFile string, sent *[]string) {
	t.Helper()
	kmsgFile = filepath.Join(t.TempDir(), "kmsg")
	if kmsg {
		if err := os.WriteFile(kmsgFile, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	oldK, oldE, oldS := kmsgPath, journalEnabled, journalSend
	kmsgPath = kmsgFile
	journalEnabled = func() bool { return journalThere }
	journalSend = func(msg string, p journal.Priority, vars map[string]string) error {
		got = append(got, fmt.Sprintf("%d %s %s", p, vars["SYSLOG_IDENTIFIER"], msg))
		return nil
	}
	t.Cleanup(func() { kmsgPath, journalEnabled, journalSend = oldK, oldE, oldS })
	return kmsgFile, &got
}

func records(t *testing.T, kmsgFile string) []string {
	t.Helper()
	data, err := os.ReadFile(kmsgFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestKmsgBurst: the kernel takes ten records at a time from one writer;
// up to ten messages are written as they are, more end with a summary as
// the tenth record.
func TestKmsgBurst(t *testing.T) {
	for _, n := range []int{9, 10, 11, 25} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			kmsgFile, sent := fakeEnds(t, true, true)
			var stderr bytes.Buffer
			l := newLogger(nil, &stderr, false)
			for i := 1; i <= n; i++ {
				l.errorf("message %d, ignoring.", i)
			}
			l.close()
			recs := records(t, kmsgFile)
			want := min(n, kmsgBurst)
			if len(recs) != want {
				t.Fatalf("%d records, want %d:\n%s", len(recs), want, strings.Join(recs, "\n"))
			}
			lastWant := fmt.Sprintf("message %d, ignoring.", n)
			if n > kmsgBurst {
				lastWant = fmt.Sprintf("%d messages in all; the last %d are not in the kernel log", n, n-kmsgBurst+1)
			}
			if last := recs[len(recs)-1]; !strings.HasPrefix(last, "<27>postfix-instance-generator[") || !strings.Contains(last, lastWant) {
				t.Errorf("last record %q, want one with %q", last, lastWant)
			}
			if stderr.Len() > 0 || len(*sent) > 0 {
				t.Errorf("also wrote to stderr %q, journal %q", stderr.String(), *sent)
			}
		})
	}
}

// TestJournalWithoutKmsg: without /dev/kmsg (containers) messages go to
// the journal with the generator's identifier, and a run of ten or more
// ends with a summary; with neither, to stderr, and lost() says so.
func TestJournalWithoutKmsg(t *testing.T) {
	_, sent := fakeEnds(t, false, true)
	var stderr bytes.Buffer
	l := newLogger(nil, &stderr, false)
	for i := 1; i <= 10; i++ {
		l.errorf("message %d, ignoring.", i)
	}
	l.close()
	if len(*sent) != 11 || (*sent)[0] != "3 postfix-instance-generator message 1, ignoring." || (*sent)[10] != "3 postfix-instance-generator 10 messages in all." {
		t.Errorf("journal got %q", *sent)
	}
	if stderr.Len() > 0 || l.lost() {
		t.Errorf("stderr %q, lost %v", stderr.String(), l.lost())
	}

	fakeEnds(t, false, false)
	stderr.Reset()
	l = newLogger(nil, &stderr, false)
	l.errorf("message, ignoring.")
	l.close()
	if stderr.String() != "message, ignoring.\n" || !l.lost() {
		t.Errorf("neither kmsg nor journal: stderr %q, lost %v", stderr.String(), l.lost())
	}
}

// TestDryRunLogsToStderr: --dry-run never writes to the kernel log or the
// journal, even when standard error is not a terminal.
func TestDryRunLogsToStderr(t *testing.T) {
	kmsgFile, sent := fakeEnds(t, true, true)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"--dry-run", "--root", filepath.Join("..", "..", "generator", "testdata", "broken", "root")}, nil, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), ", ignoring.\n") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if data, _ := os.ReadFile(kmsgFile); len(data) > 0 || len(*sent) > 0 {
		t.Errorf("dry run wrote to kmsg %q, journal %q", data, *sent)
	}
}
