package postmulti

import (
	"fmt"

	"github.com/spf13/cobra"
)

const helpText = `postmulti - Postfix multi-instance manager (systemd-aware drop-in)

Enabling multi-instance management:
  postmulti -e init [-v]

Iterator mode:
  postmulti -l [-aRv] [-g group] [-i name]
  postmulti -p [-av] [-g group] [-i name] postfix-command...
  postmulti -x [-aRv] [-g group] [-i name] unix-command...

Life-cycle management:
  postmulti -e create [-av] [-g group] [-i name] [-G group] [-I name] [param=value ...]
  postmulti -e import [-av] [-g group] [-i name] [-G group] [-I name] [config_directory=/path]
  postmulti -e destroy [-v] -i name
  postmulti -e deport [-v] -i name
  postmulti -e enable [-v] -i name
  postmulti -e disable [-v] -i name
  postmulti -e assign [-v] -i name [-I name] [-G group]

Options are single letters and parsing stops at the first non-option
argument, exactly as upstream's getopt(3):
  postmulti -i postfix-out -x postconf -e "a = b"
runs "postconf -e 'a = b'" for the instance postfix-out.

Selection: -a all instances (default), -g GROUP members of a group,
-i NAME an instance by name, by name without "postfix-", by config
directory, or "-" for the default instance. -R reverses the order (-l, -x).

-p ACTION: start/stop/reload/status go through systemd units when systemd
is PID 1 (Debian 12: postfix@NAME.service; Debian 13 and sid:
postfix.service for the default instance, postfix@X.service for
/etc/postfix-X, postfix-dir@PATH.service for other directories); other
actions and hosts without systemd run "postfix -c DIR ACTION" per instance
as upstream does. On Debian 13 and sid, stopping the default instance stops
every instance, so "-p stop" of the default instance without all the others
is refused, and "-p start" starts the default instance last.

EXIT STATUS
  0 on success; 1 on any fatal error, or when a command run with -x or -p
  failed for at least one instance (all instances are still visited).

See postmulti(1) for the differences from upstream postmulti.
`

// newRootCommand builds the one cobra command postmulti is. Flag parsing
// is disabled: cobra's pflag cannot reproduce getopt(3) (clustered
// options with attached arguments, "+" ordering, its diagnostics), so the
// arguments go to parseOptions untouched.
func newRootCommand(r *runner) *cobra.Command {
	return &cobra.Command{
		Use:                "postmulti",
		Short:              "Postfix multi-instance manager",
		Long:               helpText,
		DisableFlagParsing: true,
		SilenceErrors:      true,
		SilenceUsage:       true,
		Args:               cobra.ArbitraryArgs,
		CompletionOptions:  cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && args[0] == "--help" {
				_, err := fmt.Fprint(r.env.Stdout, helpText)
				return err
			}
			return r.run(args)
		},
	}
}

// run is upstream's main(): read the default main.cf, refuse a foreign
// MAIL_CONFIG, parse and check the options, check the shared directories,
// then iterate or manage.
func (r *runner) run(args []string) error {
	pc, err := r.loadPrimary(nil)
	if err != nil {
		return err
	}
	r.pc = pc
	if cur, ok := r.getenv("MAIL_LOGTAG"); !ok || cur != pc.logtag {
		r.setenv("MAIL_LOGTAG", pc.logtag)
	}
	if v, ok := r.getenv("MAIL_CONFIG"); ok && v != defaultConfigDir {
		return fatalf("Non-default configuration directory: %s=%s", "MAIL_CONFIG", v)
	}
	opts, err := parseOptions(r.prog, args)
	if err != nil {
		return err
	}
	r.opts = opts
	if opts.Verbose > 0 {
		r.setenv("MAIL_VERBOSE", "")
	}
	if err := r.checkSharedDirs(); err != nil {
		return err
	}
	switch {
	case opts.Mode&iterMask != 0:
		return r.iterate()
	default:
		return r.manage()
	}
}
