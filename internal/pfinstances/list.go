package pfinstances

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// listOptions are the list verb's options.
type listOptions struct {
	*globalOptions
	json bool
}

const listLong = `List the Postfix instances in start order: the default instance, then
every directory of multi_instance_directories. For each, what
"postmulti -l -a" shows (name, group, enabled, config directory; "-" for
no name or no group), its systemd unit and its queue and data
directories. An instance that cannot run under systemd (the generator
writes no unit for it) is listed with the reason, naming the file and line
at fault.

JSON (--json): one object.

    schema_version     1
    config_directory   the default instance's config directory
    instances          array, in start order, of:
      position           0 for the default instance, else the 1-based place in
                         multi_instance_directories
      default            true for the default instance
      read               false when its main.cf could not be read: then name,
                         group, enabled and the directories are unknown
      name               multi_instance_name, "" for none
      group              multi_instance_group, "" for none
      enabled            multi_instance_enable
      config_directory   as listed in multi_instance_directories
      queue_directory    queue_directory
      data_directory     data_directory
      unit               the systemd unit, "" when the instance cannot run
      drop_in            the generated drop-in, relative to the generator's
                         output directory (/run/systemd/generator)
      pid_file           the master's PID file
      group_target       postfix-GROUP.target, "" without a group
      runnable           whether the generator writes a unit for it
      skipped            null, or why it cannot run:
        kind               unreadable, bad_value, conflict (postmulti refuses
                           these too), duplicate, relative_path, bad_name,
                           bad_path, bad_directory
        reason             the message
        file, line         where the cause is (line 0: unknown)

Exit status 0 when the model was read, 3 when it could not be.`

func newListCommand(g *globalOptions) *cobra.Command {
	o := &listOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the instances, their units and directories",
		Long:  listLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run()
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON document (see below)")
	return cmd
}

func (o *listOptions) run() error {
	m, err := o.load()
	if err != nil {
		return &exitError{ExitUnknown, err}
	}
	w := bufio.NewWriter(o.env.Stdout)
	if o.json {
		err = writeJSON(w, listDoc(m))
	} else {
		writeListText(w, m)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return &exitError{ExitUnknown, fmt.Errorf("write output: %w", err)}
	}
	return nil
}

// listJSON is the list verb's document.
type listJSON struct {
	SchemaVersion int            `json:"schema_version"`
	ConfigDir     string         `json:"config_directory"`
	Instances     []instanceJSON `json:"instances"`
}

// instanceJSON is one instance of the model in JSON (list; status embeds it).
type instanceJSON struct {
	Position    int       `json:"position"`
	Default     bool      `json:"default"`
	Read        bool      `json:"read"`
	Name        string    `json:"name"`
	Group       string    `json:"group"`
	Enabled     bool      `json:"enabled"`
	ConfigDir   string    `json:"config_directory"`
	QueueDir    string    `json:"queue_directory"`
	DataDir     string    `json:"data_directory"`
	Unit        string    `json:"unit"`
	DropIn      string    `json:"drop_in"`
	PIDFile     string    `json:"pid_file"`
	GroupTarget string    `json:"group_target"`
	Runnable    bool      `json:"runnable"`
	Skipped     *skipJSON `json:"skipped"`
}

type skipJSON struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	File   string `json:"file"`
	Line   int    `json:"line"`
}

func toJSON(e *entry) instanceJSON {
	j := instanceJSON{
		Position: e.Position, Default: e.Default, Read: e.Read,
		Name: e.Name, Group: e.Group, Enabled: e.Enabled,
		ConfigDir: e.ConfigDir, QueueDir: e.QueueDir, DataDir: e.DataDir,
		Unit: e.Unit, DropIn: e.DropIn, PIDFile: e.PIDFile, GroupTarget: e.GroupTarget,
		Runnable: e.Skip == nil,
	}
	if s := e.Skip; s != nil {
		j.Skipped = &skipJSON{Kind: s.Kind, Reason: s.Reason, File: s.File, Line: s.Line}
	}
	return j
}

func listDoc(m *model) listJSON {
	d := listJSON{SchemaVersion: SchemaVersion, ConfigDir: m.ConfigDir, Instances: []instanceJSON{}}
	for i := range m.Entries {
		d.Instances = append(d.Instances, toJSON(&m.Entries[i]))
	}
	return d
}

// writeJSON writes v indented, with a final newline, HTML characters
// unescaped.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// dash returns s, or "-" for "".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yn(b bool) string {
	if b {
		return "y"
	}
	return "n"
}

func writeListText(w io.Writer, m *model) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGROUP\tENABLED\tCONFIG DIRECTORY\tUNIT\tQUEUE DIRECTORY\tDATA DIRECTORY")
	var skipped []*entry
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Skip != nil {
			skipped = append(skipped, e)
		}
		if !e.Read {
			fmt.Fprintf(tw, "?\t?\t?\t%s\t-\t?\t?\n", e.ConfigDir)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.label(), dash(e.Group), yn(e.Enabled), e.ConfigDir, dash(e.Unit), e.QueueDir, e.DataDir)
	}
	tw.Flush()
	for _, e := range skipped {
		fmt.Fprintf(w, "skipped: %s (position %s): %s\n", e.ConfigDir, strconv.Itoa(e.Position), e.Skip.Reason)
	}
}
