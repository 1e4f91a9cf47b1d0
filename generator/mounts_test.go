package generator

import (
	"slices"
	"testing"
)

func TestLateMount(t *testing.T) {
	fstab := []byte(`# /etc/fstab: static file system information.
UUID=1234 /               ext4    errors=remount-ro 0       1
/dev/sda2 /usr ext4 defaults 0 2
/dev/sda3 /srv ext4 defaults 0 2
/dev/sda4 /srv/mail\040spool xfs defaults 0 2
tmpfs /srv/pf tmpfs defaults 0 0
/dev/sda5 none swap sw 0 0
`)
	if got, want := FstabMountPoints(fstab), []string{"/", "/usr", "/srv", "/srv/mail spool", "/srv/pf"}; !slices.Equal(got, want) {
		t.Errorf("FstabMountPoints: %q, want %q", got, want)
	}
	mounted := MountedPoints([]byte("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
		"30 22 8:3 / /srv rw,relatime shared:2 - ext4 /dev/sda3 rw\n" +
		"31 30 8:4 / /srv/mail\\040spool rw - xfs /dev/sda4 rw\n"))
	for _, tc := range []struct {
		dir     string
		mounted map[string]bool
		want    string
	}{
		{"/srv/pf/postfix-a", nil, "/srv/pf"},
		{"/srv/pf/postfix-a", mounted, "/srv/pf"},
		{"/srv/pf", nil, "/srv/pf"},
		{"/srv/pfx", nil, "/srv"},
		{"/srv/pfx", mounted, ""},
		{"/srv/mail spool/x", nil, "/srv/mail spool"},
		{"/srv/mail spool/x", mounted, ""},
		{"/etc/postfix-a", nil, ""},
		{"/usr/local/etc/postfix-a", nil, ""},
		{"/srv//pf/./a/", nil, "/srv/pf"},
	} {
		if got := LateMount(tc.dir, fstab, tc.mounted); got != tc.want {
			t.Errorf("LateMount(%q, mounted %v) = %q, want %q", tc.dir, tc.mounted != nil, got, tc.want)
		}
	}
}
