// Command bench-run times a command for scripts/bench-generator.sh: one
// untimed warm-up run, then RUNS timed runs, each into a freshly emptied
// output directory. It prints the median wall time and the median CPU
// time (user + system, from wait4's rusage, which includes the children
// the command waited for) in seconds, and the peak RSS in KiB.
//
// Usage: bench-run RUNS OUT CMD [ARG...]
package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: bench-run RUNS OUT CMD [ARG...]")
		os.Exit(2)
	}
	runs, err := strconv.Atoi(os.Args[1])
	if err != nil || runs < 1 {
		fmt.Fprintln(os.Stderr, "bench-run: bad RUNS")
		os.Exit(2)
	}
	out, argv := os.Args[2], os.Args[3:]
	var walls, cpus []float64
	var rss int64
	for i := 0; i <= runs; i++ {
		if err := os.RemoveAll(out); err != nil {
			fail(err)
		}
		if err := os.Mkdir(out, 0o755); err != nil {
			fail(err)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stderr = os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("%v: %w", argv, err))
		}
		wall := time.Since(start).Seconds()
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		if i == 0 {
			continue // warm-up
		}
		walls, cpus = append(walls, wall), append(cpus, cpu)
		rss = max(rss, ru.Maxrss)
	}
	fmt.Printf("%.6f %.6f %d\n", median(walls), median(cpus), rss)
}

func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-run:", err)
	os.Exit(1)
}
