// Package e2e holds the end-to-end tests: the border-MTA walk-through of
// Postfix's MULTI_INSTANCE_README, run under real systemd as PID 1 in a
// systemd-nspawn container (see package harness), with this project's
// generator and unit template installed where Debian's were.
//
// This file holds the walk-through's instances and test services;
// steps.go its steps (Walk), which the demo (test/e2e/demo, make demo)
// runs too. The tests are in e2e_test.go and demo_test.go.
package e2e

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// Ports and addresses of the walk-through, all on the container's loopback.
const (
	InPort     = "2525"  // postfix-in's smtpd: "the Internet" side
	FilterPort = "10025" // the content filter
	OutPort    = "10026" // postfix-out's re-injection smtpd
	SinkPort   = "2600"  // the internal destination postfix-out delivers to

	// FilterHeader is added by the filter to every message it passes.
	FilterHeader = "X-PFI-Filter: passed"
	// SinkDir is where the sink stores messages inside the container.
	SinkDir = "/var/lib/pfi-sink"
	// ClientHELO is what the test client says; XFORWARD carries it past the
	// filter into postfix-out's Received: header.
	ClientHELO = "pfi-client.example.net"
)

// Product is this project's build, as files to install in the container.
type Product struct {
	Generator string // host path of the built generator
	SMTPTool  string // host path of the test sink/filter
	Root      string // the module root, for units/
	Shim      string // host path of the postmulti shim, when built (WithShim)
}

// WithShim adds the postmulti shim to the product; Files then installs it
// as /usr/sbin/postmulti, where the Debian package puts it (diverting
// upstream's).
func (p Product) WithShim(t harness.TB) Product {
	t.Helper()
	p.Shim = harness.MustBuildGo(t, "./cmd/postmulti")
	return p
}

// BuildProduct builds the generator and the test SMTP tool.
func BuildProduct(t harness.TB) Product {
	t.Helper()
	root, err := harness.ModuleRoot()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return Product{
		Generator: harness.MustBuildGo(t, "./cmd/postfix-instance-generator"),
		SMTPTool:  harness.MustBuildGo(t, "./test/e2e/smtptool"),
		Root:      root,
	}
}

// TemplateDropIn is where the Debian 12 package installs units/postfix@.service:
// as a drop-in over Debian's own postfix@.service template, which stays in
// place (units are never diverted; see the comment at the top of the
// template).
const TemplateDropIn = "/usr/lib/systemd/system/postfix@.service.d/20-postfix-instances.conf"

// Files are installed where the Debian package puts them (it diverts
// Debian's generator; on merged /usr, /lib/systemd/... is the same file;
// the template goes in as a drop-in on Debian's), plus the Scaffolding.
func (p Product) Files() []harness.File {
	var shim []harness.File
	if p.Shim != "" {
		shim = append(shim, harness.File{Path: "/usr/sbin/postmulti", Src: p.Shim, Mode: 0o755})
	}
	return append(append(shim, []harness.File{
		{Path: "/usr/lib/systemd/system-generators/postfix-instance-generator", Src: p.Generator, Mode: 0o755},
		{Path: TemplateDropIn, Src: filepath.Join(p.Root, "units/postfix@.service")},
		{Path: "/usr/lib/systemd/system/postfix@.service.d/40-debian-configure-instance.conf",
			Src: filepath.Join(p.Root, "units/debian/postfix@.service.d/40-debian-configure-instance.conf")},
	}...), Scaffolding(p.SMTPTool)...)
}

// Scaffolding is what the walk-through needs besides the product: the
// null-client main.cf of its default instance, and the content filter and
// the internal destination, test services run by smtptool (the host path
// of the built ./test/e2e/smtptool).
func Scaffolding(smtptool string) []harness.File {
	return []harness.File{
		{Path: "/usr/local/libexec/pfi-test/smtptool", Src: smtptool, Mode: 0o755},
		{Path: "/etc/systemd/system/pfi-sink.service", Data: []byte(sinkUnit)},
		{Path: "/etc/systemd/system/pfi-filter.service", Data: []byte(filterUnit)},
		{Path: "/etc/postfix/main.cf", Data: []byte(NullClientMainCF)},
	}
}

// NullClientMainCF is the default instance of the walk-through: a
// local-submission null client without inet services, relaying to a hub
// (which does not exist here; nothing is submitted locally).
const NullClientMainCF = `# The border MTA of MULTI_INSTANCE_README: the default instance is a
# local-submission null client.
compatibility_level = 3.6
myhostname = mta1.example.com
mydomain = example.com
myorigin = $mydomain
master_service_disable = inet
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
local_transport = error:5.1.1 Mailbox unavailable
alias_database =
alias_maps =
local_recipient_maps =
relayhost = [mailhub.example.com]
`

const sinkUnit = `[Unit]
Description=pfi test: internal SMTP destination on 127.0.0.1:` + SinkPort + `
[Service]
ExecStart=/usr/local/libexec/pfi-test/smtptool sink -listen 127.0.0.1:` + SinkPort + ` -dir ` + SinkDir + `
[Install]
WantedBy=multi-user.target
`

