// Package instance builds the model of a host's Postfix instances: the
// default instance and, in multi_instance_directories order, every
// secondary one, each with its name, group, enable flag and directories.
//
// Load never lets one bad instance hide the others: problems are collected
// per instance and returned beside the instances that are fine.
package instance

// STUB: the API below is the contract other packages build against.

import "io/fs"

// Instance is one Postfix instance as postmulti sees it.
type Instance struct {
	// Name is multi_instance_name: "" for a nameless instance. The default
	// instance has Name "" and Default true; postmulti shows both as "-".
	Name    string
	Group   string // multi_instance_group, "" when unset
	Enabled bool   // multi_instance_enable
	Default bool   // the instance in the default config directory

	ConfigDir  string // config_directory (absolute)
	QueueDir   string // queue_directory, expanded
	DataDir    string // data_directory, expanded
	CommandDir string // command_directory, expanded
	DaemonDir  string // daemon_directory, expanded
	MainCF     string // ConfigDir + "/main.cf"
	Position   int    // 0 for the default, then 1.. in start order
}

// Problem is why one instance could not be modelled.
type Problem struct {
	ConfigDir string // the instance's config directory as listed
	Path      string // the file at fault, when there is one
	Line      int    // its line, when known
	Err       error
}

func (p Problem) Error() string { return p.Err.Error() }
func (p Problem) Unwrap() error { return p.Err }

// Set is the result of Load.
type Set struct {
	Instances []Instance // default first, then start order; bad ones left out
	Problems  []Problem
}

// Load reads the default config directory and every instance it lists.
// fsys is rooted at "/" (os.DirFS("/") in production, a test tree in tests);
// paths are absolute as in main.cf. An error is returned only when the
// default instance itself cannot be read.
func Load(fsys fs.FS, defaultConfigDir string) (*Set, error) { return &Set{}, nil }
