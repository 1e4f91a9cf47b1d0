package postmulti

import (
	"errors"
	"os"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/atomicfile"
	"github.com/postfix-systemd/postfix-instances/internal/instance"
	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// exportFlags are upstream's EXP_FLAG_*: what the helper must update.
type exportFlags int

const (
	expDirs  exportFlags = 1 << 0 // multi_instance_directories
	expName  exportFlags = 1 << 1 // multi_instance_name
	expGroup exportFlags = 1 << 2 // multi_instance_group
)

// editState is one -e action under the lock of the default main.cf.
type editState struct {
	primary *maincf.File // the default main.cf being edited
	target  *instance.Instance
	flags   exportFlags
	after   []func() error // steps upstream runs after the main.cf updates
	// dry is the first pass, which checks everything upstream checks
	// and writes nothing, so that a refusal leaves every file as it was
	// (the lock alone would create main.cf.tmp).
	dry bool
}

// manage is upstream's life-cycle mode.
//
// init, create, import, deport and destroy change the default main.cf.
// They run twice: a dry pass that makes every check upstream makes and
// writes nothing, then, holding the default main.cf's edit lock
// (internal/atomicfile, the lock postconf -e takes), the real pass, which
// re-reads the instance list under the lock and updates it. Concurrent
// postmulti -e runs, ours or upstream's postconf, thus serialise: the list
// a run reads is the list it writes. (Upstream has no such lock: "XXX: No
// multi.cf lock file, so this is not race-free".) enable, disable and
// assign change one instance's main.cf only, through its own atomic edit.
func (r *runner) manage() error {
	switch r.opts.Mode {
	case editEnable, editDisable, editAssign:
		st := &editState{}
		if err := r.editAction(st); err != nil {
			return err
		}
		return r.finish(st)
	}
	dry := &editState{dry: true, primary: r.pc.cfg.File}
	if err := r.editAction(dry); err != nil {
		return err
	}
	mainPath := r.pc.configDir + "/main.cf"
	st := &editState{}
	err := atomicfile.Edit(r.path(mainPath), func(old []byte) ([]byte, error) {
		r.quiet = true
		if err := r.reloadPrimary(old); err != nil {
			return nil, err
		}
		st.primary = r.pc.cfg.File
		if err := r.editAction(st); err != nil {
			return nil, err
		}
		return st.primary.Bytes(), nil
	})
	if err != nil {
		return asFatal(err)
	}
	return r.finish(st)
}

// finish runs the steps upstream runs after the main.cf updates (postfix
// set-permissions, the removal of a destroyed instance's files), then
// tells the Lifecycle, whose systemd implementation reloads systemd's
// configuration when systemd is PID 1: the configuration has changed even
// when one of those steps failed.
func (r *runner) finish(st *editState) error {
	var err error
	for _, f := range st.after {
		if err = f(); err != nil {
			break
		}
	}
	if rerr := r.env.Lifecycle.ConfigChanged(r.ctx); rerr != nil {
		r.warn("", "cannot ask systemd to reload its configuration: "+rerr.Error())
	}
	return err
}

// asFatal keeps fatal and exit errors, and makes any other a fatal error.
func asFatal(err error) error {
	var fe *fatalError
	var ee *exitError
	if errors.As(err, &fe) || errors.As(err, &ee) {
		return err
	}
	return fatalf("%v", err)
}

// reloadPrimary re-reads the default main.cf from the bytes read under
// the lock, with the instances it lists, and redoes the checks that
// depend on it.
func (r *runner) reloadPrimary(data []byte) error {
	pc, err := r.loadPrimary(data)
	if err != nil {
		return err
	}
	r.pc = pc
	return r.checkSharedDirs()
}

// editAction dispatches one -e action, upstream's manage().
func (r *runner) editAction(st *editState) error {
	o := r.opts
	switch o.Mode {
	case editInit:
		return r.runInit(st)
	case editCreate, editImport:
		return r.runCreate(st, CreateOptions{Import: o.Mode == editImport, Selection: o.Selection, NewName: o.NewName, NewGroup: o.NewGroup, Params: o.Args})
	case editAssign:
		return r.runAssign(st, AssignOptions{Selection: o.Selection, NewName: o.NewName, NewGroup: o.NewGroup})
	case editDestroy, editDeport:
		return r.runRemove(st, RemoveOptions{Destroy: o.Mode == editDestroy, Selection: o.Selection})
	default:
		return r.runEnable(st, EnableOptions{Enable: o.Mode == editEnable, Selection: o.Selection})
	}
}

// loadTarget reads every instance and selects the existing one an -e
// action acts on (see selectExisting), recording it as the edit's target.
func (r *runner) loadTarget(st *editState, sel selection, unlink bool) (*instance.Instance, error) {
	if err := r.loadAll(); err != nil {
		return nil, err
	}
	t, err := r.selectExisting(sel, unlink, st)
	if err != nil {
		return nil, err
	}
	st.target = t
	return t, nil
}

// selectExisting is upstream's select_existing_instance; with unlink the
// instance leaves the list (destroy, deport).
func (r *runner) selectExisting(sel selection, unlink bool, st *editState) (*instance.Instance, error) {
	if sel.typ != selName {
		return nil, fatalf("Select an instance via '-i name'")
	}
	for i, ip := range r.list {
		if !sel.matches(ip) {
			continue
		}
		if unlink {
			if i == 0 {
				return nil, fatalf("Cannot remove the primary instance")
			}
			if ip.Enabled {
				return nil, fatalf("Cannot remove enabled instances")
			}
			r.list = append(r.list[:i:i], r.list[i+1:]...)
			st.flags |= expDirs
		}
		return ip, nil
	}
	return nil, fatalf("No instance named %s", sel.name)
}

// checkNames is upstream's check_name_assignments.
func checkNames(name, group *string) error {
	if name != nil && *name != "" {
		if !safeName(*name) {
			return fatalf("Unsafe characters in new instance name: '%s'", *name)
		}
		if strings.Contains(*name, "/") {
			return fatalf("Illegal '/' character in new instance name: '%s'", *name)
		}
		if !strings.HasPrefix(*name, instance.NamePrefix) {
			return fatalf("New instance name must start with '%s'", instance.NamePrefix)
		}
	}
	if group != nil && *group != "" && !safeName(*group) {
		return fatalf("Unsafe characters in '-G %s'", *group)
	}
	return nil
}

// safeName allows letters, digits and "!@%-_=+:./" only.
func safeName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!@%-_=+:./", c) >= 0) {
			return false
		}
	}
	return true
}

