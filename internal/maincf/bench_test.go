package maincf

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// benchParams are what postmulti asks postconf for, per instance.
var benchParams = []string{"queue_directory", "data_directory", "multi_instance_name", "multi_instance_group", "multi_instance_enable"}

// BenchmarkParseExpand parses a typical main.cf and expands the parameters
// postmulti needs per instance, in process.
func BenchmarkParseExpand(b *testing.B) {
	data, err := os.ReadFile("testdata/typical_main.cf")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse("/etc/postfix/main.cf", data)
		if err != nil {
			b.Fatal(err)
		}
		c := NewConfig("/etc/postfix", f, nil)
		for _, p := range benchParams {
			if _, err := c.Expand(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPostconfProcess is the same work done the way postmulti and
// Debian's generator do it: one "postconf -xc DIR ..." per instance.
// Compare its ns/op with BenchmarkParseExpand's.
func BenchmarkPostconfProcess(b *testing.B) {
	requirePostconf(b)
	data, err := os.ReadFile("testdata/typical_main.cf")
	if err != nil {
		b.Fatal(err)
	}
	dir := writeMainCf(b, data)
	if dir == "" {
		b.FailNow()
	}
	for b.Loop() {
		if err := exec.Command(postconfPath, append([]string{"-xc", dir}, benchParams...)...).Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpeedup measures both ways in one run and reports how many
// times faster reading in process is than one postconf process per
// instance ("x-faster"), with postconf's time per instance ("postconf-ns").
func BenchmarkSpeedup(b *testing.B) {
	requirePostconf(b)
	data, err := os.ReadFile("testdata/typical_main.cf")
	if err != nil {
		b.Fatal(err)
	}
	dir := writeMainCf(b, data)
	if dir == "" {
		b.FailNow()
	}
	const runs = 20
	start := time.Now()
	for range runs {
		if err := exec.Command(postconfPath, append([]string{"-xc", dir}, benchParams...)...).Run(); err != nil {
			b.Fatal(err)
		}
	}
	perPostconf := time.Since(start) / runs
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n++
		f, err := Parse(dir+"/main.cf", data)
		if err != nil {
			b.Fatal(err)
		}
		c := NewConfig(dir, f, nil)
		for _, p := range benchParams {
			if _, err := c.Expand(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	ours := b.Elapsed() / time.Duration(n)
	b.ReportMetric(float64(perPostconf), "postconf-ns")
	b.ReportMetric(float64(perPostconf)/float64(ours), "x-faster")
}

// generatorParams are what the generator (internal/instance) asks for, per
// instance.
var generatorParams = []string{"queue_directory", "data_directory", "multi_instance_name", "multi_instance_group", "command_directory", "daemon_directory"}

// BenchmarkInstanceLoad is the generator's per-instance work in this
// package: parse an instance's main.cf (Debian's stock one plus what
// postmulti -e create adds, as scripts/bench-generator.sh writes them) and
// expand what the generator needs.
func BenchmarkInstanceLoad(b *testing.B) {
	data, err := os.ReadFile("testdata/instance_main.cf")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse("/etc/postfix-i0001/main.cf", data)
		if err != nil {
			b.Fatal(err)
		}
		c := NewConfig("/etc/postfix-i0001", f, nil)
		for _, p := range generatorParams {
			if _, err := c.Expand(p); err != nil {
				b.Fatal(err)
			}
		}
	}
}
