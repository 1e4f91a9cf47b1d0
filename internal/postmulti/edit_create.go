package postmulti

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/atomicfile"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// sharedParameters are the install parameters a new instance clones from
// the default main.cf when set there explicitly, and comments out
// otherwise (postmulti-script's SHARED_PARAMETERS, in its order).
var sharedParameters = []string{
	"command_directory", "daemon_directory", "meta_directory", "mail_owner",
	"setgid_group", "sendmail_path", "mailq_path", "newaliases_path",
	"html_directory", "manpage_directory", "sample_directory",
	"readme_directory", "shlib_directory",
}

// CreateOptions are -e create and -e import's options.
type CreateOptions struct {
	Import            bool
	Selection         selection // where the new instance goes in the list
	NewName, NewGroup *string
	Params            []string // config_directory=, queue_directory=, data_directory=
}

// runCreate is -e create / -e import: add an instance to
// multi_instance_directories, before the first secondary instance that
// the selection matches (-a: the front; none: the end), creating its
// directories and its main.cf and master.cf from the prototypes when the
// config directory lacks them (create only). Afterwards, as upstream,
// "postfix -c DIR set-permissions" sets the queue's owners and modes.
func (r *runner) runCreate(st *editState, o CreateOptions) error {
	if err := r.loadAll(); err != nil {
		return err
	}
	if err := checkNames(o.NewName, o.NewGroup); err != nil {
		return err
	}
	action := "create"
	if o.Import {
		action = "import"
	}
	nw := &instance.Instance{}
	if err := r.newParameters(nw, o, action); err != nil {
		return err
	}
	fl, err := r.assignNames(nw, o.NewName, o.NewGroup)
	if err != nil {
		return err
	}
	st.flags |= fl | expDirs
	st.target = nw
	if err := r.insert(nw, o.Selection); err != nil {
		return err
	}
	if err := r.checkInitialized(); err != nil {
		return err
	}
	if err := r.refuseUnrunnable(nw); err != nil {
		return err
	}
	if !isFile(r.path(nw.ConfigDir+"/main.cf")) || !isFile(r.path(nw.ConfigDir+"/master.cf")) {
		if err := r.createFiles(st, nw, o.Import); err != nil {
			return err
		}
	}
	if err := r.setNames(st); err != nil {
		return err
	}
	if err := r.updateDirs(st, false, nw.ConfigDir); err != nil {
		return err
	}
	if st.dry {
		return nil
	}
	st.after = append(st.after, func() error {
		if r.helperCommand([]string{r.pc.commandDir + "/postfix", "-c", nw.ConfigDir, "set-permissions"}, st) != 0 {
			return &exitError{1}
		}
		return nil
	})
	return nil
}

// newParameters is upstream's assign_new_parameters: the explicit
// name=value settings, then paths made from the default instance's by
// replacing their last component with the new name, or, for import, the
// directories from the instance's own main.cf.
func (r *runner) newParameters(nw *instance.Instance, o CreateOptions, action string) error {
	for _, arg := range o.Params {
		name, value, ok := splitNameval(arg)
		if !ok {
			return fatalf("Malformed parameter setting '%s'", arg)
		}
		var target *string
		switch {
		case name == "config_directory":
			target = &nw.ConfigDir
		case !o.Import && name == "queue_directory":
			target = &nw.QueueDir
		case !o.Import && name == "data_directory":
			target = &nw.DataDir
		default:
			return fatalf("Parameter '%s' not valid with action %s", name, action)
		}
		if !strings.HasPrefix(value, "/") {
			return fatalf("Parameter setting '%s' is not an absolute path", name)
		}
		// Trailing slashes go (readline completion adds them); "/" alone is refused.
		end := len(value) - 1
		for end > 0 && value[end] == '/' {
			end--
		}
		if end == 0 {
			return fatalf("Parameter setting '%s' is the root directory", name)
		}
		*target = value[:end+1]
	}
	var err error
	if nw.ConfigDir == "" {
		if nw.ConfigDir, err = privatePath("config_directory", r.pc.configDir, o.NewName); err != nil {
			return err
		}
	}
	if owner, value, ok := r.configDirOwner(nw.ConfigDir); ok {
		return fatalf("new %s=%s is already in use by instance %s=%s", "config_directory", nw.ConfigDir, owner, value)
	}
	if o.Import {
		in, err := r.loadInstance(nw.ConfigDir)
		if err != nil {
			return err
		}
		*nw = *in
		return nil
	}
	if nw.QueueDir == "" {
		if nw.QueueDir, err = privatePath("queue_directory", r.pc.queueDir, o.NewName); err != nil {
			return err
		}
	}
	if nw.DataDir == "" {
		if nw.DataDir, err = privatePath("data_directory", r.pc.dataDir, o.NewName); err != nil {
			return err
		}
	}
	return nil
}

