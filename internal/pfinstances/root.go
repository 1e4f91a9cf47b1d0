// Package pfinstances is the postfix-instances command: one place that
// shows every Postfix instance of a host as systemd runs it.
//
//	postfix-instances list [--json]      the instance model: what postmulti -l -a
//	                                     shows, plus units, directories, and the
//	                                     instances that cannot run, with the reason
//	postfix-instances status [-i NAME | -g GROUP] [--json]
//	                                     systemd's view of every instance, the
//	                                     masters' PID files and the queue sizes;
//	                                     its exit status makes it a monitoring check
//
// Each verb is one file: an options struct, a constructor that only fills
// and checks the options, and a run function that does the work through
// the injected Env (streams, file system root, the narrow systemd
// interface of internal/systemd). Which instances exist and can run, and
// their units, come from one adapter (model.go) over the instance model
// and the generator's rules; this package decides none of that itself.
//
// Errors become exit codes in one place (exitCode). The JSON of every verb
// carries a schema_version and is documented in the verbs' help, which is
// also their manual page (internal/pfinstances/docs generates the pages
// and the shell completions).
package pfinstances

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/systemd"
)

// SchemaVersion is the version of every verb's JSON output. It changes
// only when a field changes meaning or goes away; new fields may be added
// without a change.
const SchemaVersion = 1

// DefaultConfigDir is the default instance's config directory.
const DefaultConfigDir = "/etc/postfix"

// Exit statuses (see the EXIT STATUS section of the help).
const (
	ExitOK        = 0 // all is well
	ExitAttention = 1 // something needs attention
	ExitDown      = 2 // an enabled instance is down
	ExitUnknown   = 3 // usage error, or the state could not be read
)

// Env is everything a run touches. Tests inject each of them.
type Env struct {
	Stdout, Stderr io.Writer
	// Root is where absolute paths from main.cf are resolved: "/" in
	// production. The --root flag overrides it and implies that systemd
	// is not asked.
	Root string
	// Booted reports whether systemd is the service manager; nil means
	// systemd.Booted.
	Booted func() bool
	// Connect dials systemd; nil means systemd.ConnectQuery.
	Connect func(ctx context.Context) (systemd.Manager, error)
	// Location is the time zone of times in the text output; nil means
	// time.Local.
	Location *time.Location
	// Alive reports whether a process runs; nil means kill(pid, 0).
	Alive func(pid int) bool
}

// globalOptions are the flags every verb takes.
type globalOptions struct {
	env       *Env
	root      string
	rootArg   string // --root's value
	rootFlag  bool   // --root was given
	configDir string
}

// fsys returns the file system the instances are read from.
func (g *globalOptions) fsys() fs.FS { return instance.DirFS(g.root) }

// hostPath returns where an absolute path of the instances' world is
// found on this host: below --root.
func (g *globalOptions) hostPath(p string) string { return g.hostRoot() + p }

// hostRoot is the root as a prefix for absolute paths: "" for "/".
func (g *globalOptions) hostRoot() string {
	if r := path.Clean(g.root); r != "/" {
		return r
	}
	return ""
}

// foreignRoot reports whether the instances are read from a tree other
// than the running system (--root), whose systemd knows nothing of them.
func (g *globalOptions) foreignRoot() bool { return g.rootFlag }

// booted reports whether systemd is the service manager (Env.Booted).
func (g *globalOptions) booted() bool {
	if g.env.Booted != nil {
		return g.env.Booted()
	}
	return systemd.Booted()
}

// askSystemd reports whether a verb asks the running systemd: never for
// a tree read with --root, never where systemd is not PID 1.
func (g *globalOptions) askSystemd() bool { return !g.foreignRoot() && g.booted() }

// connect dials systemd (Env.Connect).
func (g *globalOptions) connect(ctx context.Context) (systemd.Manager, error) {
	if g.env.Connect != nil {
		return g.env.Connect(ctx)
	}
	return systemd.ConnectQuery(ctx)
}

// load reads the model.
func (g *globalOptions) load() (*model, error) {
	m, err := loadModel(g.fsys(), g.configDir)
	if err != nil {
		return nil, fmt.Errorf("read the Postfix instances in %s: %w", g.configDir, err)
	}
	return m, nil
}

