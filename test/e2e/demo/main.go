// Command demo runs the MULTI_INSTANCE_README border-MTA walk-through under
// real systemd in a throw-away systemd-nspawn container and shows what
// happened: the units systemd made of the instances and the order it
// started them in, then the Received: chain of a message sent through
// postfix-in, the content filter and postfix-out. The container is always
// torn down. It needs root; scripts/demo.sh runs it (or, without root or
// systemd-nspawn, falls back to the generator's --dry-run).
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-systemd/postfix-instances/internal/harness"
	"github.com/postfix-systemd/postfix-instances/test/e2e"
)

// demoT gives the harness what it needs from a testing.T.
type demoT struct {
	mu       sync.Mutex
	cleanups []func()
	failed   bool
	once     sync.Once
}

type fatal struct{}

func (d *demoT) Helper() {}
func (d *demoT) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "    "+format+"\n", args...)
}
func (d *demoT) Fatalf(format string, args ...any) {
	d.mu.Lock()
	d.failed = true
	d.mu.Unlock()
	fmt.Fprintf(os.Stderr, "demo: "+format+"\n", args...)
	panic(fatal{})
}
func (d *demoT) Cleanup(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cleanups = append(d.cleanups, f)
}
func (d *demoT) Failed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failed
}

// cleanup runs the cleanups once, last registered first.
func (d *demoT) cleanup() {
	d.once.Do(func() {
		d.mu.Lock()
		fs := d.cleanups
		d.mu.Unlock()
		for i := len(fs) - 1; i >= 0; i-- {
			fs[i]()
		}
	})
}

func main() {
	t := &demoT{}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "demo: interrupted, tearing down")
		t.mu.Lock()
		t.failed = true
		t.mu.Unlock()
		t.cleanup()
		os.Exit(130)
	}()
	code := 0
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatal); !ok {
					t.failed = true
					fmt.Fprintf(os.Stderr, "demo: panic: %v\n", r)
				}
				code = 1
			}
			t.cleanup()
		}()
		run(t)
	}()
	if t.Failed() {
		code = 1
	}
	harness.CleanupBuilds()
	os.Exit(code)
}

func section(title string) { fmt.Printf("\n== %s\n", title) }

func run(t *demoT) {
	if err := harness.Prerequisites(); err != nil {
		t.Fatalf("%v", err)
	}
	section("Building the generator and the test SMTP sink/filter; booting Debian 12 under systemd-nspawn")
	start := time.Now()
	p := e2e.BuildProduct(t)
	c := harness.Boot(t, harness.Options{Files: p.Files(), Kmsg: true})
	fmt.Printf("container %s is up (systemd PID %d on this host) after %s\n", c.Machine, c.PID1(), time.Since(start).Round(100*time.Millisecond))

	section("Laying out the walk-through with postmulti (-e init, -I postfix-out -G mta -e create, ...)")
	e2e.SetUp(t, c, e2e.Walkthrough)
	fmt.Print(c.Run("postmulti", "-l", "-a"))

	section("What the generator made of it (systemctl daemon-reload ran it)")
	fmt.Print(c.Run("systemctl", "list-dependencies", "--plain", "--no-pager", "postfix-mta.target"))
	for _, name := range []string{"postfix-out", "postfix-in"} {
		dropIn := "/run/systemd/generator/" + e2e.Unit(name) + ".d/50-instance.conf"
		fmt.Printf("--- %s\n%s", dropIn, c.Run("cat", dropIn))
	}

	section("systemctl start postfix-mta.target")
	c.Run("systemctl", "start", "postfix-mta.target")
	type started struct {
		unit string
		at   int64
	}
	var order []started
	for _, u := range []string{e2e.Unit("-"), e2e.Unit("postfix-out"), e2e.Unit("postfix-in")} {
		pr := e2e.UnitProps(c, u)
		order = append(order, started{u, pr.Mono("ActiveEnterTimestampMonotonic")})
		fmt.Printf("%-30s %s/%s  main PID %s\n", u, pr["ActiveState"], pr["SubState"], pr["MainPID"])
	}
	sort.Slice(order, func(i, j int) bool { return order[i].at < order[j].at })
	fmt.Println("order in which systemd saw them become active (ActiveEnterTimestampMonotonic):")
	for i, o := range order {
		fmt.Printf("  %d. %-30s at %.3f s\n", i+1, o.unit, float64(o.at)/1e6)
	}

	section("Sending a message to postfix-in (127.0.0.1:" + e2e.InPort + ") with swaks")
	tag := e2e.Send(t, c, "alice@example.com", "bob@example.com")
	msgs := e2e.WaitDelivered(t, c, tag, time.Minute)
	msg := msgs[0]
	fmt.Printf("delivered to the sink (%s) as one message for %d recipients\n", e2e.SinkDir, len(e2e.Headers(msg, "X-Sink-Envelope-To")))
	fmt.Println("its Received: chain, newest first, and the filter's header:")
	head, _, _ := strings.Cut(msg, "\n\n")
	for _, line := range strings.Split(head, "\n") {
		if strings.HasPrefix(line, "Received:") || strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") ||
			strings.HasPrefix(line, "X-PFI-Filter:") {
			fmt.Println("  " + line)
		}
	}

	fmt.Println("the smtpd log lines (postfix-out's shows the original client and queue id, passed on by XFORWARD):")
	if res, err := c.Exec("journalctl", "-b", "--no-pager", "-o", "cat", "-t", "postfix-in/smtpd", "-t", "postfix-out/smtpd", "--grep", "client="); err == nil {
		fmt.Print(res.Stdout)
	}

	section("systemctl stop postfix-mta.target (postfix-in stops first)")
	c.Run("systemctl", "stop", "postfix-mta.target")
	deadline := time.Now().Add(time.Minute)
	for {
		a := e2e.UnitProps(c, e2e.Unit("postfix-in"))["ActiveState"]
		b := e2e.UnitProps(c, e2e.Unit("postfix-out"))["ActiveState"]
		if a == "inactive" && b == "inactive" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s", errors.New("the mta group did not stop within a minute"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, u := range []string{e2e.Unit("postfix-in"), e2e.Unit("postfix-out")} {
		pr := e2e.UnitProps(c, u)
		fmt.Printf("%-30s inactive at %.3f s\n", u, float64(pr.Mono("InactiveEnterTimestampMonotonic"))/1e6)
	}

	section("Tearing down")
}
