package maincf

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Host-dependent defaults, computed like postconf_builtin.c does it:
//
//	myhostname  gethostname(); without a dot, "." and main.cf's mydomain
//	            (expanded through main.cf alone) or "localdomain" appended
//	mydomain    what follows the first dot of myhostname (main.cf's,
//	            expanded through main.cf alone, else the default above),
//	            or "localdomain"
//	mynetworks  the addresses of the up interfaces (IPv4 first, then IPv6)
//	            masked by mynetworks_style (host, subnet or class), for
//	            inet_interfaces "all", "loopback-only" or literal addresses
//	            and inet_protocols "all", "ipv4", "ipv6"
//	process_id  the PID of the running program
//
// hostname and interfaces are variables so that tests can pin them.
// Both are asked once per process: a generator or postmulti run is short.
var (
	hostname   = onceValues(os.Hostname)
	interfaces = onceValues(hostInterfaces)
)

func onceValues[T any](f func() (T, error)) func() (T, error) {
	return sync.OnceValues(f)
}

func (c *Config) hostDefault(s *state, name string) string {
	if v, ok := s.host[name]; ok {
		return v
	}
	var v string
	switch name {
	case "myhostname":
		v = c.checkMyhostname(s)
	case "mydomain":
		h := c.varMyhostname(s)
		if _, dom, ok := strings.Cut(h, "."); ok {
			v = dom
		} else {
			v = "localdomain"
		}
	case "mynetworks":
		v = c.mynetworks(s)
	case "process_id":
		v = processID
	default:
		v, _ = s.table.Default(name)
	}
	s.host[name] = v
	return v
}

func (c *Config) checkMyhostname(s *state) string {
	if v, ok := s.host["myhostname"]; ok {
		return v
	}
	h, err := hostname()
	if err != nil {
		panic(fatal{"gethostname: " + err.Error()})
	}
	if !strings.Contains(h, ".") {
		dom, ok := c.mailConfLookupEval(s, "mydomain")
		if !ok {
			dom = "localdomain"
		}
		h += "." + dom
	}
	s.host["myhostname"] = h
	return h
}

func (c *Config) varMyhostname(s *state) string {
	if v, ok := c.mailConfLookupEval(s, "myhostname"); ok {
		return v
	}
	return c.checkMyhostname(s)
}

// ifaceAddr is an address of an up interface with its prefix length.
type ifaceAddr struct {
	addr netip.Addr
	bits int
}

func hostInterfaces() ([]ifaceAddr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var v4, v6 []ifaceAddr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			bits, _ := ipn.Mask.Size()
			if ip.Is4() {
				v4 = append(v4, ifaceAddr{ip, bits})
			} else {
				v6 = append(v6, ifaceAddr{ip, bits})
			}
		}
	}
	return append(v4, v6...), nil
}

// confOrDefault is how pcf_mynetworks reads inet_interfaces and friends:
// main.cf's value expanded through main.cf alone, else the default
// expanded like postconf -x.
func (c *Config) confOrDefault(s *state, name string) string {
	if v, ok := c.mailConfLookupEval(s, name); ok {
		return v
	}
	d, _ := s.table.Default(name)
	return c.expandValue(s, d)
}

func (c *Config) mynetworks(s *state) string {
	ifaces := c.confOrDefault(s, "inet_interfaces")
	style := c.confOrDefault(s, "mynetworks_style")
	protos := c.confOrDefault(s, "inet_protocols")

	want4, want6 := false, false
	for _, p := range SplitList(protos) {
		switch strings.ToLower(p) {
		case "all":
			want4, want6 = true, true
		case "ipv4":
			want4 = true
		case "ipv6":
			want6 = true
		default:
			panic(fatal{"bad inet_protocols value: " + protos})
		}
	}
	if !want4 && !want6 {
		return ""
	}
	st := strings.ToLower(strings.TrimSpace(style))
	if st != "host" && st != "subnet" && st != "class" {
		panic(fatal{"bad mynetworks_style value: " + style + "; specify exactly one value"})
	}
	all, err := interfaces()
	if err != nil {
		panic(fatal{"list network interfaces: " + err.Error()})
	}
	var addrs []ifaceAddr
	for _, w := range SplitList(ifaces) {
		switch strings.ToLower(w) {
		case "all":
			addrs = append(addrs, all...)
		case "loopback-only":
			for _, a := range all {
				if a.addr.IsLoopback() {
					addrs = append(addrs, a)
				}
			}
		default:
			ip, err := netip.ParseAddr(strings.Trim(w, "[]"))
			if err != nil {
				panic(fatal{"inet_interfaces: " + w + ": not supported by this package (only all, loopback-only and addresses)"})
			}
			for _, a := range all {
				if a.addr == ip {
					addrs = append(addrs, a)
				}
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		if a.addr.Is4() && !want4 || a.addr.Is6() && !want6 {
			continue
		}
		bits := a.bits
		if a.addr.Is4() {
			switch st {
			case "host":
				bits = 32
			case "class":
				b := a.addr.As4()[0]
				switch {
				case b < 128:
					bits = 8
				case b < 192:
					bits = 16
				case b < 224:
					bits = 24
				default:
					bits = 4
				}
			}
		} else if st == "host" {
			bits = 128
		}
		p, _ := a.addr.Prefix(bits)
		var text string
		if a.addr.Is4() {
			text = p.Addr().String() + "/" + strconv.Itoa(bits)
		} else {
			text = "[" + p.Addr().String() + "]/" + strconv.Itoa(bits)
		}
		if !seen[text] {
			seen[text] = true
			out = append(out, text)
		}
	}
	return strings.Join(out, " ")
}
