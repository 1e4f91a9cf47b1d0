package check

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMasterCFAgainstPostconf parses every master.cf of the test trees
// (and of the generator's walk-through) and compares the services, in
// order, and their -o options with what the real "postconf -M" and
// "postconf -P" print for the same directory.
func TestMasterCFAgainstPostconf(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs Postfix's postconf")
	}
	postconf, err := exec.LookPath("postconf")
	if err != nil {
		t.Fatalf("postconf (Debian's postfix package) is needed: %v", err)
	}
	files, _ := filepath.Glob("testdata/*/root/etc/*/master.cf")
	more, _ := filepath.Glob("../../generator/testdata/walkthrough/root/etc/*/master.cf")
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("only %d master.cf files found", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := parseMasterCF(f, data)
			var got, gotOpts []string
			for _, s := range m.Services {
				got = append(got, s.Name+" "+s.Type+" "+s.Command)
				for k, v := range s.Options {
					gotOpts = append(gotOpts, strings.TrimSpace(s.Name+"/"+s.Type+"/"+k+" = "+v))
				}
			}
			dir := filepath.Dir(f)
			out, err := exec.Command(postconf, "-c", dir, "-M").Output()
			if err != nil {
				t.Fatalf("postconf -M: %v", err)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				w := strings.Fields(l)
				want = append(want, w[0]+" "+w[1]+" "+filepath.Base(w[7]))
			}
			if !slices.Equal(got, want) {
				t.Errorf("services:\n got %q\nwant %q", got, want)
			}
			out, err = exec.Command(postconf, "-c", dir, "-P").Output()
			if err != nil {
				t.Fatalf("postconf -P: %v", err)
			}
			var wantOpts []string
			if s := strings.TrimSpace(string(out)); s != "" {
				wantOpts = strings.Split(s, "\n")
			}
			slices.Sort(gotOpts)
			slices.Sort(wantOpts)
			if !slices.Equal(gotOpts, wantOpts) {
				t.Errorf("-o options:\n got %q\nwant %q", gotOpts, wantOpts)
			}
		})
	}
}

// TestClashesAsTheKernel binds pairs of listening sockets as Postfix's
// inet_listen does (SO_REUSEADDR, SO_REUSEPORT; IPV6_V6ONLY for IPv6),
// connects to each loopback address on their port, and checks what
// clashes says: the bind never fails; an address that both cover has its
// connections split between them when both bound it, and taken by the
// specific one when the other is a wildcard; clashes is true exactly when
// some address is covered by both.
func TestClashesAsTheKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: binds sockets")
	}
	addrs := []string{"0.0.0.0", "127.0.0.1", "127.0.0.2", "::", "::1"}
	targets := []string{"127.0.0.1", "127.0.0.2", "::1"}
	for _, a := range addrs {
		for _, b := range addrs {
			la, err := listen(a, 0)
			if err != nil {
				t.Fatalf("listen %s: %v", a, err)
			}
			port := la.Addr().(*net.TCPAddr).Port
			lb, err := listen(b, port)
			if err != nil {
				t.Fatalf("%s bound first, listen %s on the same port: %v (Postfix would fail to start)", a, b, err)
			}
			xa := listener{addr: netip.MustParseAddr(a), port: port}
			xb := listener{addr: netip.MustParseAddr(b), port: port}
			both := false
			for _, target := range targets {
				to := netip.AddrPortFrom(netip.MustParseAddr(target), uint16(port))
				gotA, gotB := connections(t, to, la, lb)
				ca, cb := xa.covers(to), xb.covers(to)
				both = both || (ca && cb)
				var wantA, wantB bool
				switch {
				case ca && cb && xa.addr == xb.addr:
					wantA, wantB = true, true // split
				case ca && cb:
					wantA, wantB = !xa.addr.IsUnspecified(), !xb.addr.IsUnspecified()
				default:
					wantA, wantB = ca, cb
				}
				if gotA != wantA || gotB != wantB {
					t.Errorf("%s and %s, connecting to %s: received by the first %v, by the second %v; want %v, %v", a, b, to, gotA, gotB, wantA, wantB)
				}
			}
			if got := xa.clashes(xb); got != both {
				t.Errorf("%s and %s: clashes %v, an address reaches both %v", a, b, got, both)
			}
			la.Close()
			lb.Close()
		}
	}
}

// connections makes 32 connections to to, which wait in the accept
// queues, and reports which of the two listeners has any.
func connections(t *testing.T, to netip.AddrPort, la, lb net.Listener) (bool, bool) {
	t.Helper()
	for range 32 {
		c, err := net.DialTimeout("tcp", to.String(), time.Second)
		if err == nil {
			defer c.Close()
		}
	}
	got := func(l net.Listener) bool {
		any := false
		for {
			l.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Millisecond))
			c, err := l.Accept()
			if err != nil {
				return any
			}
			any = true
			c.Close()
		}
	}
	return got(la), got(lb)
}

// listen binds addr:port as Postfix's inet_listen does.
func listen(addr string, port int) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
			}
			if serr == nil && strings.Contains(address, "[") {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network := "tcp4"
	if strings.Contains(addr, ":") {
		network = "tcp6"
	}
	return lc.Listen(context.Background(), network, net.JoinHostPort(addr, strconv.Itoa(port)))
}

// soReusePort is Linux's SO_REUSEPORT.
const soReusePort = 0xf
