//go:build upgrade || quickstart

package e2e

import (
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// The container reaches its tree's apt mirror through a pipe: systemd's
// socket proxy inside listens on mirrorProxy and forwards to a Unix socket
// the test binds in from the host, where the test forwards to the mirror
// named in the tree's own sources.list. The container keeps its private
// network; nothing but apt's HTTP requests leaves it.
const (
	mirrorProxy   = "127.0.0.1:3142"
	mirrorSockDir = "/run/pfi-mirror"
)

var mirrorFiles = []harness.File{
	{Path: "/etc/systemd/system/pfi-mirror.socket", Data: []byte("[Unit]\nDescription=pfi test: the apt mirror, through the host\n" +
		"[Socket]\nListenStream=" + mirrorProxy + "\n[Install]\nWantedBy=sockets.target\n")},
	{Path: "/etc/systemd/system/pfi-mirror.service", Data: []byte("[Unit]\nDescription=pfi test: the apt mirror, through the host\n" +
		"Requires=pfi-mirror.socket\nAfter=pfi-mirror.socket\n" +
		"[Service]\nExecStart=/usr/lib/systemd/systemd-socket-proxyd " + mirrorSockDir + "/mirror.sock\n")},
	{Path: "/etc/apt/apt.conf.d/99pfi-mirror", Data: []byte(`Acquire::http::Proxy "http://` + mirrorProxy + `/";` + "\n")},
}

// mirrorTunnel reads the mirror from tree's own /etc/apt/sources.list and
// forwards every connection to a Unix socket it creates, in a directory
// of its own, to that mirror; it returns the socket's path.
func mirrorTunnel(t *testing.T, tree string) string {
	t.Helper()
	mirror, err := harness.Mirror(filepath.Join(tree, "etc", "apt"))
	if err != nil {
		t.Fatalf("the tree's apt mirror: %v", err)
	}
	u, err := url.Parse(mirror)
	if err != nil || u.Scheme != "http" {
		t.Fatalf("the tree's apt mirror %q: want an http:// URI (the tunnel passes apt's proxy requests as they are), %v", mirror, err)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "mirror.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.DialTimeout("tcp", addr, 30*time.Second)
				if err != nil {
					t.Logf("mirror tunnel: %v", err)
					return
				}
				defer out.Close()
				done := make(chan struct{})
				go func() {
					_, _ = io.Copy(out, in)
					if tc, ok := out.(*net.TCPConn); ok {
						_ = tc.CloseWrite()
					}
					close(done)
				}()
				_, _ = io.Copy(in, out)
				<-done
			}()
		}
	}()
	t.Logf("the container's apt reaches %s (%s) through %s", mirror, addr, sock)
	return sock
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
