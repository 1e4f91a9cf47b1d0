package main

import (
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serve runs handle on a loopback listener and returns its address.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}

// stored waits for n messages in dir and returns them.
func stored(t *testing.T, dir string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) >= n {
			var out []string
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, string(data))
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages stored, want %d", len(files), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dial opens an SMTP session as client.test, closed at cleanup.
func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// xforward sends one XFORWARD command and wants 250.
func xforward(t *testing.T, c *smtp.Client, line string) {
	t.Helper()
	id, err := c.Text.Cmd("%s", line)
	if err != nil {
		t.Fatal(err)
	}
	c.Text.StartResponse(id)
	defer c.Text.EndResponse(id)
	if _, _, err := c.Text.ReadResponse(250); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
}

// TestFilterToSink sends two transactions with several recipients over one
// session through the filter into the sink, with XFORWARD before each.
func TestFilterToSink(t *testing.T) {
	dir := t.TempDir()
	sinkAddr := serve(t, (&sink{dir: dir, name: "sink.test"}).serve)
	filterAddr := serve(t, (&filter{next: sinkAddr, header: "X-Test-Filter: yes", name: "filter.test"}).serve)

	c := dial(t, filterAddr)
	if ok, params := c.Extension("XFORWARD"); !ok || !strings.Contains(params, "HELO") {
		t.Fatalf("filter does not offer XFORWARD HELO: %v %q", ok, params)
	}
	for i, rcpts := range [][]string{{"a@example.com", "b@example.com"}, {"c@example.com"}} {
		xforward(t, c, "XFORWARD NAME=origin.test ADDR=192.0.2.1")
		if err := c.Mail("sender@example.org"); err != nil {
			t.Fatal(err)
		}
		for _, r := range rcpts {
			if err := c.Rcpt(r); err != nil {
				t.Fatal(err)
			}
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		body := "Subject: msg " + string(rune('0'+i)) + "\r\n\r\n.leading dot\r\nend\r\n"
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("end of data: %v", err)
		}
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	msgs := stored(t, dir, 2)
	joined := strings.Join(msgs, "\n----\n")
	for _, want := range []string{
		"X-Sink-Envelope-To: TO:<a@example.com>\nX-Sink-Envelope-To: TO:<b@example.com>\nX-Test-Filter: yes\nSubject: msg 0\n",
		"X-Sink-Envelope-To: TO:<c@example.com>\nX-Test-Filter: yes\nSubject: msg 1\n",
		"\n.leading dot\nend\n",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("stored messages lack %q:\n%s", want, joined)
		}
	}
}

// TestFilterPassesXFORWARD checks that XFORWARD reaches a next hop that
// offers it, before MAIL, and that the next hop's rejections come back.
func TestFilterPassesXFORWARD(t *testing.T) {
	got := make(chan string, 16)
	next := serve(t, func(conn net.Conn) {
		defer conn.Close()
		tp := textproto.NewConn(conn)
		tp.PrintfLine("220 next.test")
		for {
			l, err := tp.ReadLine()
			if err != nil {
				return
			}
			got <- l
			switch v, _ := verb(l); v {
			case "EHLO":
				tp.PrintfLine("250-next.test")
				tp.PrintfLine("250 XFORWARD NAME ADDR HELO")
			case "RCPT":
				tp.PrintfLine("550 5.1.1 no such user")
			case "QUIT":
				tp.PrintfLine("221 bye")
				return
			default:
				tp.PrintfLine("250 ok")
			}
		}
	})
	filterAddr := serve(t, (&filter{next: next, header: "X: y", name: "filter.test"}).serve)
	c := dial(t, filterAddr)
	xforward(t, c, "XFORWARD HELO=origin.test")
	if err := c.Mail("s@example.org"); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("nobody@example.com")
	if tpe, ok := err.(*textproto.Error); !ok || tpe.Code != 550 {
		t.Errorf("RCPT through the filter: err = %v, want the next hop's 550", err)
	}
	c.Quit()
	var seen []string
	for len(got) > 0 {
		seen = append(seen, <-got)
	}
	want := []string{"EHLO filter.test", "XFORWARD HELO=origin.test", "MAIL FROM:<s@example.org>", "RCPT TO:<nobody@example.com>"}
	if len(seen) < len(want) {
		t.Fatalf("next hop saw %q, want %q first", seen, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(seen[i], w) {
			t.Errorf("next hop's command %d = %q, want %q", i, seen[i], w)
		}
	}
}
