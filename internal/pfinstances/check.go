package pfinstances

import (
	"bufio"
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/postfix-systemd/postfix-instances/internal/check"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// checkOptions are the check verb's options.
type checkOptions struct {
	*globalOptions
	json bool
}

const checkLong = `check looks across all instances for the mistakes that bite on a
multi-instance host, without starting anything or asking Postfix: two
instances (or two services of one) listening on the same address and port,
shared queue or data directories, duplicate names, names or groups a unit
cannot carry, instances that greet each other with the same myhostname, a
content filter, relay host or transport next hop on a loopback port where
nothing listens, enabled instances that systemd does not know or whose
generated drop-in is older than their main.cf, and, on Debian 13 and later,
instances that "systemctl enable" starts at boot against their
multi_instance_enable.

Each finding names its severity, the instance, the file and line it comes
from, a stable check identifier and a one-line fix, e.g.

    error: postfix-in: /etc/postfix-in/master.cf:137: service 127.0.0.1:2525 listens
    on 127.0.0.1:2525, as does instance postfix-out's service ... [listen-conflict]
        fix: give one of the two services another address or port, or disable one

Where systemd runs, the unit checks ask it over D-Bus; with --root, or where
systemd is not PID 1, they read the generator's output directory only.

EXIT STATUS

    0  nothing found
    1  warnings only
    2  at least one error
    3  usage error, or the default instance could not be read

JSON (--json): one object

    schema_version  1; changes only when a field changes meaning or goes away
    instances       number of instances checked: those that can run
    errors          number of findings of severity "error"
    warnings        number of findings of severity "warning"
    findings        array, in start order, then by file and line; never null
      severity      "error" or "warning"
      instance      multi_instance_name, "-" for the default instance, the
                    config directory of a nameless instance or of one that
                    could not be loaded; "" for none in particular
      file          absolute path of the file the finding comes from, or ""
      line          1-based line in file; left out when unknown
      check         the check's identifier; stable: listen-conflict,
                    shared-queue-directory, shared-data-directory,
                    duplicate-name, duplicate-config-directory, unit-name,
                    unreadable-instance, myhostname-loop, loopback-nexthop,
                    unit-unknown, daemon-reload-due, debian-enable-mismatch
      message       what is wrong, one line
      fix           what to do about it, one line
    notes           array of strings: what could not be checked and why`

func newCheckCommand(g *globalOptions) *cobra.Command {
	o := &checkOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check all instances for conflicts and stale units; exit status 0, 1 (warnings) or 2 (errors)",
		Long:  checkLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON document (see below)")
	return cmd
}

func (o *checkOptions) run(ctx context.Context) error {
	fsys := o.fsys()
	set, err := instance.Load(fsys, o.configDir)
	if err != nil {
		return &exitError{ExitUnknown, fmt.Errorf("read the Postfix instances in %s: %w", o.configDir, err)}
	}
	in := check.Input{Set: set, FS: fsys}
	if o.askSystemd() {
		sd, err := o.connect(ctx)
		if err != nil {
			return &exitError{ExitUnknown, err}
		}
		defer sd.Close()
		in.Systemd = sd
	}
	r := check.Run(ctx, in)
	w := bufio.NewWriter(o.env.Stdout)
	if o.json {
		err = r.WriteJSON(w)
	} else {
		err = r.WriteText(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return &exitError{ExitUnknown, fmt.Errorf("write output: %w", err)}
	}
	return &exitError{code: r.ExitCode()}
}