// prepare settles the global options once the flags are parsed (before
// a verb runs, and when a completion function is called).
func (g *globalOptions) prepare(cmd *cobra.Command) error {
	g.root = g.env.Root
	if g.root == "" {
		g.root = "/"
	}
	if cmd.Flags().Changed("root") {
		root, err := filepath.Abs(g.rootArg)
		if err != nil {
			return usageErrorf("--root %q: %w", g.rootArg, err)
		}
		g.root, g.rootFlag = root, true
	}
	if !path.IsAbs(g.configDir) {
		return usageErrorf("--config-directory %q is not an absolute path", g.configDir)
	}
	g.configDir = path.Clean(g.configDir)
	return nil
}

// verbs are the constructors of the subcommands, in help order. A new
// verb is one file with its constructor, added here.
var verbs = []func(*globalOptions) *cobra.Command{
	newListCommand,
	newStatusCommand,
	newCheckCommand,
}

const rootLong = `postfix-instances shows the Postfix instances of a host as systemd runs
them: the instance model that postmulti(1) manages (the default instance
and every directory of multi_instance_directories, in start order), the
systemd unit of each (postfix@NAME.service on Debian 12; postfix.service,
postfix@X.service and postfix-dir@PATH.service on Debian 13 and sid; see
postfix-instance-generator(8)), the state systemd reports for it, and the
instances that cannot run, with the reason.

It reads main.cf files with postconf(1)'s semantics, talks to systemd over
D-Bus (one connection, never systemctl), and counts queue files itself
(never postqueue), so it is cheap enough to run from a monitoring system.

Every verb takes --json for a machine-readable document with a
schema_version field (currently 1); the fields are described in each verb's
help. New fields may appear without a change of schema_version.

EXIT STATUS

    0  all is well
    1  something needs attention (status: a skipped instance, a restart, a
       stale unit; check: warnings only)
    2  an enabled instance is down (status); an error was found (check)
    3  usage error, or the instances or systemd could not be read`

// NewRootCommand builds the command tree for env. The docs generator
// (internal/pfinstances/docs) uses it for the manual pages and the shell
// completions.
func NewRootCommand(env *Env) *cobra.Command {
	g := &globalOptions{env: env, configDir: DefaultConfigDir}
	cmd := &cobra.Command{
		Use:           "postfix-instances",
		Short:         "Show the Postfix instances of a host as systemd runs them",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Completion scripts are shipped (completions/); the command
		// that prints them stays for users of other setups.
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErrorf("missing verb: list, status or check")
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.prepare(cmd)
		},
	}
	cmd.PersistentFlags().StringVar(&g.rootArg, "root", "/",
		`read every Postfix file below `+"`DIR`"+`, as if it were "/"; systemd is then not asked (for previews and tests)`)
	cmd.PersistentFlags().StringVar(&g.configDir, "config-directory", g.configDir, "read the default instance from `DIR`/main.cf")
	_ = cmd.MarkPersistentFlagDirname("root")
	_ = cmd.MarkPersistentFlagDirname("config-directory")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	for _, v := range verbs {
		cmd.AddCommand(v(g))
	}
	return cmd
}

// Main runs postfix-instances with the process's arguments and streams
// and returns the exit status.
func Main() int {
	return Run(context.Background(), &Env{Stdout: os.Stdout, Stderr: os.Stderr, Root: "/"}, os.Args[1:])
}

// Run runs one invocation with args (without the program name).
func Run(ctx context.Context, env *Env, args []string) int {
	cmd := NewRootCommand(env)
	if args == nil {
		args = []string{}
	}
	cmd.SetArgs(args)
	cmd.SetOut(env.Stdout)
	cmd.SetErr(env.Stderr)
	return exitCode(env.Stderr, cmd.ExecuteContext(ctx))
}

// exitError ends the run with a status, its message (if any) printed.
type exitError struct {
	code int
	err  error // nil: the verb reported everything itself
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is a bad command line.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// exitCode maps an error to the exit status and prints it: the one place
// where errors become exit codes.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "postfix-instances: %v\n", ee.err)
		}
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "postfix-instances: %v\nTry \"postfix-instances --help\".\n", ue.err)
		return ExitUnknown
	}
	// cobra's own errors (unknown command, wrong arguments) are usage
	// errors too; everything else could not be read.
	fmt.Fprintf(stderr, "postfix-instances: %v\n", err)
	return ExitUnknown
}
