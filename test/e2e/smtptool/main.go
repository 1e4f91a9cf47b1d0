// Command smtptool is the end-to-end tests' stand-in for the two programs
// around Postfix in the MULTI_INSTANCE_README walk-through: the internal
// destination that postfix-out delivers to ("sink"), and the content-filter
// proxy between postfix-in and postfix-out ("filter"). It is built
// statically and runs inside the test container as a systemd service.
//
//	smtptool sink -listen 127.0.0.1:2600 -dir /var/lib/pfi-sink
//	smtptool filter -listen 127.0.0.1:10025 -next 127.0.0.1:10026 -header 'X-PFI-Filter: passed'
//
// The sink accepts every message and stores it, with its envelope, as one
// file per recipient list, written atomically (temp file, rename).
//
// The filter is a before-queue style proxy: commands of a session are
// relayed one by one to the next hop, whose replies go back unchanged, so
// several transactions and several recipients per session work, DSN and
// 8BITMIME parameters pass through, and XFORWARD commands are passed on when
// the next hop offers XFORWARD. It adds one header at the top of every
// message so that a test can prove the mail went through it.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// trace logs the SMTP dialogue, for debugging.
var trace bool

func tracef(format string, args ...any) {
	if trace {
		log.Printf(format, args...)
	}
}

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: smtptool sink|filter [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:2600", "address to listen on")
	dir := fs.String("dir", "/var/lib/pfi-sink", "sink: where to store messages")
	next := fs.String("next", "127.0.0.1:10026", "filter: the re-injection server")
	header := fs.String("header", "X-PFI-Filter: passed", "filter: header line added to every message")
	name := fs.String("name", "", "host name to greet with (default: the mode's name)")
	fs.BoolVar(&trace, "trace", false, "log every command and reply")
	_ = fs.Parse(os.Args[2:])
	if *name == "" {
		*name = "pfi-" + os.Args[1] + ".localdomain"
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("smtptool: %v", err)
	}
	var handle func(net.Conn)
	switch os.Args[1] {
	case "sink":
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			log.Fatalf("smtptool: %v", err)
		}
		s := &sink{dir: *dir, name: *name}
		handle = s.serve
	case "filter":
		f := &filter{next: *next, header: *header, name: *name}
		handle = f.serve
	default:
		log.Fatalf("smtptool: unknown mode %q", os.Args[1])
	}
	log.Printf("smtptool %s listening on %s", os.Args[1], ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatalf("smtptool: %v", err)
		}
		go handle(conn)
	}
}

// session is the server side of one SMTP connection.
type session struct {
	c  net.Conn
	tp *textproto.Conn
}

func newSession(c net.Conn) *session {
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	return &session{c: c, tp: textproto.NewConn(c)}
}

func (s *session) reply(code int, lines ...string) error {
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		tracef("S: %d%s%s", code, sep, l)
		if err := s.tp.PrintfLine("%d%s%s", code, sep, l); err != nil {
			return err
		}
	}
	return nil
}

// verb splits a command line into its upper-cased verb and the rest.
func verb(line string) (string, string) {
	v, rest, _ := strings.Cut(line, " ")
	return strings.ToUpper(v), rest
}

// readData reads a message up to the lone dot, still dot-stuffed, lines
// without their CRLF.
func (s *session) readData() ([]string, error) {
	var lines []string
	for {
		l, err := s.tp.ReadLine()
		if err != nil {
			return nil, err
		}
		if l == "." {
			tracef("C: (%d lines of data)", len(lines))
			return lines, nil
		}
		lines = append(lines, l)
	}
}

type sink struct {
	dir  string
	name string
	seq  atomic.Int64
}

func (k *sink) serve(c net.Conn) {
	defer c.Close()
	s := newSession(c)
	_ = s.reply(220, k.name+" ESMTP pfi test sink")
	var from string
	var rcpts []string
	for {
		line, err := s.tp.ReadLine()
		if err != nil {
			return
		}
		tracef("C: %s", line)
		v, rest := verb(line)
		switch v {
		case "EHLO":
			_ = s.reply(250, k.name, "8BITMIME", "DSN", "SMTPUTF8")
		case "HELO":
			_ = s.reply(250, k.name)
		case "MAIL":
			from, rcpts = rest, nil
			_ = s.reply(250, "2.1.0 Ok")
		case "RCPT":
			rcpts = append(rcpts, rest)
			_ = s.reply(250, "2.1.5 Ok")
		case "DATA":
			if from == "" || len(rcpts) == 0 {
				_ = s.reply(503, "5.5.1 need MAIL and RCPT first")
				continue
			}
			_ = s.reply(354, "End data with <CR><LF>.<CR><LF>")
			body, err := s.readData()
			if err != nil {
				return
			}
			if err := k.store(from, rcpts, body); err != nil {
				log.Printf("sink: %v", err)
				_ = s.reply(451, "4.3.0 cannot store message")
			} else {
				_ = s.reply(250, "2.0.0 Ok: stored")
			}
			from, rcpts = "", nil
		case "RSET":
			from, rcpts = "", nil
			_ = s.reply(250, "2.0.0 Ok")
		case "NOOP":
			_ = s.reply(250, "2.0.0 Ok")
		case "QUIT":
			_ = s.reply(221, "2.0.0 Bye")
			return
		default:
			_ = s.reply(502, "5.5.2 command not implemented")
		}
	}
}

