package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/postfix-systemd/postfix-instances/generator"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
	"github.com/postfix-systemd/postfix-instances/internal/unit"
)

// Compiled-in defaults; packagers may override them with
// go build -ldflags "-X main.defaultConfigDir=... -X main.templatePath=...".
var (
	defaultConfigDir = "/etc/postfix"
	templatePath     = generator.DefaultTemplatePath
)

const usageText = `Usage: postfix-instance-generator [OPTIONS] NORMAL-DIR [EARLY-DIR LATE-DIR]
       postfix-instance-generator --dry-run [OPTIONS] [NORMAL-DIR ...]

A systemd generator (see systemd.generator(7)): systemd runs it at boot and
on every "systemctl daemon-reload". It reads the default Postfix main.cf and
the main.cf of every instance in its multi_instance_directories, and writes
into NORMAL-DIR:

  UNIT.d/50-instance.conf
        one drop-in per instance: PIDFile=, start order, group membership,
        and MAIL_CONFIG where the unit does not derive it
  postfix.service.wants/UNIT
        for every enabled instance (multi_instance_enable = yes) but
        postfix.service itself
  postfix-GROUP.target, postfix-GROUP.target.wants/...
        one target per multi_instance_group, wanting its enabled members

UNIT follows the installed postfix package's layout:
  Debian 12, RPM    postfix@-.service (default instance), postfix@NAME.service
                    (by multi_instance_name), postfix@ESCAPED-PATH.service
                    (nameless), all from the shipped postfix@.service
  Debian 13, sid    postfix.service (default instance), postfix@X.service
                    (/etc/postfix-X), postfix-dir@ESCAPED-PATH.service
                    (any other directory); ESCAPED-PATH as systemd-escape
                    --path writes it

An instance that cannot be read or written safely is logged and skipped;
all others are still written. Messages go to /dev/kmsg, or to the
journal where there is no /dev/kmsg (containers), or to standard error
when it is a terminal, with --dry-run, or when neither is there; read
them with "journalctl -b -t postfix-instance-generator".
SYSTEMD_LOG_LEVEL (err, warning, info, debug or 0-7) sets the level and
SYSTEMD_LOG_TARGET=console forces standard error.

Options:
  --config-directory DIR   read the default instance from DIR/main.cf
                           instead of %s
  --root DIR               read every Postfix file below DIR, as if DIR were
                           "/" (paths in the output stay as the instances
                           see them); for previews and tests
  --dry-run                print what would be written instead of writing:
                           each file's path then its contents, each
                           symlink as "PATH -> TARGET"
  -h, --help               show this help

Examples:
  postfix-instance-generator --dry-run        preview this host's units
  systemctl daemon-reload                     have systemd run it for real
  systemctl cat postfix@postfix-out           template plus drop-in
                                              (Debian 13: postfix@out)

Exit status:
  0  all instances were written, or there is nothing to do (no main.cf),
     or the only ones left out are on file systems not mounted yet
     (postfix-instances-late.service adds them)
  1  some instance was skipped (everything else was written), or the
     default main.cf could not be read, or writing failed
  2  usage error

See postfix-instance-generator(8).
`

type options struct {
	root      string
	configDir string
	dryRun    bool
	dirs      []string
}

// Main runs the generator with args (without the program name) and the
// given environment, and returns the exit status.
func Main(args, env []string, stdout, stderr io.Writer) int {
	var o options
	fl := flag.NewFlagSet("postfix-instance-generator", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	fl.StringVar(&o.configDir, "config-directory", defaultConfigDir, "")
	fl.BoolVar(&o.dryRun, "dry-run", false, "")
	fl.StringVar(&o.root, "root", "/", "")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, usageText, defaultConfigDir)
			return 0
		}
		fmt.Fprintf(stderr, "postfix-instance-generator: %v\nTry --help.\n", err)
		return 2
	}
	o.dirs = fl.Args()
	switch {
	case !o.dryRun && len(o.dirs) != 1 && len(o.dirs) != 3:
		fmt.Fprintf(stderr, "postfix-instance-generator: this program takes one or three directory arguments, not %d.\nTry --help.\n", len(o.dirs))
		return 2
	case o.dryRun && len(o.dirs) > 3:
		fmt.Fprintf(stderr, "postfix-instance-generator: too many arguments.\nTry --help.\n")
		return 2
	case !path.IsAbs(o.configDir):
		fmt.Fprintf(stderr, "postfix-instance-generator: --config-directory %q is not an absolute path.\n", o.configDir)
		return 2
	}
	o.configDir = path.Clean(o.configDir)

	log := newLogger(env, stderr, o.dryRun)
	defer log.close()
	return run(o, log, stdout)
}

