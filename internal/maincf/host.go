package maincf

import (
	"context"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
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
//	            inet_interfaces "all", "loopback-only", addresses, or host
//	            names (looked up in /etc/hosts only, or with DNS too under
//	            CheckInterfaces), and inet_protocols "all", "ipv4",
//	            "ipv6"; computed on demand only, or at start-up as
//	            postconf does under Config.CheckInterfaces
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
	if v, ok := s.hostValue(name); ok {
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
		if s.loading && !s.checkIfaces {
			// postconf computes it here; we only check what can be
			// checked without the interfaces, and compute on demand
			// (see Config.CheckInterfaces).
			c.netPrelude(s)
			return ""
		}
		v = c.mynetworks(s)
	case "process_id":
		v = processID
	default:
		v, _ = s.table.Default(name)
	}
	s.setHost(name, v)
	return v
}

// hostValue is a host parameter's default, once computed.
type hostValue struct{ name, value string }

func (s *state) hostValue(name string) (string, bool) {
	for _, h := range s.host {
		if h.name == name {
			return h.value, true
		}
	}
	return "", false
}

func (s *state) setHost(name, v string) {
	for i := range s.host {
		if s.host[i].name == name {
			s.host[i].value = v
			return
		}
	}
	if s.host == nil {
		s.host = s.hostBuf[:0] // four, in the built-in table
	}
	s.host = append(s.host, hostValue{name, v})
}

