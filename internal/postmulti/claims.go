package postmulti

import (
	"strings"

	"github.com/postfix-systemd/postfix-instances/internal/instance"
)

// claims is upstream's claim table (claim_instance_attributes): every
// name and config, queue and data directory of the listed instances, and
// the default instance's shared directories, each owned by
// "CONFIG_DIRECTORY, PARAMETER" and compared as strings, as upstream
// compares them. -e create, import and assign extend it. (Whether an
// instance can run under systemd, with directories compared cleaned, is
// instance.Resolve's; see refuseUnrunnable.)
type claims map[string]string

// newClaims is the table after upstream's load_all_instances: the list
// read had no conflict (loadAll refuses one, refused).
func (r *runner) newClaims() claims {
	c := claims{}
	def := r.list[0]
	for _, s := range []struct{ param, value string }{
		{"command_directory", r.pc.commandDir}, {"daemon_directory", r.pc.daemonDir}, {"shlib_directory", r.pc.shlibDir},
	} {
		if strings.HasPrefix(s.value, "/") {
			c.add(def.ConfigDir, s.param, s.value)
		}
	}
	for _, ip := range r.list {
		for _, a := range attributes(ip) {
			c.add(ip.ConfigDir, a[0], a[1])
		}
	}
	return c
}

func (c claims) add(configDir, param, value string) {
	if _, ok := c[value]; !ok {
		c[value] = configDir + ", " + param
	}
}

// attributes are what upstream claims of an instance, in its order.
func attributes(in *instance.Instance) [][2]string {
	var a [][2]string
	if in.Name != "" {
		a = append(a, [2]string{"multi_instance_name", in.Name})
	}
	return append(a, [2]string{"config_directory", in.ConfigDir}, [2]string{"queue_directory", in.QueueDir}, [2]string{"data_directory", in.DataDir})
}

// claim claims the attributes of in, an instance that joins the list or
// takes a new name, and returns upstream's fatal error at the first that
// another owns. Nothing is claimed then.
func (c claims) claim(in *instance.Instance, attrs [][2]string) error {
	mine := claims{}
	for _, a := range attrs {
		me := in.ConfigDir + ", " + a[0]
		o, ok := mine[a[1]]
		if !ok {
			o, ok = c[a[1]]
		}
		if ok && o != me {
			return fatalf("instance %s, %s=%s conflicts with instance %s=%s", in.ConfigDir, a[0], a[1], o, a[1])
		}
		mine.add(in.ConfigDir, a[0], a[1])
	}
	for v, o := range mine {
		if _, ok := c[v]; !ok {
			c[v] = o
		}
	}
	return nil
}
