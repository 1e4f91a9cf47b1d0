package installtest

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"path"
)

// tarFiles lists the regular files and symlinks of a tar archive (a .deb's
// data), as absolute paths.
func tarFiles(data []byte) ([]string, error) {
	var names []string
	r := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink {
			names = append(names, path.Clean("/"+h.Name))
		}
	}
}
