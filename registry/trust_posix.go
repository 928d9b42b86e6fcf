//go:build !windows

package registry

import (
	"fmt"
	"os"
	"syscall"
)

// DefaultAdminPath is where osquery keeps its configuration on this platform.
var DefaultAdminPath = defaultAdminPath

// checkFile: a regular file owned by root or by us, that neither group nor
// others may write.
func checkFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", f.Name())
	}
	return checkOwner(f.Name(), fi)
}

// checkDir: whoever may write the directory may replace the file.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	return checkOwner(dir, fi)
}

func checkOwner(name string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot read the owner of %s", name)
	}
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d; it must be owned by root (or uid %d, which runs legacy-ports)", name, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s has mode %04o, which lets group or others write it (chmod go-w %s)", name, perm, name)
	}
	return nil
}