// assignNames is upstream's do_name_assignments: the changes -I and -G
// make to target, claimed against the other instances.
func (r *runner) assignNames(target *instance.Instance, name, group *string) (exportFlags, error) {
	var fl exportFlags
	if name != nil && *name != target.Name {
		if err := r.claims.claim(target, [][2]string{{"multi_instance_name", *name}}); err != nil {
			return 0, err
		}
		target.Name = *name
		fl |= expName
	}
	if group != nil && *group != target.Group {
		target.Group = *group
		fl |= expGroup
	}
	return fl, nil
}

// scriptTag is the tag upstream's postmulti-script logs under.
func (r *runner) scriptTag() string {
	tag, _ := r.getenv("MAIL_LOGTAG")
	return tag + "/postmulti-script"
}

// checkInitialized is postmulti-script's check, for every action but
// init, that "postmulti -e init" (or its equivalent) was done.
func (r *runner) checkInitialized() error {
	w, err := expand(r.pc.cfg, "multi_instance_wrapper")
	if err != nil {
		return err
	}
	if w == "" {
		return scriptFatalf(r.scriptTag(), "multi_instance_wrapper is empty, run 'postmulti -e init' first.")
	}
	en, err := expand(r.pc.cfg, "multi_instance_enable")
	if err != nil {
		return err
	}
	if en != "yes" {
		return scriptFatalf(r.scriptTag(), "multi_instance_enable!=yes, run 'postmulti -e init' first.")
	}
	return nil
}

// editInstanceMainCF applies fn to DIR/main.cf like postconf -c DIR -e:
// in memory when DIR is the default instance (whose main.cf is being
// edited under the lock already), otherwise through its own atomic edit.
func (r *runner) editInstanceMainCF(st *editState, dir string, fn func(f *maincf.File) error) error {
	if st.dry {
		return nil
	}
	if st.primary != nil && r.sameDir(dir, r.pc.configDir) {
		// Under its lock already: a second Edit would wait for ever.
		return fn(st.primary)
	}
	path := strings.TrimSuffix(dir, "/") + "/main.cf"
	err := atomicfile.Edit(r.path(path), func(old []byte) ([]byte, error) {
		f, err := maincf.Parse(path, old)
		if err != nil {
			return nil, fatalf("%v", err)
		}
		if err := fn(f); err != nil {
			return nil, err
		}
		return f.Bytes(), nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return fatalf("open %s: %s", path, "No such file or directory")
	}
	if err != nil {
		return asFatal(err)
	}
	return nil
}

// setNames is postmulti-script's assign_names: write the changed name and
// group into the target's main.cf.
func (r *runner) setNames(st *editState) error {
	if st.flags&(expName|expGroup) == 0 {
		return nil
	}
	return r.editInstanceMainCF(st, st.target.ConfigDir, func(f *maincf.File) error {
		if st.flags&expName != 0 {
			if err := f.Set("multi_instance_name", st.target.Name); err != nil {
				return fatalf("%v", err)
			}
		}
		if st.flags&expGroup != 0 {
			if err := f.Set("multi_instance_group", st.target.Group); err != nil {
				return fatalf("%v", err)
			}
		}
		return nil
	})
}

// updateDirs is postmulti-script's update_cfdirs: set
// multi_instance_directories to the new list, and remove dir from (del)
// or add it to (add) alternate_config_directories.
func (r *runner) updateDirs(st *editState, add bool, dir string) error {
	alt, _ := r.pc.cfg.Raw("alternate_config_directories")
	var keep strings.Builder
	found := false
	for _, d := range strings.FieldsFunc(alt, func(c rune) bool { return c == ' ' || c == '\t' || c == '\n' || c == ',' }) {
		if d == dir {
			found = true
		} else {
			keep.WriteString(" " + d)
		}
	}
	var dirs []string
	for _, ip := range r.list[1:] {
		dirs = append(dirs, ip.ConfigDir)
	}
	if err := st.primary.Set("multi_instance_directories", strings.Join(dirs, " ")); err != nil {
		return fatalf("%v", err)
	}
	switch {
	case add && !found:
		return setf(st.primary, "alternate_config_directories", keep.String()+" "+dir)
	case !add && found:
		return setf(st.primary, "alternate_config_directories", keep.String())
	}
	return nil
}

func setf(f *maincf.File, name, value string) error {
	if err := f.Set(name, value); err != nil {
		return fatalf("%v", err)
	}
	return nil
}
