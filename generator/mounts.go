package generator

import (
	"path"
	"strconv"
	"strings"
)

// LateMount returns the mount point below which dir lies that fstab
// declares but that is not mounted (mounted holds the mount points of
// /proc/self/mountinfo), the longest if several; "" if there is none.
// "/" and "/usr" never count: they are mounted before generators run.
// That is how the generator tells a config directory whose file system is
// mounted later at boot from one that is simply missing.
func LateMount(dir string, fstab []byte, mounted map[string]bool) string {
	dir = path.Clean(dir)
	late := ""
	for _, mp := range FstabMountPoints(fstab) {
		if mp == "/" || mp == "/usr" || mounted[mp] {
			continue
		}
		if (dir == mp || strings.HasPrefix(dir, mp+"/")) && len(mp) > len(late) {
			late = mp
		}
	}
	return late
}

// FstabMountPoints returns the mount points of fstab(5) entries, cleaned,
// in file order; swap and other entries without an absolute mount point
// are left out.
func FstabMountPoints(fstab []byte) []string {
	var mps []string
	for _, line := range strings.Split(string(fstab), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if mp := unescapeOctal(f[1]); path.IsAbs(mp) {
			mps = append(mps, path.Clean(mp))
		}
	}
	return mps
}

// MountedPoints returns the mount points of a /proc/self/mountinfo
// (proc(5): the fifth field).
func MountedPoints(mountinfo []byte) map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if f := strings.Fields(line); len(f) >= 5 {
			m[path.Clean(unescapeOctal(f[4]))] = true
		}
	}
	return m
}

// unescapeOctal undoes the \ooo escapes of fstab and mountinfo ("\040"
// for a space).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