const filterUnit = `[Unit]
Description=pfi test: content filter 127.0.0.1:` + FilterPort + ` -> 127.0.0.1:` + OutPort + `
[Service]
ExecStart=/usr/local/libexec/pfi-test/smtptool filter -listen 127.0.0.1:` + FilterPort + ` -next 127.0.0.1:` + OutPort + ` -header "` + FilterHeader + `" -trace
[Install]
WantedBy=multi-user.target
`

// LocalUser is a local account (TestConfinedInstances creates it); mail to
// LocalUser@OutHost goes through postfix-in and the filter and is
// delivered by postfix-out's local(8) into Mailbox(LocalUser), which
// exercises what the unit's sandbox must leave open (local delivery runs as
// the recipient and creates the mailbox as root).
const (
	LocalUser = "pfi-user"
	OutHost   = "out.mta1.example.com"
)

// outSettings make postfix-out the post-filter re-injection instance
// (MULTI_INSTANCE_README, "Setting up the output Postfix instance"), with
// the internal destination being the sink. Unlike the README's, it also
// delivers mail for its own host name locally (to /var/mail/USER).
var outSettings = []string{
	"myhostname = " + OutHost,
	"inet_interfaces = loopback-only",
	"inet_protocols = ipv4",
	"mynetworks_style = host",
	"smtpd_authorized_xforward_hosts = $mynetworks",
	"smtpd_client_connection_count_limit = 0",
	"smtpd_client_event_limit_exceptions = $mynetworks",
	"local_header_rewrite_clients =",
	"mydestination = $myhostname",
	"alias_maps =",
	"alias_database =",
	"local_recipient_maps =",
	"local_transport = local:$myhostname",
	"smtpd_relay_restrictions =",
	"smtpd_recipient_restrictions = permit_mynetworks, reject",
	"parent_domain_matches_subdomains =",
	"relay_domains = example.com, .example.com",
	"smtpd_client_port_logging = no",
	// The internal destination.
	"relayhost = [127.0.0.1]:" + SinkPort,
}

// inSettings make postfix-in the pre-filter input instance ("Setting up the
// input Postfix instance"), sending everything to the filter.
var inSettings = []string{
	"myhostname = in.mta1.example.com",
	"inet_interfaces = loopback-only",
	"inet_protocols = ipv4",
	"mynetworks = 127.0.0.0/8",
	"mydestination =",
	"alias_maps =",
	"alias_database =",
	"local_recipient_maps =",
	"local_transport = error:5.1.1 Mailbox unavailable",
	"local_header_rewrite_clients =",
	"relay_domains = example.com, .example.com",
	"default_transport = smtp:[127.0.0.1]:" + FilterPort,
	"relay_transport = $default_transport",
	"virtual_transport = $default_transport",
	"transport_maps =",
	"smtp_send_xforward_command = yes",
	"smtp_destination_recipient_limit = 1000",
	"smtpd_client_port_logging = no",
}

// Instance is one secondary instance of the walk-through.
type Instance struct {
	Name, Group string // Name "" is a nameless instance (Dir required)
	// Dir is its config_directory when not ConfigDir(Name), given to
	// "postmulti -e create" as config_directory=Dir.
	Dir string
	// Create are further "postmulti -e create" settings: queue_directory=
	// and data_directory=, which a nameless instance must give.
	Create   []string
	Listen   string   // host:port of its smtpd, replacing "smtp inet"
	Settings []string // postconf -e arguments
	Enable   bool
}

// ConfigDir is the instance's config directory: Dir, else where postmulti
// puts a named instance (ConfigDir(Name)).
func (in Instance) ConfigDir() string {
	if in.Dir != "" {
		return in.Dir
	}
	return ConfigDir(in.Name)
}

// Selector is what "postmulti -i" selects the instance by: its name, or
// its config directory when it has none.
func (in Instance) Selector() string {
	if in.Name == "" {
		return in.ConfigDir()
	}
	return in.Name
}

// Walkthrough is the walk-through's two mta instances, in start order:
// postfix-out first.
var Walkthrough = []Instance{
	{Name: "postfix-out", Group: "mta", Listen: "127.0.0.1:" + OutPort, Settings: outSettings, Enable: true},
	{Name: "postfix-in", Group: "mta", Listen: "127.0.0.1:" + InPort, Settings: inSettings, Enable: true},
}

// Unit is an instance's systemd unit on Debian 12 (Classic.Unit), where
// most tests run.
func Unit(name string) string { return Classic.Unit(name) }

// ConfigDir is where postmulti puts an instance.
func ConfigDir(name string) string { return "/etc/" + name }

