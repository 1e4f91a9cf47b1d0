package pfinstances

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// benchInstances is N for BenchmarkStatusVsShell: instances in all, the
// walk-through's three included.
const benchInstances = 100

// shellStatus is the pipeline an admin would otherwise run for what
// status shows: postmulti -l -a for the instances, then per instance one
// "systemctl show" of its unit and one "find | wc -l" per queue. It
// guesses each queue directory from the config directory (postmulti
// -e create's convention) rather than paying a postconf per instance.
const shellStatus = `postmulti -l -a | while read -r name group enabled dir; do
	if [ "$dir" = /etc/postfix ]; then
		unit=postfix@-.service q=/var/spool/postfix
	else
		unit=postfix@$name.service q=/var/spool/${dir##*/}
	fi
	echo "$name $group $enabled $dir $unit"
	systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts -p ActiveEnterTimestamp "$unit"
	for d in incoming active deferred hold; do
		echo "$d $(find "$q/$d" -type f | wc -l)"
	done
done`

// BenchmarkStatusVsShell times "postfix-instances status" at N = 100
// instances inside a booted container against shellStatus, each run
// inside the container (no nsenter in the timing), and reports both (the
// median of 5 alternating rounds) and their ratio. The walk-through's three instances run; the others are
// enabled, loaded by systemd (their drop-ins generated) and not started,
// each with a few queue files. scripts/bench-status.sh runs it:
//
//	go test -run '^$' -bench StatusVsShell -benchtime 1x ./internal/pfinstances
func BenchmarkStatusVsShell(b *testing.B) {
	c := bootWalkthrough(b)
	c.Run("systemctl", "start", "postfix.service")
	dirs := []string{"/etc/postfix-out", "/etc/postfix-in"}
	var setup strings.Builder
	for i := len(dirs) + 1; i < benchInstances; i++ {
		d := fmt.Sprintf("/etc/postfix-b%d", i)
		q := fmt.Sprintf("/var/spool/postfix-b%d", i)
		fmt.Fprintf(&setup, "mkdir -p %s %s/incoming %s/active %s/deferred/A %s/hold\n", d, q, q, q, q)
		fmt.Fprintf(&setup, "printf 'multi_instance_name = postfix-b%d\\nmulti_instance_group = g%d\\nqueue_directory = %s\\ndata_directory = /var/lib/postfix-b%d\\nmulti_instance_enable = yes\\n' > %s/main.cf\n", i, i%7, q, i, d)
		fmt.Fprintf(&setup, "cp /etc/postfix-out/master.cf %s/\n", d)
		fmt.Fprintf(&setup, "touch %s/deferred/A/A%05d %s/deferred/A/B%05d %s/active/C%05d\n", q, i, q, i, q, i)
		dirs = append(dirs, d)
	}
	fmt.Fprintf(&setup, "postconf -e 'multi_instance_directories = %s'\n", strings.Join(dirs, " "))
	c.Bash(setup.String())
	c.DaemonReload()

	// Both see the same instances.
	var doc statusJSON
	res, _ := c.Exec(statusBinary, "status", "--json")
	if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil || len(doc.Instances) != benchInstances {
		b.Fatalf("status --json: %v, %d instances, want %d", err, len(doc.Instances), benchInstances)
	}
	if n := strings.Count(c.Bash(shellStatus), "ActiveState="); n != benchInstances {
		b.Fatalf("the shell pipeline saw %d units, want %d", n, benchInstances)
	}

	// mean runs the script reps times inside and returns ms per run.
	mean := func(reps int, script string) float64 {
		out := c.Bash(`t0=$(date +%s%N)
for _ in $(seq ` + strconv.Itoa(reps) + `); do
	{ ` + script + `
	} >/dev/null || true
done
t1=$(date +%s%N)
echo $(( (t1 - t0) / ` + strconv.Itoa(reps) + ` ))`)
		ns, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			b.Fatalf("timing: %q: %v", out, err)
		}
		return ns / 1e6
	}
	// The machine is shared: alternate the three, a few rounds, and keep
	// each one's median, so that a burst of load elsewhere skews neither.
	b.ResetTimer()
	var ours, list, shell float64
	for range b.N {
		var o, l, sh []float64
		for range 5 {
			o = append(o, mean(10, statusBinary+" status"))
			l = append(l, mean(10, statusBinary+" list"))
			sh = append(sh, mean(1, shellStatus))
		}
		ours, list, shell = median(o), median(l), median(sh)
	}
	b.ReportMetric(ours, "ms/status")
	b.ReportMetric(list, "ms/list")
	b.ReportMetric(shell, "ms/shell")
	b.ReportMetric(shell/ours, "x")
	b.Logf("N=%d: postfix-instances status %.1f ms (list, no systemd: %.1f ms), shell pipeline %.1f ms, ratio %.1fx (medians of 5 rounds)",
		benchInstances, ours, list, shell, shell/ours)
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}
