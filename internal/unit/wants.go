package unit

import (
	"io/fs"
	"path"
	"strings"
)

// AdminDir is the administrator's unit directory, where "systemctl
// enable" makes its links (multi-user.target.wants/UNIT for Debian 13's
// WantedBy=multi-user.target).
const AdminDir = "/etc/systemd/system"

// Wants maps each unit that a link in dir/*.wants/ or dir/*.requires/
// pulls in to the first such link (an absolute path), the directories
// and their links in lexical order. dir is absolute, fsys rooted at "/".
// It reads the links systemd reads at a daemon-reload: those "systemctl
// enable" makes in AdminDir, those a generator makes in its output
// directory. A dir that cannot be read has none.
func Wants(fsys fs.FS, dir string) map[string]string {
	out := map[string]string{}
	ents, err := fs.ReadDir(fsys, fsName(dir))
	if err != nil {
		return out
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".wants") && !strings.HasSuffix(e.Name(), ".requires") {
			continue
		}
		sub := path.Join(dir, e.Name())
		links, err := fs.ReadDir(fsys, fsName(sub))
		if err != nil {
			continue
		}
		for _, l := range links {
			if _, ok := out[l.Name()]; !ok {
				out[l.Name()] = path.Join(sub, l.Name())
			}
		}
	}
	return out
}

// fsName turns an absolute path into an fs.FS name.
func fsName(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}