// SetUp lays out the walk-through inside a container booted with
// Product.Files, with upstream's postmulti or the shim (Walk.Layout), and
// runs daemon-reload so that systemd reruns the generator. Nothing is
// started: that is the tests' business.
func SetUp(t harness.TB, c *harness.Container, instances []Instance) {
	t.Helper()
	(&Walk{C: c}).Layout(t, instances)
}

// CreateInstance creates and configures one instance with postmulti, as
// the README does (Walk.CreateInstance).
func CreateInstance(t harness.TB, c *harness.Container, in Instance) {
	t.Helper()
	(&Walk{C: c}).CreateInstance(t, in)
}

// Send submits one message to postfix-in with swaks and returns its tag, a
// unique subject (Walk.Send).
func Send(t harness.TB, c *harness.Container, to ...string) string {
	t.Helper()
	return (&Walk{C: c}).Send(t, to...)
}

// Delivered returns the sink's stored messages whose Subject is tag.
func Delivered(c *harness.Container, tag string) ([]string, error) {
	res, err := c.Exec("grep", "-rlx", "--include=*.eml", "Subject: "+tag, SinkDir)
	if err != nil {
		return nil, err
	}
	var msgs []string
	files := strings.Fields(res.Stdout)
	sort.Strings(files)
	for _, f := range files {
		r, err := c.Exec("cat", f)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, r.Stdout)
	}
	return msgs, nil
}

// WaitDelivered waits until the message tagged tag reached the sink and
// returns its stored copies.
func WaitDelivered(t harness.TB, c *harness.Container, tag string, timeout time.Duration) []string {
	t.Helper()
	var msgs []string
	c.Eventually("message "+tag+" in the sink", timeout, func() (bool, error) {
		var err error
		msgs, err = Delivered(c, tag)
		return len(msgs) > 0, err
	})
	return msgs
}

// Mailbox is user's mailbox, where local(8) delivers.
func Mailbox(user string) string { return "/var/mail/" + user }

// WaitMailbox waits until the message tagged tag is in user's Mailbox and
// returns the mailbox's owner and mode (stat -c '%U %a') and the message,
// from its "From " line on.
func WaitMailbox(t harness.TB, c *harness.Container, user, tag string, timeout time.Duration) (owner, msg string) {
	t.Helper()
	box := Mailbox(user)
	c.Eventually("message "+tag+" in "+box, timeout, func() (bool, error) {
		res, err := c.Exec("cat", box)
		if err != nil {
			return false, nil // not created yet
		}
		i := strings.Index(res.Stdout, "Subject: "+tag+"\n")
		if i < 0 {
			return false, nil
		}
		start := strings.LastIndex(res.Stdout[:i], "\nFrom ") + 1
		end := strings.Index(res.Stdout[i:], "\nFrom ")
		if end < 0 {
			msg = res.Stdout[start:]
		} else {
			msg = res.Stdout[start : i+end+1]
		}
		return true, nil
	})
	res, err := c.Exec("stat", "-c", "%U %a", box)
	if err != nil {
		t.Fatalf("stat %s: %v", box, err)
	}
	return strings.TrimSpace(res.Stdout), msg
}

// Headers returns the values of header name (case-insensitive) in a stored
// message, unfolded, in order.
func Headers(msg, name string) []string {
	var out []string
	head, _, _ := strings.Cut(msg, "\n\n")
	lines := strings.Split(head, "\n")
	for i := 0; i < len(lines); i++ {
		k, v, ok := strings.Cut(lines[i], ":")
		if !ok || !strings.EqualFold(k, name) {
			continue
		}
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			v += " " + strings.TrimSpace(lines[i])
		}
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// Props are unit properties from systemctl show.
type Props map[string]string

// Mono returns a *TimestampMonotonic property in microseconds (0 if never).
func (p Props) Mono(name string) int64 {
	n, _ := strconv.ParseInt(p[name], 10, 64)
	return n
}

// UnitProps returns the properties of unit the tests look at.
func UnitProps(c *harness.Container, unit string) Props {
	return Props(c.Show(unit, "ActiveState", "SubState", "MainPID", "NRestarts", "LoadState",
		"ActiveEnterTimestampMonotonic", "ActiveExitTimestampMonotonic",
		"InactiveEnterTimestampMonotonic", "InactiveExitTimestampMonotonic",
		"ExecMainStartTimestampMonotonic", "DropInPaths", "FragmentPath", "Result"))
}

// Masters lists the Postfix master processes running in the container,
// each with the unit whose cgroup holds it (from /proc/PID/cgroup).
func Masters(t harness.TB, c *harness.Container) map[int]string {
	t.Helper()
	res, err := c.Exec("pgrep", "-x", "master")
	if err != nil && len(strings.TrimSpace(res.Stdout)) > 0 {
		t.Fatalf("pgrep: %v", err)
	}
	out := map[int]string{}
	for _, f := range strings.Fields(res.Stdout) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		unit, ok := c.ServiceOf(pid)
		if !ok {
			continue // gone meanwhile
		}
		if unit == "" {
			unit = "?"
		}
		out[pid] = unit
	}
	return out
}
