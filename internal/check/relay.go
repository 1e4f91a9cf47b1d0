package check

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// nexthopParams are the main.cf parameters (and master.cf -o overrides)
// whose value is "transport:nexthop"; relayhost is a nexthop alone.
var nexthopParams = []string{"content_filter", "default_transport", "relay_transport", "virtual_transport",
	"mailbox_transport", "fallback_transport", "relayhost"}

// dest is one place an instance sends mail to over TCP on loopback.
type dest struct {
	to     netip.AddrPort
	params []string // where it comes from: parameter names, or map entries
	file   string
	line   int
}

// relays reports loopback next hops nothing listens on, and instances
// with the same myhostname where one relays to the other.
func (c *checker) relays() {
	proc, procOK := c.procListeners()
	for _, x := range c.insts {
		for _, d := range c.destinations(x) {
			var servers []*inst
			for _, y := range c.insts {
				for _, l := range y.listeners {
					if l.covers(d.to) {
						servers = append(servers, y)
						break
					}
				}
			}
			what := strings.Join(d.params, ", ")
			if len(servers) == 0 || allDisabled(servers) {
				if procCovers(proc, d.to) {
					continue // another program listens there
				}
				msg := fmt.Sprintf("%s sends mail to %s, where no instance listens", what, d.to)
				if len(servers) > 0 {
					msg = fmt.Sprintf("%s sends mail to %s, where only disabled instance %s listens", what, d.to, labels(servers))
				}
				if procOK {
					msg += " and, by /proc/net/tcp, nothing else either"
				} else {
					msg += " (other programs not checked: no /proc/net/tcp)"
				}
				c.add(Finding{Severity: Warning, Instance: x.label, File: d.file, Line: d.line, order: x.order,
					Check: CheckNexthop, Message: msg,
					Fix: fmt.Sprintf("start what should listen on %s, or correct %s", d.to, d.params[0])})
				continue
			}
			mine := expand(x.Instance, "myhostname")
			for _, y := range servers {
				if y == x || mine == "" || !strings.EqualFold(expand(y.Instance, "myhostname"), mine) {
					continue
				}
				c.add(Finding{Severity: Error, Instance: x.label, File: d.file, Line: d.line, order: x.order,
					Check: CheckHostnameLoop,
					Message: fmt.Sprintf("%s sends mail to %s, where instance %s listens with the same myhostname %s: it greets with this instance's own name, and the mail bounces (\"mail for … loops back to myself\")",
						what, d.to, y.label, mine),
					Fix: fmt.Sprintf("give one of them another myhostname: postconf -c %s -e myhostname=NAME", y.spec.ConfigDir)})
			}
		}
	}
}

func allDisabled(xs []*inst) bool {
	for _, x := range xs {
		if x.Enabled {
			return false
		}
	}
	return true
}

func labels(xs []*inst) string {
	var s []string
	for _, x := range xs {
		s = append(s, x.label)
	}
	return strings.Join(s, ", ")
}

// destinations lists where x sends mail on loopback over smtp or lmtp:
// the parameters of nexthopParams in main.cf and as -o overrides in
// master.cf, and the entries of transport_maps that can be read without
// Postfix. One dest per address, with every source named.
func (c *checker) destinations(x *inst) []dest {
	var out []dest
	add := func(to netip.AddrPort, param, file string, line int) {
		for i := range out {
			if out[i].to == to {
				for _, p := range out[i].params {
					if p == param {
						return
					}
				}
				out[i].params = append(out[i].params, param)
				return
			}
		}
		out = append(out, dest{to: to, params: []string{param}, file: file, line: line})
	}
	defTransport := transportOf(expand(x.Instance, "default_transport"))
	value := func(param, v, file string, line int) {
		if param == "relayhost" {
			for _, h := range maincf.SplitList(v) {
				for _, to := range c.nexthop(x, "smtp", h) {
					add(to, param, file, line)
				}
			}
			return
		}
		t, hop, ok := strings.Cut(v, ":")
		if !ok || hop == "" {
			return
		}
		if t == "" {
			t = defTransport
		}
		for _, to := range c.nexthop(x, t, hop) {
			add(to, param, file, line)
		}
	}
	for _, p := range nexthopParams {
		v := expand(x.Instance, p)
		if v == "" {
			continue
		}
		value(p, v, x.spec.MainCF, paramLine(x.Instance, p))
	}
	if x.master != nil {
		for _, s := range x.master.Services {
			for _, p := range nexthopParams {
				raw, ok := s.Options[p]
				if !ok {
					continue
				}
				v, err := x.Config.ExpandString(raw)
				if err != nil || v == "" {
					continue
				}
				value(fmt.Sprintf("%s/%s -o %s", s.Name, s.Type, p), v, x.master.Path, s.OptLine[p])
			}
		}
	}
	for _, m := range splitMapList(expand(x.Instance, "transport_maps")) {
		typ, name, ok := strings.Cut(m, ":")
		if !ok {
			continue
		}
		var entries []mapEntry
		label := m
		switch typ {
		case "texthash", "regexp", "pcre":
			data, err := readText(c.fsys, name)
			if err != nil {
				c.note("%s: transport_maps %s: cannot read %s (%v): not checked", x.label, m, name, errText(err))
				continue
			}
			entries = textMap(name, data, typ != "texthash")
		case "inline":
			entries = inlineMap(x.spec.MainCF, paramLine(x.Instance, "transport_maps"), name)
			label = "inline:"
		default:
			c.note("%s: transport_maps %s is not checked (only Postfix reads %s: maps; texthash:, inline:, regexp: and pcre: are read)", x.label, m, typ)
			continue
		}
		for _, e := range entries {
			value(fmt.Sprintf("transport_maps %s entry %q", label, e.key), e.value, e.file, e.line)
		}
	}
	return out
}

