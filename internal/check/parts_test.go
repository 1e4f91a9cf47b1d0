package check

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestDisabled(t *testing.T) {
	for _, tc := range []struct {
		patterns   string
		name, typ  string
		isDisabled bool
	}{
		{"", "smtp", "inet", false},
		{"inet", "smtp", "inet", true},
		{"inet", "pickup", "unix", false},
		{"smtp/inet", "smtp", "inet", true},
		{"smtp/inet", "smtp", "unix", false},
		{"smtp.inet", "smtp", "inet", true},
		{"127.0.0.1:2525/inet", "127.0.0.1:2525", "inet", true},
		{"127.0.0.1:2525.inet", "127.0.0.1:2525", "inet", true},
		{"!submission/inet inet", "submission", "inet", false},
		{"!submission/inet inet", "smtp", "inet", true},
		{"inet !submission/inet", "submission", "inet", true}, // the first match decides
	} {
		if got := disabled(strings.Fields(tc.patterns), tc.name, tc.typ); got != tc.isDisabled {
			t.Errorf("%q disables %s/%s: %v, want %v", tc.patterns, tc.name, tc.typ, got, tc.isDisabled)
		}
	}
}

func TestParseProcNet(t *testing.T) {
	v4 := "  sl  local_address rem_address   st\n" +
		"   0: 0100007F:2729 00000000:0000 0A 0\n" + // 127.0.0.1:10025 listening
		"   1: 00000000:0019 00000000:0000 0A 0\n" + // 0.0.0.0:25 listening
		"   2: 0100007F:0A28 0100007F:2729 01 0\n" // established: not a listener
	v6 := "  sl  local_address                         remote_address                        st\n" +
		"   0: 00000000000000000000000001000000:0018 00000000000000000000000000000000:0000 0A 0\n" + // [::1]:24
		"   1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 0\n" // [::ffff:127.0.0.1]:80
	var got []string
	for _, a := range parseProcNet([]byte(v4 + v6)) {
		got = append(got, a.String())
	}
	want := []string{"127.0.0.1:10025", "0.0.0.0:25", "[::1]:24", "127.0.0.1:80"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if !procCovers([]netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:25")}, netip.MustParseAddrPort("127.0.0.1:25")) {
		t.Error("a wildcard listener does not cover 127.0.0.1")
	}
}

func TestSplitMapList(t *testing.T) {
	got := splitMapList("texthash:/etc/a, inline:{ x=smtp:[127.0.0.1]:25, y=z }  hash:/etc/b")
	want := []string{"texthash:/etc/a", "inline:{ x=smtp:[127.0.0.1]:25, y=z }", "hash:/etc/b"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