// store writes one message: envelope lines, then the message, dot-stuffing
// undone, atomically.
func (k *sink) store(from string, rcpts, body []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "X-Sink-Envelope-From: %s\n", from)
	for _, r := range rcpts {
		fmt.Fprintf(&b, "X-Sink-Envelope-To: %s\n", r)
	}
	for _, l := range body {
		b.WriteString(strings.TrimPrefix(l, "."))
		b.WriteByte('\n')
	}
	name := fmt.Sprintf("%d-%06d.eml", time.Now().UnixNano(), k.seq.Add(1))
	tmp := filepath.Join(k.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(k.dir, name))
}

type filter struct {
	next   string
	header string
	name   string
}

// downstream is the client side towards the next hop.
type downstream struct {
	conn     net.Conn
	tp       *textproto.Conn
	xforward bool
}

func (f *filter) dial() (*downstream, error) {
	conn, err := net.DialTimeout("tcp", f.next, 30*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
	d := &downstream{conn: conn, tp: textproto.NewConn(conn)}
	if _, _, err := d.tp.ReadResponse(220); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting from %s: %w", f.next, err)
	}
	code, msg, err := d.cmd("EHLO " + f.name)
	if err != nil || code != 250 {
		conn.Close()
		return nil, fmt.Errorf("EHLO to %s: %d %s %v", f.next, code, msg, err)
	}
	for _, ext := range strings.Split(msg, "\n") {
		if v, _ := verb(ext); v == "XFORWARD" {
			d.xforward = true
		}
	}
	return d, nil
}

// cmd sends one command and reads its (possibly multi-line) reply.
func (d *downstream) cmd(line string) (int, string, error) {
	tracef("> %s", line)
	if err := d.tp.PrintfLine("%s", line); err != nil {
		return 0, "", err
	}
	return readReply(d.tp)
}

// readReply reads a reply of any code; textproto's ReadResponse would turn
// a code it did not expect into an error and lose the code.
func readReply(tp *textproto.Conn) (int, string, error) {
	code, msg, err := tp.ReadResponse(0)
	defer func() { tracef("< %d %q %v", code, msg, err) }()
	var perr *textproto.Error
	if errors.As(err, &perr) {
		return perr.Code, perr.Msg, nil
	}
	return code, msg, err
}

// relay passes a reply from downstream back upstream, line by line.
func relay(s *session, code int, msg string) error {
	return s.reply(code, strings.Split(msg, "\n")...)
}

func (f *filter) serve(c net.Conn) {
	defer c.Close()
	s := newSession(c)
	_ = s.reply(220, f.name+" ESMTP pfi test filter")
	var d *downstream
	defer func() {
		if d != nil {
			_, _, _ = d.cmd("QUIT")
			d.conn.Close()
		}
	}()
	var xforward []string // XFORWARD commands for the next transaction
	for {
		line, err := s.tp.ReadLine()
		if err != nil {
			return
		}
		tracef("C: %s", line)
		v, _ := verb(line)
		switch v {
		case "EHLO":
			_ = s.reply(250, f.name, "PIPELINING", "8BITMIME", "DSN",
				"XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT")
			continue
		case "HELO":
			_ = s.reply(250, f.name)
			continue
		case "XFORWARD":
			xforward = append(xforward, line)
			_ = s.reply(250, "2.0.0 Ok")
			continue
		case "NOOP":
			_ = s.reply(250, "2.0.0 Ok")
			continue
		case "QUIT":
			_ = s.reply(221, "2.0.0 Bye")
			return
		case "MAIL":
			if d == nil {
				if d, err = f.dial(); err != nil {
					log.Printf("filter: %v", err)
					_ = s.reply(451, "4.4.1 next hop unavailable")
					d = nil
					continue
				}
			}
			if d.xforward {
				for _, x := range xforward {
					if code, msg, err := d.cmd(x); err != nil || code != 250 {
						log.Printf("filter: %s: %d %s %v", x, code, msg, err)
					}
				}
			}
			xforward = nil
		case "RCPT", "RSET":
		case "DATA":
			if d == nil {
				_ = s.reply(503, "5.5.1 need MAIL first")
				continue
			}
			if err := f.data(s, d); err != nil {
				log.Printf("filter: DATA: %v", err)
				return
			}
			continue
		default:
			_ = s.reply(502, "5.5.2 command not implemented")
			continue
		}
		if d == nil {
			_ = s.reply(503, "5.5.1 need MAIL first")
			continue
		}
		code, msg, err := d.cmd(line)
		if err != nil {
			log.Printf("filter: %s: %v", v, err)
			_ = s.reply(451, "4.4.2 lost the next hop")
			return
		}
		_ = relay(s, code, msg)
	}
}

// data relays one DATA phase, adding the filter's header on top.
func (f *filter) data(s *session, d *downstream) error {
	code, msg, err := d.cmd("DATA")
	if err != nil {
		return err
	}
	if code != 354 {
		return relay(s, code, msg)
	}
	if err := s.reply(354, "End data with <CR><LF>.<CR><LF>"); err != nil {
		return err
	}
	body, err := s.readData()
	if err != nil {
		return err
	}
	w := bufio.NewWriter(d.conn)
	fmt.Fprintf(w, "%s\r\n", f.header)
	for _, l := range body { // still dot-stuffed: pass as is
		fmt.Fprintf(w, "%s\r\n", l)
	}
	io.WriteString(w, ".\r\n")
	if err := w.Flush(); err != nil {
		return err
	}
	code, msg, err = readReply(d.tp)
	if err != nil {
		return err
	}
	return relay(s, code, msg)
}
