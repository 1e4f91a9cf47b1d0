// Package check makes the static checks of "postfix-instances check":
// the mistakes that bite on a multi-instance host, found across all
// instances without starting anything or asking Postfix.
//
// It is pure: Run reads the host through Input.FS (rooted at "/") and,
// when given, a running systemd through Input.Systemd, and returns a
// Report; the command prints it with WriteText or WriteJSON and exits
// with ExitCode. Each finding has a severity, the instance, the file and
// line it comes from, a stable check identifier, a one-line message and
// a one-line fix. The checks:
//
//   - listen-conflict: two inet services of master.cf, of two instances
//     or of one, bound to the same address and port. Postfix sets
//     SO_REUSEPORT, so both masters start: the kernel splits the
//     connections between two sockets on one address, and gives every
//     connection to an address to its own socket rather than to a
//     wildcard one on the same port. An inet service
//     listens on its own host part ("127.0.0.1:2525", "[::1]:smtp") or,
//     without one, on inet_interfaces ("all": the wildcard, which clashes
//     with every address of its family on that port), for the families
//     of inet_protocols. Services disabled by master_service_disable
//     (the default instance's "inet" of the walk-through) or commented
//     out do not count; as in master(8), "-o inet_interfaces=" overrides
//     do not change where master binds, and a later entry with the same
//     name and type replaces an earlier one. Error, or warning when one
//     of the two instances is disabled.
//   - shared-queue-directory, shared-data-directory, duplicate-name,
//     duplicate-config-directory, unit-name, unreadable-instance: why an
//     instance cannot run, as instance.Load and instance.Resolve decide
//     it (the one place that does; unit-name covers names, groups and
//     directories that a unit cannot carry); the generator writes no unit
//     for it. Errors. Such an instance is named by its config directory.
//   - myhostname-loop: an instance sends mail (a next hop as below) to a
//     loopback address where another instance with the same myhostname
//     listens: that instance's SMTP server greets with the sender's own
//     name and the sender bounces the mail ("mail for X loops back to
//     myself"). Error.
//   - loopback-nexthop: content_filter, relayhost, default_transport,
//     relay_transport, virtual_transport, mailbox_transport,
//     fallback_transport (in main.cf or as master.cf -o overrides) or a
//     transport_maps entry names an smtp or lmtp next hop on a loopback
//     address and port where no enabled instance listens and, by
//     /proc/net/tcp{,6}, nothing else does either (a content filter that
//     is down counts). transport_maps are read when Postfix is not
//     needed to read them (texthash:, inline:, regexp:, pcre:); indexed
//     maps (hash:, cdb:, lmdb:, …) are skipped, with a note. Warning.
//   - unit-unknown: an enabled instance whose unit systemd does not know
//     (no generated drop-in, or systemd has not loaded it): nothing
//     starts it. Error. Only where systemd runs (/run/systemd/system).
//   - daemon-reload-due: an enabled instance whose main.cf is newer than
//     its generated drop-in, or whose unit systemd says needs a
//     daemon-reload. Warning.
//   - debian-enable-mismatch: on the Debian13 layout (Debian 13's postfix
//     units, as instance.Load detected them: Set.Layout), an instance that
//     "systemctl enable postfix@X" starts at boot although
//     multi_instance_enable = no. Warning. (The reverse needs no
//     finding: the generator links every enabled instance at boot; until
//     it has run, unit-unknown reports the instance.)
//
// # Use
//
// The command loads the instances and runs the checks on the same file
// system; the systemd view is optional (systemd.Connect's Manager fits):
//
//	fsys := instance.DirFS("/")
//	set, err := instance.Load(fsys, "/etc/postfix") // err: the default instance itself is unusable
//	r := check.Run(ctx, check.Input{Set: set, FS: fsys, Systemd: mgr})
//	r.WriteText(os.Stdout) // or r.WriteJSON
//	os.Exit(r.ExitCode())
//
// Only the checks of instances that can run look at master.cf, next hops
// and units; the others are reported as the reason they cannot run.
//
// # Exit status
//
// ExitCode is 0 when nothing was found, 1 when only warnings were, 2 when
// there is at least one error.
//
// # JSON
//
// WriteJSON writes one object:
//
//	schema_version  1; changes only when a field changes meaning or goes
//	                away (fields may be added)
//	instances       number of instances checked: those that can run
//	errors          number of findings of severity "error"
//	warnings        number of findings of severity "warning"
//	findings        array, in start order of the instances, then by file
//	                and line; never null
//	  severity      "error" or "warning"
//	  instance      multi_instance_name, "-" for the default instance, the
//	                config directory of a nameless instance or of one that
//	                could not be loaded; "" for none in particular
//	  file          absolute path of the file the finding comes from
//	                (main.cf, master.cf, a map), "" when none
//	  line          1-based line in file; left out when unknown
//	  check         the check's identifier (above); stable
//	  message       what is wrong, one line
//	  fix           what to do about it, one line
//	notes           array of strings: what could not be checked and why;
//	                never null
package check
