//go:build linux

package ebpf

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted, read from
// a mountinfo file: /sys/fs/cgroup on a pure v2 host, often
// /sys/fs/cgroup/unified on a hybrid one.
func cgroup2Mount(mountinfo string) (string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return "", unavailable("cannot find the cgroup v2 hierarchy", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID parent major:minor root mountpoint options [optional...] - fstype source super
		fields := strings.Fields(sc.Text())
		for i, field := range fields {
			if field == "-" && i+1 < len(fields) && len(fields) > 4 {
				if fields[i+1] == "cgroup2" {
					return unescapeMount(fields[4]), nil
				}
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", unavailable("cannot find the cgroup v2 hierarchy in "+mountinfo, err)
	}
	return "", unavailable("no cgroup v2 hierarchy is mounted (no cgroup2 line in "+mountinfo+"); the bind, connect and sendmsg hooks need one", nil)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
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

// cgroupPaths resolves cgroup v2 ids to paths below the hierarchy's root. A
// cgroup's id is the inode number of its directory, so one walk of the mount
// maps them all; an unknown id (a cgroup created since) walks again, at most
// once a second.
type cgroupPaths struct {
	root string

	mu     sync.Mutex
	byID   map[uint64]string
	walked time.Time
}

const cgroupRewalk = time.Second

func newCgroupPaths(root string) *cgroupPaths {
	return &cgroupPaths{root: root}
}

func (c *cgroupPaths) path(id uint64) string {
	if id == 0 {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byID[id]; ok {
		return p
	}
	if time.Since(c.walked) < cgroupRewalk {
		return ""
	}
	c.walk()
	return c.byID[id]
}

func (c *cgroupPaths) walk() {
	c.walked = time.Now()
	byID := map[uint64]string{}
	_ = filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil //nolint:nilerr // a cgroup removed during the walk is skipped
		}
		info, err := d.Info()
		if err != nil {
			return nil //nolint:nilerr // as above
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			rel, _ := filepath.Rel(c.root, p)
			byID[st.Ino] = filepath.Clean("/" + rel)
		}
		return nil
	})
	c.byID = byID
}
