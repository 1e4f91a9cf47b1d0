package instance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchSizes are the numbers of secondary instances benchmarked.
var benchSizes = []int{1, 10, 100, 1000}

// benchDirEnv names a directory in which BenchmarkLoad keeps its trees
// (DIR/nN/etc/postfix...) instead of temporary ones, so that
// scripts/bench-model.sh can run the real postmulti on the very same files.
const benchDirEnv = "PFI_BENCH_DIR"

// benchMainCF is the body of every main.cf in a benchmark tree: about the
// size of Debian's default main.cf, which postmulti -e create copies into
// each new instance.
var benchMainCF = `# See /usr/share/postfix/main.cf.dist for a commented, more complete version

smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no

# appending .domain is the MUA's job.
append_dot_mydomain = no

# Uncomment the next line to generate "delayed mail" warnings
#delay_warning_time = 4h

readme_directory = no

# See http://www.postfix.org/COMPATIBILITY_README.html -- default to 3.6 on
# fresh installs.
compatibility_level = 3.6

# TLS parameters
smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
smtpd_tls_security_level=may

smtp_tls_CApath=/etc/ssl/certs
smtp_tls_security_level=may
smtp_tls_session_cache_database = btree:${data_directory}/smtp_scache

smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
myhostname = bench.example
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
mydestination = $myhostname, localhost.example, localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = loopback-only
inet_protocols = all
`

// benchMasterCF is a short master.cf, so that postconf does not warn.
var benchMasterCF = `smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
smtp      unix  -       -       y       -       -       smtp
local     unix  -       n       n       -       -       local
`

// writeBenchTree writes a default instance and n secondaries under root:
// root/etc/postfix and root/etc/postfix-iNNNN, in groups of ten, every
// other one enabled, files aged an hour (Postfix waits for main.cf files
// younger than a second). It returns the default config directory.
func writeBenchTree(tb testing.TB, root string, n int) string {
	tb.Helper()
	var list []string
	write := func(dir, main string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(benchMainCF+main), 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(benchMasterCF), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("postfix-i%04d", i)
		dir := filepath.Join(root, "etc", name)
		list = append(list, dir)
		write(dir, fmt.Sprintf("queue_directory = /var/spool/%s\ndata_directory = /var/lib/%s\n"+
			"multi_instance_group = g%d\nmulti_instance_name = %s\nmulti_instance_enable = %s\n",
			name, name, i/10, name, map[bool]string{true: "yes", false: "no"}[i%2 == 0]))
	}
	def := filepath.Join(root, "etc", "postfix")
	write(def, "multi_instance_wrapper = ${command_directory}/postmulti -p --\nmulti_instance_enable = yes\n"+
		"multi_instance_directories = "+strings.Join(list, "\n\t")+"\n")
	ageTree(tb, root)
	return def
}

// BenchmarkLoad builds the model of a default instance plus N secondaries,
// the work postmulti -l -a does with one postconf process per instance.
func BenchmarkLoad(b *testing.B) {
	keep := os.Getenv(benchDirEnv)
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			root := b.TempDir()
			if keep != "" {
				root = filepath.Join(keep, fmt.Sprintf("n%d", n))
				if err := os.RemoveAll(root); err != nil {
					b.Fatal(err)
				}
			}
			def := writeBenchTree(b, root, n)
			fsys := os.DirFS("/")
			set, err := Load(fsys, def)
			if err != nil {
				b.Fatal(err)
			}
			if len(set.Instances) != n+1 || len(set.Problems) != 0 {
				b.Fatalf("model of %d instances with %d problems (%v), want %d and none", len(set.Instances), len(set.Problems), set.Problems, n+1)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := Load(fsys, def); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
