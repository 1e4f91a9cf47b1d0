package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
)

// BenchmarkConfigureInstance measures what Debian's configure-instance.sh,
// run before every start by units/debian/...40-debian-configure-instance.conf,
// costs as the number of instances grows, called the way the drop-in calls
// it (the config directory: "postmulti -i DIR -x postconf" for every query,
// and postmulti runs postconf for every instance) and with "-" and
// MAIL_CONFIG in the environment (plain postconf on that instance only).
//
//	go test -run '^$' -bench ConfigureInstance -benchtime 3x ./test/e2e
func BenchmarkConfigureInstance(b *testing.B) {
	harness.Require(b)
	p := BuildProduct(b)
	c := harness.Boot(b, harness.Options{Files: p.Files()})
	c.Run("postmulti", "-e", "init")
	c.Run("postmulti", "-I", "postfix-out", "-G", "mta", "-e", "create")
	dirs := []string{"/etc/postfix-out"}
	for _, n := range []int{1, 11, 51} {
		for len(dirs) < n {
			i := len(dirs)
			d := fmt.Sprintf("/etc/postfix-x%d", i)
			c.WriteFile(d+"/main.cf", []byte(fmt.Sprintf("multi_instance_name = postfix-x%d\nqueue_directory = /var/spool/postfix-x%d\ndata_directory = /var/lib/postfix-x%d\nmulti_instance_enable = no\n", i, i, i)), 0o644)
			c.Run("cp", "/etc/postfix-out/master.cf", d+"/master.cf")
			dirs = append(dirs, d)
		}
		c.Run("postconf", "-e", "multi_instance_directories = "+strings.Join(dirs, " "))
		var perCall [2]time.Duration
		for j, args := range [][]string{
			{"env", "-u", "MAIL_CONFIG", "/usr/lib/postfix/configure-instance.sh", "/etc/postfix-out"},
			{"env", "MAIL_CONFIG=/etc/postfix-out", "/usr/lib/postfix/configure-instance.sh", "-"},
		} {
			name := [2]string{"via-postmulti", "via-MAIL_CONFIG"}[j]
			b.Run(fmt.Sprintf("instances=%d/%s", n, name), func(b *testing.B) {
				start := time.Now()
				for i := 0; i < b.N; i++ {
					c.Run(args...)
				}
				perCall[j] = time.Since(start) / time.Duration(b.N)
			})
		}
		b.Logf("%d instances: configure-instance.sh DIR %s, - with MAIL_CONFIG %s, ratio %.1f",
			n, perCall[0].Round(time.Millisecond), perCall[1].Round(time.Millisecond), float64(perCall[0])/float64(perCall[1]))
	}
}