// splitMapList splits a list of maps on commas and white space, as
// Postfix does with mystrtokq: a "{ … }" group stays in one piece
// ("inline:{ a=b, c=d }").
func splitMapList(s string) []string {
	var out []string
	start, depth := -1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case depth == 0 && (c == ',' || isBlank(c)):
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// transportOf is the transport part of "transport:nexthop".
func transportOf(v string) string {
	t, _, _ := strings.Cut(v, ":")
	return t
}

// nexthop returns the loopback TCP endpoints of a next hop for transport
// t: only when t runs smtp or lmtp (by x's master.cf, else by its name).
// Forms: "[host]:port", "host:port", "[host]", "host" (smtp port 25,
// lmtp 24), lmtp's "inet:…"; lists of them; "unix:…" is not TCP.
func (c *checker) nexthop(x *inst, t, hop string) []netip.AddrPort {
	cmd := t
	if s, ok := x.master.lookup(t, "unix"); ok {
		cmd = s.Command
	}
	var def int
	switch cmd {
	case "smtp":
		def = 25
	case "lmtp":
		def = 24
	default:
		return nil
	}
	var out []netip.AddrPort
	for _, h := range strings.FieldsFunc(hop, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if strings.HasPrefix(h, "unix:") {
			continue
		}
		h = strings.TrimPrefix(h, "inet:")
		var host, port string
		if strings.HasPrefix(h, "[") {
			host, port = splitHostPort(h)
		} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
			host, port = h[:i], h[i+1:]
		} else {
			host = h
		}
		p := def
		if port != "" {
			n, ok := c.env.services.port(port)
			if !ok {
				continue
			}
			p = n
		}
		addrs, ok := c.env.hosts.resolve(host)
		if !ok {
			continue
		}
		for _, a := range addrs {
			if a.IsLoopback() {
				out = append(out, netip.AddrPortFrom(a, uint16(p)))
			}
		}
	}
	return out
}

// mapEntry is one key and result of a map file.
type mapEntry struct {
	key, value string
	file       string
	line       int
}

// textMap reads a texthash: file ("key value", continuation lines start
// with white space) or, with patterns, a regexp:/pcre: file ("/re/
// value", "if"/"endif" skipped).
func textMap(name string, data []byte, patterns bool) []mapEntry {
	var out []mapEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || line[0] == ' ' || line[0] == '\t' {
			continue // continuation lines of results are rare in transport maps
		}
		var key, value string
		if patterns {
			if len(t) < 2 || (t[0] != '/' && t[0] != '!') {
				continue
			}
			end := strings.LastIndexAny(t, "/")
			if end <= 0 {
				continue
			}
			rest := t[end+1:]
			i := strings.IndexAny(rest, " \t")
			if i < 0 {
				continue
			}
			key, value = t[:end+1], strings.TrimSpace(rest[i:])
		} else {
			f := strings.Fields(t)
			if len(f) < 2 {
				continue
			}
			key, value = f[0], strings.Join(f[1:], " ")
		}
		out = append(out, mapEntry{key: key, value: value, file: name, line: n})
	}
	return out
}

// inlineMap reads an inline:{ key=value, … } map (Postfix 3.0).
func inlineMap(file string, line int, spec string) []mapEntry {
	spec = strings.TrimSpace(spec)
	spec = strings.TrimSuffix(strings.TrimPrefix(spec, "{"), "}")
	var out []mapEntry
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(item), "{"), "}"))
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			continue
		}
		out = append(out, mapEntry{key: strings.TrimSpace(k), value: strings.TrimSpace(v), file: file, line: line})
	}
	return out
}

// procListeners reads the TCP sockets in LISTEN state from
// /proc/net/tcp and /proc/net/tcp6; false when neither can be read.
func (c *checker) procListeners() ([]netip.AddrPort, bool) {
	var out []netip.AddrPort
	ok := false
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := readText(c.fsys, name)
		if err != nil {
			continue
		}
		ok = true
		out = append(out, parseProcNet(data)...)
	}
	return out, ok
}

// parseProcNet parses /proc/net/tcp{,6}: "sl local_address rem_address
// st …", addresses in hex, each 32-bit word in host (little-endian)
// order; state 0A is LISTEN.
func parseProcNet(data []byte) []netip.AddrPort {
	var out []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[3] != "0A" {
			continue
		}
		a, p, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		raw, err := hex.DecodeString(a)
		if err != nil || (len(raw) != 4 && len(raw) != 16) {
			continue
		}
		for i := 0; i+4 <= len(raw); i += 4 {
			raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
		}
		addr, _ := netip.AddrFromSlice(raw)
		port, err := hex.DecodeString(p)
		if err != nil || len(port) != 2 {
			continue
		}
		out = append(out, netip.AddrPortFrom(addr.Unmap(), uint16(port[0])<<8|uint16(port[1])))
	}
	return out
}

func procCovers(ls []netip.AddrPort, to netip.AddrPort) bool {
	for _, l := range ls {
		if l.Port() == to.Port() && l.Addr().Is4() == to.Addr().Is4() && (l.Addr().IsUnspecified() || l.Addr() == to.Addr()) {
			return true
		}
	}
	return false
}
