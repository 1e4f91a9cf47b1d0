package check

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// listener is one socket an inet service of an instance binds.
type listener struct {
	addr    netip.Addr // an unspecified address (0.0.0.0, ::) is the wildcard of its family
	port    int
	service string // the master.cf service name
	line    int    // its master.cf line
	canon   string // master's canonical name: "[ADDR]:PORT" or "PORT"
}

func (l listener) String() string { return netip.AddrPortFrom(l.addr, uint16(l.port)).String() }

// covers reports whether a socket bound as l receives connections to a.
func (l listener) covers(a netip.AddrPort) bool {
	if int(a.Port()) != l.port || l.addr.Is4() != a.Addr().Is4() {
		return false
	}
	return l.addr.IsUnspecified() || l.addr == a.Addr()
}

// clashes reports whether some connection could reach both l and o: the
// same port and family, and the same address or a wildcard on either side
// (Postfix sets IPV6_V6ONLY, so the families never meet). Binding never
// fails then: Postfix sets SO_REUSEPORT, and masters run as root. With the
// same address, the kernel splits the connections between the two; with
// a wildcard and an address, the address's socket takes every connection
// to it, and the wildcard's never sees one.
func (l listener) clashes(o listener) bool {
	if l.port != o.port || l.addr.Is4() != o.addr.Is4() {
		return false
	}
	return l.addr == o.addr || l.addr.IsUnspecified() || o.addr.IsUnspecified()
}

// protocols is inet_protocols: which families are on.
type protocols struct{ v4, v6 bool }

func parseProtocols(v string) protocols {
	var p protocols
	for _, w := range maincf.SplitList(strings.ToLower(v)) {
		switch w {
		case "all":
			p.v4, p.v6 = true, true
		case "ipv4":
			p.v4 = true
		case "ipv6":
			p.v6 = true
		}
	}
	return p
}

func (p protocols) has(a netip.Addr) bool {
	if a.Is4() {
		return p.v4
	}
	return p.v6
}

// host resolves names the way the checks can without DNS: numeric
// addresses, and names from the host's /etc/hosts ("localhost" without
// one).
type host struct {
	names map[string][]netip.Addr
}

func loadHosts(data []byte) host {
	h := host{names: map[string][]netip.Addr{}}
	if data == nil {
		h.names["localhost"] = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
		return h
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, n := range f[1:] {
			n = strings.ToLower(n)
			h.names[n] = append(h.names[n], a.Unmap())
		}
	}
	return h
}

// resolve returns host's addresses; false for a name it cannot resolve.
func (h host) resolve(name string) ([]netip.Addr, bool) {
	name = strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
	if a, err := netip.ParseAddr(name); err == nil {
		return []netip.Addr{a.Unmap().WithZone("")}, true
	}
	as, ok := h.names[strings.ToLower(name)]
	return as, ok
}

// services maps service names to ports: /etc/services, else the mail
// ones.
type services map[string]int

func loadServices(data []byte) services {
	s := services{"smtp": 25, "submission": 587, "submissions": 465, "smtps": 465, "lmtp": 24}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasSuffix(f[1], "/tcp") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(f[1], "/tcp"))
		if err != nil {
			continue
		}
		for _, name := range f {
			if name == f[1] {
				continue
			}
			s[name] = n
		}
	}
	return s
}

func (s services) port(p string) (int, bool) {
	if n, err := strconv.Atoi(p); err == nil {
		return n, n > 0 && n < 65536
	}
	n, ok := s[p]
	return n, ok
}

// splitHostPort is Postfix's host_port(): "[host]:port", "host:port" (the
// last colon, so "::1:smtp" works), or "port" alone.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			host, rest := s[1:i], s[i+1:]
			return host, strings.TrimPrefix(rest, ":")
		}
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// env is what resolving needs from the host.
type env struct {
	hosts    host
	services services
}

