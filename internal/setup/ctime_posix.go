//go:build !windows

package setup

import (
	"os"
	"syscall"
)

// changeTime is the inode's ctime: chmod and chown change it, mtime not.
func changeTime(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return ctimeNanos(st)
	}
	return 0
}
