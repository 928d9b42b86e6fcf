package registry

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxAdminFile bounds what is read: the file is small, and the extension
// runs as root.
const maxAdminFile = 4 << 20

// ReadAdminFile reads and parses the admin's file, after checking that only
// root (or the user running legacy-ports) can change it: otherwise anyone
// who can write it could allow their own process and hide a ghost.
func ReadAdminFile(path string) (*Admin, error) {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	f, err := os.Open(target)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	defer f.Close()
	// Check the file that was opened, not the path, so that it cannot be
	// swapped between the check and the read.
	for _, check := range []func() error{
		func() error { return checkFile(f) },
		func() error { return checkDir(filepath.Dir(target)) },
		func() error { return checkDir(filepath.Dir(path)) },
	} {
		if err := check(); err != nil {
			return nil, &Error{File: path, Msg: "not trusted: " + err.Error()}
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxAdminFile+1))
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	if len(data) > maxAdminFile {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", maxAdminFile)}
	}
	return ParseAdmin(path, data)
}
