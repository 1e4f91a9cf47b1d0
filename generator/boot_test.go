package generator

import (
	"strings"
	"testing"

	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// TestBootUnits: the late and report units are well-formed, wanted by the
// umbrella, and refuse words a unit file would read differently.
func TestBootUnits(t *testing.T) {
	es, err := Late([]string{"/srv/a", "/srv/b"}, "/etc/postfix/main.cf")
	if err != nil || len(es) != 2 {
		t.Fatalf("Late: %v, %v", es, err)
	}
	for _, want := range []string{Header, "\nRequiresMountsFor=/srv/a /srv/b\n", "\nType=oneshot\n", "systemctl daemon-reload && systemctl start --no-block postfix.service"} {
		if !strings.Contains(string(es[0].Data), want) {
			t.Errorf("late unit lacks %q:\n%s", want, es[0].Data)
		}
	}
	if es[1].Path != "postfix.service.wants/"+unit.Late || es[1].Target != "../"+unit.Late {
		t.Errorf("late want: %+v", es[1])
	}
	es, err = Report([]string{"/usr/lib/systemd/system-generators/postfix-instance-generator", "--dry-run", "--config-directory", "/etc/postfix"}, "/etc/postfix/main.cf")
	if err != nil || len(es) != 2 {
		t.Fatalf("Report: %v, %v", es, err)
	}
	for _, want := range []string{Header, "\nBefore=" + unit.Late + "\n", "\nExecStart=/usr/lib/systemd/system-generators/postfix-instance-generator --dry-run --config-directory /etc/postfix\n", "\nStandardError=journal\n", "\nSyslogIdentifier=postfix-instance-generator\n"} {
		if !strings.Contains(string(es[0].Data), want) {
			t.Errorf("report unit lacks %q:\n%s", want, es[0].Data)
		}
	}
	for _, bad := range []string{"/srv/a b", "/srv/%n", "/srv/$HOME", `/srv/a\b`, "relative", "/srv/a\nExecStart=/bin/evil"} {
		if _, err := Late([]string{bad}, "/etc/postfix/main.cf"); err == nil {
			t.Errorf("Late accepted %q", bad)
		}
		if _, err := Report([]string{bad}, "/etc/postfix/main.cf"); err == nil {
			t.Errorf("Report accepted %q", bad)
		}
	}
}
