package postmulti

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// The instance list is read by internal/instance, which holds the one
// port of upstream's load_instance, claim table and instance selection;
// this file turns what it finds into upstream's messages, at the moments
// upstream prints them.

// defaultConfigDir is Postfix's compiled-in config_directory (DEF_CONFIG_DIR).
const defaultConfigDir = "/etc/postfix"

// primaryConfig is what upstream's mail_conf_read() leaves in its globals:
// the default instance's main.cf and the parameters postmulti uses, plus
// the instance list read along with it.
type primaryConfig struct {
	set *instance.Set
	cfg *maincf.Config

	configDir, queueDir, dataDir             string
	commandDir, daemonDir, metaDir, shlibDir string
	importEnv                                string
	startCmds, stopCmds, controlCmds         string
	logtag                                   string // syslog_name, exported as MAIL_LOGTAG
}

// loadPrimary is upstream's mail_conf_read(), and more: every instance
// is read here at once (internal/instance), its problems reported later,
// where upstream meets them (checkSharedDirs, loadAll). mainCF, when not
// nil, is the default main.cf as read under the edit lock.
func (r *runner) loadPrimary(mainCF []byte) (*primaryConfig, error) {
	dir := defaultConfigDir
	if v, ok := r.getenv("MAIL_CONFIG"); ok && v != "" {
		dir = v
	}
	set, err := instance.LoadWith(instance.DirFS(r.path("/")), dir, instance.Options{
		MainCF: mainCF, CheckSharedDirs: true, WorkDir: r.workDir(), CheckInterfaces: true,
	})
	if err != nil {
		var p instance.Problem
		if errors.As(err, &p) {
			r.primaryWarnings(p.Warnings)
		}
		return nil, refusal(err)
	}
	r.primaryWarnings(set.Default().Warnings)
	return primaryFrom(set)
}

// primaryWarnings are mail_conf_read's own complaints (duplicate entries
// and the like).
func (r *runner) primaryWarnings(ws []string) {
	if !r.quiet {
		for _, w := range ws {
			r.warn("", w)
		}
	}
}

// workDir is where upstream's postconf runs would read a relative config
// directory: the working directory, or the injected root in tests.
func (r *runner) workDir() string {
	if r.root == "" || r.root == "/" {
		wd, _ := os.Getwd()
		return wd
	}
	return "/"
}

