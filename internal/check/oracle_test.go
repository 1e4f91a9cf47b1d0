package check

import (
	"context"
	"errors"
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

// TestClashesAsTheKernel binds pairs of listening sockets the way Postfix
// does (SO_REUSEADDR; IPV6_V6ONLY for IPv6) and checks that clashes says
// a pair clashes exactly when the kernel refuses the second bind.
func TestClashesAsTheKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: binds sockets")
	}
	addrs := []string{"0.0.0.0", "127.0.0.1", "127.0.0.2", "::", "::1"}
	for _, a := range addrs {
		for _, b := range addrs {
			first, err := listen(a, 0)
			if err != nil {
				t.Fatalf("listen %s: %v", a, err)
			}
			port := first.Addr().(*net.TCPAddr).Port
			second, err := listen(b, port)
			refused := errors.Is(err, syscall.EADDRINUSE)
			if err != nil && !refused {
				t.Fatalf("listen %s: %v", b, err)
			}
			if second != nil {
				second.Close()
			}
			first.Close()
			la := listener{addr: netip.MustParseAddr(a), port: port}
			lb := listener{addr: netip.MustParseAddr(b), port: port}
			if got := la.clashes(lb); got != refused {
				t.Errorf("%s and %s on one port: clashes %v, kernel refused %v", a, b, got, refused)
			}
		}
	}
}

// listen binds addr:port as Postfix's inet_listen does.
func listen(addr string, port int) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
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
