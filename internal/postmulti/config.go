package postmulti

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/maincf"
)

// defaultConfigDir is Postfix's compiled-in config_directory (DEF_CONFIG_DIR).
const defaultConfigDir = "/etc/postfix"

// namePrefix is the mandatory prefix of instance names.
const namePrefix = "postfix-"

// primaryConfig is what upstream's mail_conf_read() leaves in its globals:
// the default instance's main.cf and the parameters postmulti uses.
type primaryConfig struct {
	cfg *maincf.Config

	configDir, queueDir, dataDir             string
	commandDir, daemonDir, metaDir, shlibDir string
	name, group                              string // "" when unset
	enabled                                  bool
	multiDirs                                []string
	importEnv                                string
	startCmds, stopCmds, controlCmds         string
	logtag                                   string // syslog_name, exported as MAIL_LOGTAG
}

// inst is one entry of the managed list, as upstream's INSTANCE.
type inst struct {
	configDir, queueDir, dataDir string
	name, group                  string // "" when unset
	enabled                      bool
	primary                      bool
}

// displayName is how messages name an instance: its name, else its directory.
func (ip *inst) displayName() string {
	if ip.name != "" {
		return ip.name
	}
	return ip.configDir
}

// readMainCF reads and parses DIR/main.cf under root.
func (r *runner) readMainCF(dir string) (*maincf.Config, error) {
	path := strings.TrimSuffix(dir, "/") + "/main.cf"
	data, err := os.ReadFile(r.path(path))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fatalf("open %s: %s", path, strerror(pe.Err))
		}
		return nil, fatalf("open %s: %v", path, err)
	}
	f, err := maincf.Parse(path, data)
	if err != nil {
		return nil, fatalf("%v", err)
	}
	return &maincf.Config{Dir: dir, File: f, Defaults: maincf.BuiltinDefaults()}, nil
}

// expand returns postconf -xh NAME for cfg, as a fatal error on failure.
func expand(cfg *maincf.Config, name string) (string, error) {
	v, err := cfg.Expand(name)
	if err != nil {
		return "", fatalf("%s: %v", cfg.File.Path, err)
	}
	return v, nil
}

// loadPrimary is upstream's mail_conf_read() for the parameters postmulti
// reads from the default instance.
func (r *runner) loadPrimary() (*primaryConfig, error) {
	dir := defaultConfigDir
	if v, ok := r.getenv("MAIL_CONFIG"); ok && v != "" {
		dir = v
	}
	cfg, err := r.readMainCF(dir)
	if err != nil {
		return nil, err
	}
	// mail_conf_read's own complaints (duplicate entries and the like).
	for _, w := range cfg.File.Warnings() {
		r.warn("", w)
	}
	return primaryFrom(cfg)
}

// primaryFrom extracts the default instance's parameters from its main.cf.
func primaryFrom(cfg *maincf.Config) (*primaryConfig, error) {
	var err error
	p := &primaryConfig{cfg: cfg, configDir: cfg.Dir}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"queue_directory", &p.queueDir}, {"data_directory", &p.dataDir},
		{"command_directory", &p.commandDir}, {"daemon_directory", &p.daemonDir},
		{"meta_directory", &p.metaDir}, {"shlib_directory", &p.shlibDir},
		{"multi_instance_name", &p.name}, {"multi_instance_group", &p.group},
		{"import_environment", &p.importEnv},
		{"postmulti_start_commands", &p.startCmds}, {"postmulti_stop_commands", &p.stopCmds},
		{"postmulti_control_commands", &p.controlCmds},
		{"syslog_name", &p.logtag},
	} {
		if *s.dst, err = expand(cfg, s.name); err != nil {
			return nil, err
		}
	}
	en, err := expand(cfg, "multi_instance_enable")
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(en) {
	case "yes":
		p.enabled = true
	case "no":
	default:
		return nil, fatalf("bad boolean configuration: %s = %s", "multi_instance_enable", en)
	}
	dirs, err := expand(cfg, "multi_instance_directories")
	if err != nil {
		return nil, err
	}
	p.multiDirs = splitList(dirs)
	return p, nil
}

// splitList splits on commas and white space, as upstream's argv_split
// with CHARS_COMMA_SP.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	})
}

// registry is upstream's claim table: every instance name and private or
// shared directory belongs to one instance parameter.
type registry map[string]string

func (c registry) claim(instPath, param, value string) error {
	req := instPath + ", " + param
	owner, ok := c[value]
	switch {
	case !ok:
		c[value] = req
	case owner != req:
		return fatalf("instance %s, %s=%s conflicts with instance %s=%s", instPath, param, value, owner, value)
	}
	return nil
}