// primaryFrom takes the default instance's parameters from the set, and
// expands those only postmulti uses.
func primaryFrom(set *instance.Set) (*primaryConfig, error) {
	def := set.Default()
	p := &primaryConfig{set: set, cfg: def.Config, configDir: def.ConfigDir, queueDir: def.QueueDir, dataDir: def.DataDir}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"command_directory", &p.commandDir}, {"daemon_directory", &p.daemonDir},
		{"meta_directory", &p.metaDir}, {"shlib_directory", &p.shlibDir},
		{"import_environment", &p.importEnv},
		{"postmulti_start_commands", &p.startCmds}, {"postmulti_stop_commands", &p.stopCmds},
		{"postmulti_control_commands", &p.controlCmds},
		{"syslog_name", &p.logtag},
	} {
		var err error
		if *s.dst, err = expand(p.cfg, s.name); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// expand returns postconf -xh NAME for cfg, as a fatal error on failure,
// worded as postmulti's own reading words it (the errors of maincf name
// the file already).
func expand(cfg *maincf.Config, name string) (string, error) {
	v, err := cfg.Expand(name)
	var ee *maincf.ExpandError
	switch {
	case errors.As(err, &ee):
		return "", fatalf("%s", ee.MailDictFatal())
	case err != nil:
		return "", fatalf("%v", err)
	}
	return v, nil
}

// refusal is the fatal error for an instance.Problem: upstream's message
// (upstreamText), or ours for a problem upstream does not see.
func refusal(err error) error {
	var p instance.Problem
	if errors.As(err, &p) {
		if msg := upstreamText(p); msg != "" {
			return fatalf("%s", msg)
		}
	}
	return fatalf("%v", err)
}

// checkSharedDirs is upstream's check_shared_dir_status: the shared
// directories must exist, and are the default instance's.
func (r *runner) checkSharedDirs() error {
	if p, ok := sharedRefused(r.pc.set); ok {
		return refusal(p)
	}
	return nil
}

// loadAll is upstream's load_all_instances: the default instance, then
// every multi_instance_directories entry in order, each read by a
// postconf run whose stderr appears here; the first unreadable instance
// or conflicting claim is fatal, as upstream.
func (r *runner) loadAll() error {
	r.printPostconf(postconfSaid(r.pc.set))
	if p, ok := refused(r.pc.set); ok {
		return refusal(p)
	}
	view, err := postmultiView(r.pc.set)
	if err != nil {
		return refusal(err)
	}
	r.list = nil
	r.runnable = map[*instance.Instance]bool{}
	for i := range view {
		r.list = append(r.list, &view[i])
		r.runnable[&view[i]] = view[i].Skip == nil
	}
	r.claims = r.newClaims()
	return nil
}

// refuseUnrunnable is our check before an -e action writes: the
// instances as the action leaves them (r.list, target changed or added,
// or an instance taken out; target nil then) go through
// instance.Resolve, the generator's own decision, and the action is
// refused when the target, or an instance that could run before, could
// not run afterwards: the generator would skip it, and the daemon-reload
// after the change would take it out of boot at once. Upstream has no
// such check; its own refusals come first.
func (r *runner) refuseUnrunnable(target *instance.Instance) error {
	list := make([]instance.Instance, len(r.list))
	for i, ip := range r.list {
		list[i] = *ip
	}
	instance.Resolve(list, instance.DirFS(r.path("/")), r.pc.set.Layout)
	for i, ip := range r.list {
		if list[i].Skip == nil || ip != target && !r.runnable[ip] {
			continue
		}
		return unrunnable(ip.ConfigDir, list[i].Skip)
	}
	return nil
}

// unrunnable is the refusal of an -e action after which the instance in
// configDir would not run under systemd, for the reason skip.
func unrunnable(configDir string, skip *instance.Problem) error {
	reason := error(skip)
	if u := errors.Unwrap(skip.Err); u != nil {
		reason = u
	}
	return fatalf("Instance %s would not run under systemd (postfix-instance-generator would skip it): %v", configDir, reason)
}

// sameDir reports whether the config directories a and b are one, by
// Resolve's rule (instance.SameDir: equal once cleaned, or the same file).
func (r *runner) sameDir(a, b string) bool {
	return instance.SameDir(instance.DirFS(r.path("/")), a, b)
}

// configDirOwner is who already has dir as config directory: upstream's
// claim (the same string), else an instance whose config directory is the
// same directory (sameDir), which upstream misses ("/etc//postfix" is
// "/etc/postfix"). The owner is in upstream's words: "DIR, config_directory".
func (r *runner) configDirOwner(dir string) (owner, value string, ok bool) {
	if o, ok := r.claims[dir]; ok {
		return o, dir, true
	}
	for _, ip := range r.list {
		if r.sameDir(dir, ip.ConfigDir) {
			return ip.ConfigDir + ", config_directory", ip.ConfigDir, true
		}
	}
	return "", "", false
}

// loadInstance is upstream's load_instance for -e import: what
// "postconf -xc DIR queue_directory data_directory multi_instance_name
// multi_instance_group multi_instance_enable" reports, read in process.
func (r *runner) loadInstance(dir string) (*instance.Instance, error) {
	in, err := r.pc.set.Read(dir)
	var p instance.Problem
	errors.As(err, &p)
	r.printPostconf(said(in, &p))
	if err != nil {
		return nil, refusal(err)
	}
	return in, nil
}

// printPostconf prints what upstream's postconf child would print while
// reading an instance: its warnings (once: not again in the second pass
// of an -e action) and its fatal error.
func (r *runner) printPostconf(said []message) {
	for _, m := range said {
		switch {
		case m.fatal:
			r.diag(r.pc.commandDir + "/postconf: fatal: " + m.text)
		case !r.quiet:
			r.warn(r.pc.commandDir+"/postconf", m.text)
		}
	}
}

// message is one line that a postconf run prints on stderr, without its
// "postconf: warning: " or "postconf: fatal: ".
type message struct {
	fatal bool
	text  string
}

// said is what the postconf run with which upstream reads an instance
// prints: the instance's warnings, or those of p, the problem that
// stopped reading it, then its fatal error.
func said(in *instance.Instance, p *instance.Problem) []message {
	var ws []string
	var fatal string
	switch {
	case in != nil:
		ws = in.Warnings
	case p != nil:
		ws, fatal = p.Warnings, postconfFatal(p)
	}
	var m []message
	for _, w := range ws {
		m = append(m, message{text: w})
	}
	if fatal != "" {
		m = append(m, message{fatal: true, text: fatal})
	}
	return m
}

// postconfFatal is the fatal message (without "postconf: fatal: ") of the
// postconf run with which upstream reads a secondary instance, when p, an
// Unreadable problem, stopped that run: before postmulti's own message,
// postconf says why. It is "" for the other problems, which postconf
// does not see (postmulti finds them itself).
func postconfFatal(p *instance.Problem) string {
	if p.Kind != instance.Unreadable || p.Cause == nil {
		return ""
	}
	var ee *maincf.ExpandError
	if errors.As(p.Cause, &ee) {
		return ee.Fatal
	}
	return postfixText(p.Cause)
}

// postconfSaid is, in list order, what the postconf runs with which
// upstream reads the secondary instances print, up to and including the
// run of the instance at which it stops (refused); nothing
// when it stops before reading any (at start-up, or at the default
// instance).
func postconfSaid(set *instance.Set) []message {
	stop := len(set.Directories)
	if p, ok := refused(set); ok {
		stop = p.Position
	}
	read := make(map[int]*instance.Instance, len(set.Instances))
	for i := range set.Instances {
		read[set.Instances[i].Position] = &set.Instances[i]
	}
	failed := map[int]*instance.Problem{}
	for i := range set.Problems {
		if p := &set.Problems[i]; failed[p.Position] == nil {
			failed[p.Position] = p
		}
	}
	var out []message
	for pos := 1; pos <= stop; pos++ {
		if in := read[pos]; in != nil {
			out = append(out, said(in, nil)...)
		} else if p := failed[pos]; p != nil {
			out = append(out, said(nil, p)...)
		}
	}
	return out
}

// matches is upstream's match_instance_selection.
func (s selection) matches(ip *instance.Instance) bool {
	switch s.typ {
	case selAll:
		return true
	case selGroup:
		return ip.InGroup(s.name)
	case selName:
		return ip.Matches(s.name)
	}
	return false
}

// path maps an absolute path onto the injected filesystem root.
func (r *runner) path(p string) string {
	if r.root == "" || r.root == "/" {
		return p
	}
	return filepath.Join(r.root, p)
}