func (c *Config) checkMyhostname(s *state) string {
	if v, ok := s.hostValue("myhostname"); ok {
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
	s.setHost("myhostname", h)
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
	return c.expandDefault(s, name, d)
}

// netSettings are the inputs of mynetworks.
type netSettings struct {
	ifaces       []string
	style        string
	want4, want6 bool
}

// protocols parses inet_protocols as inet_proto_init does: exact,
// case-sensitive words.
func protocols(ifaces, protos string) netSettings {
	n := netSettings{ifaces: SplitList(ifaces)}
	for _, p := range SplitList(protos) {
		switch p {
		case "all":
			n.want4, n.want6 = true, true
		case "ipv4":
			n.want4 = true
		case "ipv6":
			n.want6 = true
		default:
			panic(fatal{`unknown inet_protocols value "` + p + `" in "` + protos + `"`})
		}
	}
	return n
}

// netPrelude evaluates inet_interfaces, mynetworks_style and
// inet_protocols, failing (panic fatal) where postconf fails on them.
func (c *Config) netPrelude(s *state) netSettings {
	if s.net != nil {
		return *s.net
	}
	ifaces := c.confOrDefault(s, "inet_interfaces")
	style := c.confOrDefault(s, "mynetworks_style")
	n := protocols(ifaces, c.confOrDefault(s, "inet_protocols"))
	if n.want4 || n.want6 {
		// name_mask: exact, case-sensitive words, exactly one.
		var styles []string
		for _, w := range SplitList(style) {
			switch w {
			case "host", "subnet", "class":
				if !slices.Contains(styles, w) {
					styles = append(styles, w)
				}
			default:
				panic(fatal{`unknown mynetworks mask style value "` + w + `" in "` + style + `"`})
			}
		}
		if len(styles) != 1 {
			panic(fatal{"bad mynetworks_style value: " + style + "; specify exactly one value"})
		}
		n.style = styles[0]
	}
	s.net = &n
	return n
}

// CheckLocalInterfaces checks what every Postfix program but postconf
// checks as it reads main.cf (mail_params_init): inet_protocols, then
// that each address that inet_interfaces names is the host's, whether or
// not main.cf sets mynetworks. postmulti does so for the default
// main.cf. Host names are resolved as Postfix resolves them (DNS too).
// The error is an *ExpandError in Postfix's words, naming the parameter.
func (c *Config) CheckLocalInterfaces() (err error) {
	s := c.state()
	if s.err != nil {
		return s.err
	}
	at := "inet_interfaces" // what a failure names
	mark := len(s.warn)
	defer func() {
		w := append([]string(nil), s.warn[mark:]...)
		s.warn = s.warn[:mark]
		if r := recover(); r != nil {
			err = c.recovered(r, at, w)
		}
	}()
	ifaces := c.confOrDefault(s, at)
	at = "inet_protocols"
	n := protocols(ifaces, c.confOrDefault(s, at))
	if n.want4 || n.want6 {
		at = "inet_interfaces"
		c.localAddrs(n, true)
	}
	return nil
}

// mynetworks computes the mynetworks default from the host's interfaces.
// It runs only when the value is asked for, not when a Config is loaded
// (postconf computes it at start-up and fails on an inet_interfaces
// address that no interface has yet): so that an instance whose
// interfaces are not up at boot still gets its units. With
// CheckInterfaces it also runs at start-up, as with postconf.
func (c *Config) mynetworks(s *state) string {
	n := c.netPrelude(s)
	if !n.want4 && !n.want6 {
		return ""
	}
	addrs := c.localAddrs(n, s.checkIfaces)
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		if a.addr.Is4() && !n.want4 || a.addr.Is6() && !n.want6 {
			continue
		}
		bits := a.bits
		if a.addr.Is4() {
			switch n.style {
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
		} else if n.style == "host" {
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

// localAddrs returns the host's interface addresses that inet_interfaces
// names (own_inet_addr_list), failing (panic fatal) as Postfix fails on
// an address that is not the host's or a name that does not resolve.
// Names are resolved with DNS when dns is set, else in hostsFile only.
func (c *Config) localAddrs(n netSettings, dns bool) []ifaceAddr {
	all, err := interfaces()
	if err != nil {
		panic(fatal{"list network interfaces: " + err.Error()})
	}
	var addrs []ifaceAddr
	local := func(ip netip.Addr, text string) {
		for _, a := range all {
			if a.addr == ip {
				addrs = append(addrs, a)
				return
			}
		}
		panic(fatal{"parameter inet_interfaces: no local interface found for " + text})
	}
	for _, w := range n.ifaces {
		switch w { // exact words, as Postfix compares them
		case "all":
			addrs = append(addrs, all...)
		case "loopback-only":
			for _, a := range all {
				if a.addr.IsLoopback() {
					addrs = append(addrs, a)
				}
			}
		default:
			host := strings.TrimSuffix(strings.TrimPrefix(w, "["), "]")
			if ip, err := netip.ParseAddr(host); err == nil {
				if ip = ip.Unmap(); ip.Is4() && !n.want4 || ip.Is6() && !n.want6 {
					panic(fatal{"config variable inet_interfaces: host not found: " + w})
				}
				local(ip, host)
				continue
			}
			var ips []netip.Addr
			if dns {
				ips = resolveHost(host)
			} else {
				ips = lookupHosts(host)
			}
			if len(ips) == 0 {
				panic(fatal{"config variable inet_interfaces: host not found: " + w})
			}
			for _, ip := range ips {
				if ip.Is4() && n.want4 || ip.Is6() && n.want6 {
					local(ip, ip.String())
				}
			}
		}
	}
	return addrs
}

// hostsFile is where host names in inet_interfaces are looked up by
// default. DNS is not asked: a generator runs before the network is up.
var hostsFile = "/etc/hosts"

// resolveHost looks a host name in inet_interfaces up as postconf does
// (getaddrinfo: /etc/hosts, then DNS) for a Config with CheckInterfaces:
// postmulti runs when the network is up, and a name only DNS knows must
// not make it fail where upstream does not. A variable for tests.
var resolveHost = func(name string) []netip.Addr {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips
}

// lookupHosts returns the addresses of name in hostsFile, in file order.
func lookupHosts(name string) []netip.Addr {
	data, err := os.ReadFile(hostsFile)
	if err != nil {
		return nil
	}
	var ips []netip.Addr
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		for _, h := range f[1:] {
			if strings.EqualFold(h, name) {
				ips = append(ips, ip.Unmap())
				break
			}
		}
	}
	return ips
}