// listen computes every instance's listeners and reports clashes.
func (c *checker) listen() {
	hostsData, _ := readText(c.fsys, "/etc/hosts")
	servicesData, _ := readText(c.fsys, "/etc/services")
	c.env = env{hosts: loadHosts(hostsData), services: loadServices(servicesData)}
	e := c.env
	for _, x := range c.insts {
		name := path.Join(x.spec.ConfigDir, "master.cf")
		data, err := readText(c.fsys, name)
		if err != nil {
			c.note("%s: cannot read %s (%v): its services are not checked", x.label, name, errText(err))
			continue
		}
		x.master = parseMasterCF(name, data)
		x.listeners = c.listeners(x, e)
	}
	// Clashes, once per pair of services, on the later one.
	type pair struct{ a, b string }
	seen := map[pair]bool{}
	for j, y := range c.insts {
		for _, ly := range y.listeners {
			for _, x := range c.insts[:j+1] {
				for _, lx := range x.listeners {
					if x == y && lx.line >= ly.line {
						break
					}
					if !lx.clashes(ly) {
						continue
					}
					key := pair{x.label + "\x00" + lx.service, y.label + "\x00" + ly.service}
					if seen[key] {
						continue
					}
					seen[key] = true
					sev := Error
					if !x.Enabled || !y.Enabled {
						sev = Warning
					}
					whose := "instance " + x.label + "'s"
					if x.Default {
						whose = "the default instance's"
					}
					if x == y {
						whose = "this instance's"
					}
					other := fmt.Sprintf("%s service %s (%s:%d)", whose, lx.service, x.master.Path, lx.line)
					var msg string
					switch {
					case lx.addr == ly.addr:
						msg = fmt.Sprintf("service %s listens on %s, as does %s: both bind it (Postfix sets SO_REUSEPORT) and the kernel splits the connections between them",
							ly.service, ly, other)
					case lx.addr.IsUnspecified():
						msg = fmt.Sprintf("service %s listens on %s, and %s on %s: connections to %s all go to this service, never to that one",
							ly.service, ly, other, lx, ly)
					default:
						msg = fmt.Sprintf("service %s listens on %s, and %s on %s: connections to %s all go to that service, never to this one",
							ly.service, ly, other, lx, lx)
					}
					if sev == Warning {
						msg += "; one of the two instances is disabled"
					}
					c.add(Finding{Severity: sev, Instance: y.label, File: y.master.Path, Line: ly.line, order: y.order,
						Check: CheckListen, Message: msg,
						Fix: "give one of the two services another address or port, or disable one of them"})
				}
			}
		}
	}
}

// listeners returns the sockets x's master binds: its inet services not
// disabled by master_service_disable, each on its host part or, without
// one, on inet_interfaces ("all": the wildcards), for the families of
// inet_protocols. As master(8), it ignores -o inet_interfaces overrides:
// master binds the sockets, with main.cf's value.
func (c *checker) listeners(x *inst, e env) []listener {
	protos := parseProtocols(expand(x.Instance, "inet_protocols"))
	disable := maincf.SplitList(expand(x.Instance, "master_service_disable"))
	if !protos.v4 && !protos.v6 {
		disable = append([]string{"inet"}, disable...) // as master does
	}
	ifaces := expand(x.Instance, "inet_interfaces")
	var groups [][]listener
	byCanon := map[string]int{}
	for _, s := range x.master.Services {
		if s.Type != "inet" || disabled(disable, s.Name, s.Type) {
			continue
		}
		hostPart, portPart := splitHostPort(s.Name)
		port, ok := e.services.port(portPart)
		if !ok {
			c.note("%s: %s:%d: unknown port %q in service %s: not checked", x.label, x.master.Path, s.Line, portPart, s.Name)
			continue
		}
		var addrs []netip.Addr
		canon := strconv.Itoa(port)
		if hostPart != "" {
			as, ok := e.hosts.resolve(hostPart)
			if !ok {
				c.note("%s: %s:%d: cannot resolve %q without DNS: service %s not checked", x.label, x.master.Path, s.Line, hostPart, s.Name)
				continue
			}
			addrs = as
			canon = "[" + strings.ToLower(hostPart) + "]:" + canon
		} else {
			addrs = c.interfaces(x, ifaces, protos, e)
		}
		var g []listener
		for _, a := range uniqAddrs(addrs) {
			if protos.has(a) {
				g = append(g, listener{addr: a, port: port, service: s.Name, line: s.Line, canon: canon})
			}
		}
		if i, ok := byCanon[canon]; ok {
			// The same endpoint again: master replaces the earlier entry.
			groups[i] = nil
		}
		byCanon[canon] = len(groups)
		groups = append(groups, g)
	}
	var out []listener
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// interfaces is what inet_interfaces makes master bind.
func (c *checker) interfaces(x *inst, ifaces string, protos protocols, e env) []netip.Addr {
	if strings.EqualFold(strings.TrimSpace(ifaces), "all") {
		return []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	}
	var out []netip.Addr
	for _, w := range maincf.SplitList(ifaces) {
		if strings.EqualFold(w, "loopback-only") {
			out = append(out, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
			continue
		}
		as, ok := e.hosts.resolve(w)
		if !ok {
			c.note("%s: cannot resolve inet_interfaces %q without DNS: not checked", x.label, w)
			continue
		}
		out = append(out, as...)
	}
	return out
}

func uniqAddrs(as []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range as {
		dup := false
		for _, b := range out {
			dup = dup || a == b
		}
		if !dup {
			out = append(out, a)
		}
	}
	return out
}

// errText is an error's text without the fs.PathError's operation and
// name (the note names the file).
func errText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
