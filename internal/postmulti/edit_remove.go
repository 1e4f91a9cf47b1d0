package postmulti

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/postfix-systemd/postfix-instances/internal/environ"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// queueSubdirs are the queue directories postmulti-script removes on
// destroy (only when empty).
var queueSubdirs = []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold",
	"incoming", "maildrop", "pid", "private", "public", "saved", "trace"}

// messageDirs are the queue directories that hold mail.
var messageDirs = []string{"maildrop", "incoming", "active", "deferred", "hold", "corrupt", "saved"}

// RemoveOptions are -e destroy and -e deport's options.
type RemoveOptions struct {
	Destroy   bool
	Selection selection
}

// runRemove is -e deport (take a stopped, disabled instance out of
// multi_instance_directories and into alternate_config_directories) and
// -e destroy (also remove its files, when they are only Postfix's own).
// Taking an instance out can let one that the generator skipped run again
// and take a directory from one that runs (instance.Resolve: the first
// instance keeps what it holds): refused (refuseUnrunnable).
func (r *runner) runRemove(st *editState, o RemoveOptions) error {
	t, err := r.loadTarget(st, o.Selection, true)
	if err != nil {
		return err
	}
	if err := r.checkInitialized(); err != nil {
		return err
	}
	tag := r.scriptTag()
	cd := t.ConfigDir
	hasMain := isFile(r.path(cd + "/main.cf"))
	if !o.Destroy {
		if hasMain && r.running(st, cd) {
			return scriptFatalf(tag, "Instance '%s' is not stopped", cd)
		}
		if err := r.refuseUnrunnable(nil); err != nil {
			return err
		}
		return r.updateDirs(st, hasMain, cd)
	}
	if !hasMain {
		return scriptFatalf(tag, "%s/main.cf file not found", cd)
	}
	if r.running(st, cd) {
		return scriptFatalf(tag, "Instance '%s' is not stopped", cd)
	}
	// Not upstream: refuse before anything changes rather than deport the
	// instance and leave its queued mail without a main.cf.
	if d, ok := r.queuedMail(t.QueueDir); ok {
		return fatalf("Instance '%s' has mail in its queue (%s): flush or remove it first; nothing was changed", cd, d)
	}
	if err := r.refuseUnrunnable(nil); err != nil {
		return err
	}
	if err := r.updateDirs(st, false, cd); err != nil {
		return err
	}
	if !st.dry {
		st.after = append(st.after, func() error { r.removeFiles(t); return nil })
	}
	return nil
}

// running is postmulti-script's "postfix -c DIR status" test.
func (r *runner) running(st *editState, dir string) bool {
	return r.helperCommandQuiet([]string{r.pc.commandDir + "/postfix", "-c", dir, "status"}, st) == 0
}

// queuedMail reports the first message directory under queueDir that
// holds anything but directories.
func (r *runner) queuedMail(queueDir string) (string, bool) {
	for _, d := range messageDirs {
		p := queueDir + "/" + d
		found := false
		filepath.WalkDir(r.path(p), func(_ string, e fs.DirEntry, err error) error {
			if err != nil || found {
				return filepath.SkipDir
			}
			if !e.IsDir() {
				found = true
				return filepath.SkipAll
			}
			return nil
		})
		if found {
			return p, true
		}
	}
	return "", false
}

// removeFiles is postmulti-script's destroy cleanup: rmdir each queue
// subdirectory, the data and queue directories, remove main.cf and
// master.cf, rmdir the config directory. Anything not empty stays, with
// upstream's warning.
func (r *runner) removeFiles(t *instance.Instance) {
	tag := r.scriptTag()
	rmdir := func(shown, p string) {
		if err := syscall.Rmdir(r.path(p)); err != nil {
			r.diag("rmdir: failed to remove '" + shown + "': " + strerror(err))
			r.warn(tag, p+": please verify contents and remove by hand")
		}
	}
	for _, q := range queueSubdirs {
		rmdir(q, t.QueueDir+"/"+q)
	}
	for _, d := range []string{t.DataDir, t.QueueDir} {
		rmdir(d, d)
	}
	for _, n := range []string{"master.cf", "main.cf"} {
		if err := os.Remove(r.path(t.ConfigDir + "/" + n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			_ = err // rm -f ... 2>/dev/null
		}
	}
	rmdir(t.ConfigDir, t.ConfigDir)
}

// helperEnv is the environment upstream's export_helper_environment
// gives postmulti-script, and so the postfix commands it runs: only
// import_environment survives, PATH is $command_directory then ROOT_PATH,
// MAIL_CONFIG is the default instance, plus the shared and the target's
// directories.
func (r *runner) helperEnv(st *editState) []string {
	var env []string
	for _, w := range maincf.SplitList(r.pc.importEnv) {
		if i := strings.IndexByte(w, '='); i >= 0 {
			env = environ.Set(env, w[:i], w[i+1:])
		} else if v, ok := r.getenv(w); ok {
			env = environ.Set(env, w, v)
		}
	}
	set := func(k, v string) { env = environ.Set(env, k, v) }
	set("PATH", r.commandPath(env))
	set("MAIL_CONFIG", r.pc.configDir)
	set("command_directory", r.pc.commandDir)
	set("daemon_directory", r.pc.daemonDir)
	set("meta_directory", r.pc.metaDir)
	set("shlib_directory", r.pc.shlibDir)
	if t := st.target; t != nil {
		set("config_directory", t.ConfigDir)
		set("queue_directory", t.QueueDir)
		set("data_directory", t.DataDir)
	}
	return env
}

// helperCommand runs a postfix command as postmulti-script would.
func (r *runner) helperCommand(argv []string, st *editState) int {
	return r.runCommand(argv, r.helperEnv(st))
}

// helperCommandQuiet is helperCommand with output discarded (">/dev/null 2>&1").
func (r *runner) helperCommandQuiet(argv []string, st *editState) int {
	saved := *r.env
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 1
	}
	defer devnull.Close()
	e := saved
	e.Stdout, e.Stderr = devnull, devnull
	r.env = &e
	defer func() { r.env = &saved }()
	return r.helperCommand(argv, st)
}