// privatePath is upstream's make_private_path, quirks included: the
// default instance's path with its last component replaced by the new
// instance name.
func privatePath(param, primary string, name *string) (string, error) {
	if name == nil || *name == "" {
		return "", fatalf("Missing %s parameter value", param)
	}
	if !strings.HasPrefix(primary, "/") {
		return "", fatalf("Invalid default %s parameter value: '%s': specify an absolute pathname", param, primary)
	}
	s := []byte(primary)
	n := len(s) // strlen: writing NUL at i truncates to i
	end := bytes.LastIndexByte(s[:n], '/')
	if end >= 0 {
		if end+1 == n {
			for {
				end--
				if !(end > 0 && s[end] == '/') {
					break
				}
				n = min(n, end)
			}
			end = bytes.LastIndexByte(s[:n], '/')
		}
		for end > 0 && s[end] == '/' {
			n = min(n, end)
			end--
		}
	}
	base := string(s[:n])
	if len(base) <= 1 {
		base = ""
	}
	return base + "/" + *name, nil
}

// splitNameval is Postfix's split_nameval: "name = value" with white
// space around both trimmed; ok is false without a name or an "=".
func splitNameval(s string) (name, value string, ok bool) {
	isSp := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' }
	i := 0
	for i < len(s) && isSp(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSp(s[j]) && s[j] != '=' {
		j++
	}
	name = s[i:j]
	k := j
	for k < len(s) && isSp(s[k]) {
		k++
	}
	if name == "" || k >= len(s) || s[k] != '=' {
		return "", "", false
	}
	value = strings.TrimFunc(s[k+1:], func(r rune) bool { return r < 128 && isSp(byte(r)) })
	return name, value, true
}

// insert is upstream's insert_instance: claim the new instance's name and
// directories, then place it before the first secondary instance the
// selection matches.
func (r *runner) insert(nw *instance.Instance, sel selection) error {
	if err := r.claims.claim(nw, attributes(nw)); err != nil {
		return err
	}
	if sel.typ != selNone {
		for i := 1; i < len(r.list); i++ {
			if sel.matches(r.list[i]) {
				r.list = append(r.list[:i], append([]*instance.Instance{nw}, r.list[i:]...)...)
				return nil
			}
		}
		if sel.typ != selAll {
			return fatalf("No matching secondary instances")
		}
	}
	r.list = append(r.list, nw)
	return nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// createFiles is postmulti-script's instance creation: the config, queue
// (0755) and data (0700) directories, then main.cf and master.cf built in
// DIR/.tmp from the prototypes and renamed into place, master.cf last.
func (r *runner) createFiles(st *editState, nw *instance.Instance, imp bool) error {
	cd := nw.ConfigDir
	tag := r.scriptTag()
	if imp {
		if !isFile(r.path(cd + "/main.cf")) {
			return scriptFatalf(tag, "'%s' lacks a main.cf file", cd)
		}
		return scriptFatalf(tag, "'%s' lacks a master.cf file", cd)
	}
	mainProto := r.pc.metaDir + "/main.cf.proto"
	masterProto := r.pc.metaDir + "/master.cf.proto"
	if !isFile(r.path(mainProto)) {
		return scriptFatalf(tag, "Missing main.cf prototype: %s", mainProto)
	}
	if !isFile(r.path(masterProto)) {
		return scriptFatalf(tag, "Missing master.cf prototype: %s", masterProto)
	}
	if st.dry {
		return nil
	}
	for _, d := range []struct {
		path string
		mode fs.FileMode
	}{{cd, 0o755}, {nw.QueueDir, 0o755}, {nw.DataDir, 0o700}} {
		if err := os.MkdirAll(r.path(d.path), d.mode); err != nil {
			return scriptFatalf("mkdir", "%v", err)
		}
	}
	tmp := cd + "/.tmp"
	if err := os.MkdirAll(r.path(tmp), 0o700); err != nil {
		return fatalf("%v", err)
	}
	proto, err := os.ReadFile(r.path(mainProto))
	if err != nil {
		return fatalf("%v", err)
	}
	f, err := maincf.Parse(tmp+"/main.cf", proto)
	if err != nil {
		return fatalf("%v", err)
	}
	var sets [][2]string
	for _, p := range sharedParameters {
		if v, ok := st.primary.Lookup(p); ok && v != "" {
			sets = append(sets, [2]string{p, v})
			continue
		}
		f.CommentOut(p)
	}
	for _, kv := range append([][2]string{
		{"queue_directory", nw.QueueDir},
		{"data_directory", nw.DataDir},
		{"authorized_submit_users", ""},
		{"master_service_disable", "inet"},
	}, sets...) {
		if err := setf(f, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteFile(r.path(tmp+"/main.cf"), f.Bytes(), 0o644); err != nil {
		return fatalf("%v", err)
	}
	if err := copyPreserving(r.path(masterProto), r.path(tmp+"/master.cf")); err != nil {
		return fatalf("%v", err)
	}
	for _, n := range []string{"main.cf", "master.cf"} {
		if err := os.Rename(r.path(tmp+"/"+n), r.path(cd+"/"+n)); err != nil {
			return fatalf("%v", err)
		}
	}
	_ = os.Remove(r.path(tmp))
	return nil
}

// copyPreserving is "cp -p": contents, mode, owner and times.
func copyPreserving(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
		return err
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(dst, int(sys.Uid), int(sys.Gid)); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
		if err := os.Chmod(dst, fi.Mode().Perm()); err != nil {
			return err
		}
		atime := time.Unix(sys.Atim.Sec, sys.Atim.Nsec)
		return os.Chtimes(dst, atime, fi.ModTime())
	}
	return nil
}