func (c registry) claimInstance(ip *inst) error {
	if ip.name != "" {
		if err := c.claim(ip.configDir, "multi_instance_name", ip.name); err != nil {
			return err
		}
	}
	for _, kv := range [][2]string{{"config_directory", ip.configDir}, {"queue_directory", ip.queueDir}, {"data_directory", ip.dataDir}} {
		if err := c.claim(ip.configDir, kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// checkSharedDirs is upstream's check_shared_dir_status: the shared
// directories must exist and are claimed by the default instance.
func (r *runner) checkSharedDirs() error {
	for _, s := range [][2]string{
		{"command_directory", r.pc.commandDir}, {"daemon_directory", r.pc.daemonDir},
		{"meta_directory", r.pc.metaDir}, {"shlib_directory", r.pc.shlibDir},
	} {
		if !strings.HasPrefix(s[1], "/") {
			continue
		}
		st, err := os.Stat(r.path(s[1]))
		if err != nil {
			return fatalf("%s = '%s': directory not found: %s", s[0], s[1], strerror(err))
		}
		if !st.IsDir() {
			return fatalf("%s = '%s' is not a directory", s[0], s[1])
		}
		if s[0] == "meta_directory" {
			continue
		}
		if err := r.claims.claim(r.pc.configDir, s[0], s[1]); err != nil {
			return err
		}
	}
	return nil
}

// primaryInstance synthesises the default instance from its main.cf.
func (r *runner) primaryInstance() *inst {
	return &inst{
		configDir: r.pc.configDir, queueDir: r.pc.queueDir, dataDir: r.pc.dataDir,
		name: r.pc.name, group: r.pc.group, enabled: r.pc.enabled, primary: true,
	}
}

// loadInstance is upstream's load_instance: what
// "postconf -xc DIR queue_directory data_directory multi_instance_name
// multi_instance_group multi_instance_enable" reports, read here without
// running postconf.
func (r *runner) loadInstance(ip *inst) error {
	cfg, err := r.readMainCF(ip.configDir)
	if err != nil {
		// postconf's own complaint, then postmulti's.
		var fe *fatalError
		if errors.As(err, &fe) {
			r.diag(r.pc.commandDir + "/postconf: fatal: " + fe.msg)
		}
		return fatalf("Failed to obtain all required %s/main.cf parameters", ip.configDir)
	}
	// What postconf -xc DIR says on stderr while it reads the instance
	// (said once: not again in the second pass of an -e action).
	for _, w := range cfg.File.Warnings() {
		r.postconfWarn(w)
	}
	if _, err := os.Stat(r.path(strings.TrimSuffix(ip.configDir, "/") + "/master.cf")); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			r.postconfWarn("open " + strings.TrimSuffix(ip.configDir, "/") + "/master.cf: " + strerror(pe.Err))
		}
	}
	vals := make([]string, 5)
	for i, n := range []string{"queue_directory", "data_directory", "multi_instance_name", "multi_instance_group", "multi_instance_enable"} {
		if vals[i], err = expand(cfg, n); err != nil {
			return err
		}
	}
	ip.queueDir, ip.dataDir, ip.name, ip.group = vals[0], vals[1], vals[2], vals[3]
	switch strings.ToLower(vals[4]) {
	case "yes":
		ip.enabled = true
	case "no":
		ip.enabled = false
	default:
		return fatalf("Unexpected %s/main.cf entry: %s = %s", ip.configDir, "multi_instance_enable", vals[4])
	}
	return nil
}

// loadAll is upstream's load_all_instances: the default instance, then
// every multi_instance_directories entry in order; the first unreadable
// instance or conflicting claim is fatal, as upstream.
func (r *runner) loadAll() error {
	p := r.primaryInstance()
	if len(r.pc.multiDirs) == 0 {
		p.enabled = true // single-instance mode
	}
	if err := r.claims.claimInstance(p); err != nil {
		return err
	}
	r.list = []*inst{p}
	for _, d := range r.pc.multiDirs {
		ip := &inst{configDir: d}
		if err := r.loadInstance(ip); err != nil {
			return err
		}
		if err := r.claims.claimInstance(ip); err != nil {
			return err
		}
		r.list = append(r.list, ip)
	}
	return nil
}

// matches is upstream's match_instance_selection.
func (s selection) matches(ip *inst) bool {
	switch s.typ {
	case selAll:
		return true
	case selGroup:
		return ip.group != "" && ip.group == s.name
	case selName:
		var iname string
		switch {
		case strings.HasPrefix(s.name, "/") || ip.name == "":
			iname = ip.configDir
		case !strings.HasPrefix(s.name, namePrefix) && strings.HasPrefix(ip.name, namePrefix):
			iname = ip.name[len(namePrefix):]
		default:
			iname = ip.name
		}
		return s.name == iname || (ip.primary && s.name == "-")
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

// postconfWarn prints a warning the way upstream's postconf child would.
func (r *runner) postconfWarn(msg string) {
	if !r.quiet {
		r.warn(r.pc.commandDir+"/postconf", msg)
	}
}