func run(o options, log *logger, stdout io.Writer) int {
	syscall.Umask(0o022)
	fsys := instance.DirFS(o.root)
	mainCF := path.Join(o.configDir, "main.cf")
	if _, err := fs.Stat(fsys, mainCF[1:]); errors.Is(err, fs.ErrNotExist) {
		level := logDebug
		if o.dryRun {
			level = logInfo
		}
		log.logf(level, "No %s below %s, nothing to do.", mainCF, o.root)
		return 0
	}
	// The compiled-in defaults of the Postfix installed under the root
	// (see maincf.InstalledDefaults): never fails, says when inexact.
	defaults, sel := maincf.InstalledDefaults(fsys)
	if w := sel.Warning(); w != "" {
		level := logWarning
		if sel.Installed == "" {
			level = logDebug // no dpkg (RPM, a test tree): nothing to compare with
		}
		log.logf(level, "%s.", strings.ToUpper(w[:1])+w[1:])
	}
	set, err := instance.LoadWithDefaults(fsys, o.configDir, defaults)
	if err != nil {
		log.errorf("Failed to read the default Postfix instance in %s: %s; no Postfix units generated.", o.configDir, strings.TrimPrefix(err.Error(), "default instance: "))
		return 1
	}
	late := lateInstances(fsys, set.Problems)
	var lateDirs []string
	status := 0
	for _, p := range set.Problems {
		if mp, ok := late[p.ConfigDir]; ok {
			if !slices.Contains(lateDirs, path.Clean(p.ConfigDir)) {
				lateDirs = append(lateDirs, path.Clean(p.ConfigDir))
			}
			log.logf(logNotice, "Postfix instance %s: %s; %s is not mounted yet, %s adds the instance once it is.",
				p.ConfigDir, reason(p.ConfigDir, p.Err), mp, unit.Late)
			continue
		}
		log.errorf("Postfix instance %s: %s, ignoring.", p.ConfigDir, reason(p.ConfigDir, p.Err))
		status = 1
	}
	tree := generator.Plan(set, generator.Options{TemplatePath: templatePath})
	if len(lateDirs) > 0 {
		if es, err := generator.Late(lateDirs, set.Default().MainCF); err != nil {
			log.errorf("%v; those instances are not started at boot.", err)
			status = 1
		} else {
			tree.Add(es...)
		}
	}
	if o.dryRun {
		prefix := ""
		if len(o.dirs) > 0 {
			prefix = o.dirs[0]
		}
		if err := printTree(stdout, tree, prefix); err != nil {
			log.errorf("Failed to print the plan: %v", err)
			return 1
		}
		return status
	}
	if log.lost() {
		// Nothing could log the messages at boot: have a unit log them
		// again once the journal runs.
		if self, err := os.Executable(); err == nil {
			argv := []string{self, "--dry-run", "--config-directory", o.configDir}
			if o.root != "/" {
				argv = append(argv, "--root", o.root)
			}
			if es, err := generator.Report(argv, mainCF); err == nil {
				tree.Add(es...)
			}
		}
	}
	for _, err := range generator.Apply(tree, o.dirs[0]) {
		log.errorf("%v", err)
		status = 1
	}
	log.debugf("Wrote %d entries for %d instances to %s.", len(tree.Entries), len(set.Runnable()), o.dirs[0])
	return status
}

// lateInstances returns, for each secondary instance whose main.cf is not
// there, the mount point that /etc/fstab declares for its config
// directory and that is not mounted yet, by config directory (see
// generator.LateMount). Both files are read only when some main.cf is
// missing; under --root, from the tree (which has no mounts unless it
// holds a proc/self/mountinfo).
func lateInstances(fsys fs.FS, problems []instance.Problem) map[string]string {
	late := map[string]string{}
	var fstab []byte
	var mounted map[string]bool
	for _, p := range problems {
		if p.Position == 0 || p.Kind != instance.Unreadable ||
			!errors.Is(p.Err, fs.ErrNotExist) && !errors.Is(p.Err, syscall.ENOTDIR) {
			continue
		}
		if mounted == nil {
			fstab, _ = instance.ReadRegular(fsys, "etc/fstab")
			mountinfo, _ := instance.ReadRegular(fsys, "proc/self/mountinfo")
			mounted = generator.MountedPoints(mountinfo)
		}
		if mp := generator.LateMount(p.ConfigDir, fstab, mounted); mp != "" {
			late[p.ConfigDir] = mp
		}
	}
	return late
}

// printTree writes the --dry-run listing.
func printTree(w io.Writer, t generator.Tree, prefix string) error {
	for _, e := range t.Entries {
		p := e.Path
		if prefix != "" {
			p = filepath.Join(prefix, filepath.FromSlash(p))
		}
		var err error
		if e.IsLink() {
			_, err = fmt.Fprintf(w, "%s -> %s\n", p, e.Target)
		} else {
			_, err = fmt.Fprintf(w, "%s\n%s\n", p, e.Data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reason returns err's message without a leading "instance DIR: ", which
// the log line already carries.
func reason(dir string, err error) string {
	return strings.TrimPrefix(err.Error(), "instance "+dir+": ")
}
