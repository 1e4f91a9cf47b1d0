package maincf

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseExpand: parsing, expanding and editing any input neither
// panics nor hangs, Bytes round-trips, and errors are the typed ones.
// The seed corpus is testdata/fuzz/FuzzParseExpand (the oracle corpus and
// the random generator's shapes); run longer with "make fuzz".
func FuzzParseExpand(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("/fuzz/main.cf", data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("Parse error %#v is not a *SyntaxError with a line", err)
			}
			return
		}
		if !bytes.Equal(file.Bytes(), data) {
			t.Fatal("Bytes() differs from the input")
		}
		c := NewConfig("/fuzz", file, nil)
		_ = c.Warnings()
		names := append(file.Names(), "myhostname", "mydomain", "mynetworks", "syslog_name", "queue_directory")
		for _, name := range names {
			c.Raw(name)
			if _, err := c.Expand(name); err != nil {
				var ee *ExpandError
				if !errors.As(err, &ee) && !errors.Is(err, ErrUnknownParameter) {
					t.Fatalf("Expand(%q): untyped error %v", name, err)
				}
			}
		}
		clean := !bytes.Contains(data, []byte("zzfuzz")) && bytes.IndexByte(data, 0) < 0 // postconf -e drops what follows a NUL on a line, newline included
		if err := file.Set("zzfuzz", " v "); err != nil {
			t.Fatal(err)
		}
		if v, ok := file.Lookup("zzfuzz"); clean && (len(data) == 0 || data[len(data)-1] == '\n') && (!ok || v != "v") {
			t.Fatalf("after Set, Lookup = %q, %v", v, ok)
		}
		if len(names) > 0 {
			file.CommentOut(names[0])
			file.Remove(names[len(names)/2])
		}
		if _, err := Parse("/fuzz/main.cf", file.Bytes()); err != nil {
			t.Fatalf("edited file does not parse: %v", err)
		}
	})
}
