package unit

import (
	"io/fs"
	"maps"
	"testing"
	"testing/fstest"
)

func TestWants(t *testing.T) {
	link := &fstest.MapFile{Data: []byte("/usr/lib/systemd/system/postfix@.service"), Mode: fs.ModeSymlink}
	fsys := fstest.MapFS{
		"etc/systemd/system/multi-user.target.wants/postfix@out.service": link,
		"etc/systemd/system/multi-user.target.wants/postfix.service":     link,
		"etc/systemd/system/a.target.requires/postfix@in.service":        link,
		"etc/systemd/system/b.target.wants/postfix@in.service":           link, // a.target's comes first
		"etc/systemd/system/postfix@x.service.d/override.conf":           {Data: []byte("[Unit]\n")},
		"etc/systemd/system/postfix@y.service":                           link, // a unit file, not a want
	}
	got := Wants(fsys, AdminDir)
	want := map[string]string{
		"postfix@out.service": "/etc/systemd/system/multi-user.target.wants/postfix@out.service",
		"postfix.service":     "/etc/systemd/system/multi-user.target.wants/postfix.service",
		"postfix@in.service":  "/etc/systemd/system/a.target.requires/postfix@in.service",
	}
	if !maps.Equal(got, want) {
		t.Errorf("Wants(%s) = %v, want %v", AdminDir, got, want)
	}
	if got := Wants(fsys, "/run/systemd/generator"); len(got) != 0 {
		t.Errorf("Wants of a missing directory = %v, want none", got)
	}
}
