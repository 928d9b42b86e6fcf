//go:build linux

package ebpf

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// seedListeners tells the kernel who owns the TCP listeners on watched ports
// that existed before the capture, so that their accepts, which complete in
// softirq, are credited to them too. Listeners seen by the tracepoint are
// not overwritten. It is best effort: an accept on a listener it misses is
// reported with an unknown pid.
func (c *Capture) seedListeners(ctx context.Context) {
	c.mu.Lock()
	ports := c.ports
	c.mu.Unlock()
	socks, _ := c.source.Sockets(ctx, sockets.FilterFunc(func(local, _ uint16, proto uint8) bool {
		return proto == 6 && ports.has(local, proto)
	}))
	inodes := map[uint64]struct{}{}
	for _, s := range socks {
		if s.State == "LISTEN" && s.Inode != 0 {
			inodes[s.Inode] = struct{}{}
		}
	}
	if len(inodes) == 0 {
		return
	}
	owners, _ := c.source.Owners(ctx, inodes, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for _, s := range socks {
		o := owners[s.Inode]
		if s.State != "LISTEN" || len(o) == 0 {
			continue
		}
		owner, ok := c.describeOwner(ctx, o[0].PID)
		if !ok {
			continue
		}
		key := captureListenerKey{Netns: uint32(s.NetNS), Port: s.Local.Port()}
		_ = c.objs.LpListeners.Update(key, owner, ebpf.UpdateNoExist) // exists: the kernel saw it first
	}
}

func (c *Capture) describeOwner(ctx context.Context, pid int32) (captureOwner, bool) {
	p, err := c.source.Process(ctx, pid)
	if err != nil {
		return captureOwner{}, false
	}
	o := captureOwner{Pid: uint32(pid), Uid: uint32(p.UID), Cgroup: c.cgroupOf(pid)}
	for i := 0; i < len(o.Comm)-1 && i < len(p.Name); i++ {
		o.Comm[i] = int8(p.Name[i])
	}
	return o, true
}

// cgroupOf returns the cgroup v2 id of a process: the inode of its
// directory, named by the "0::" line of /proc/PID/cgroup.
func (c *Capture) cgroupOf(pid int32) uint64 {
	f, err := os.Open("/proc/" + strconv.Itoa(int(pid)) + "/cgroup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rel, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			var st syscall.Stat_t
			if syscall.Stat(filepath.Join(c.cgroups.root, rel), &st) == nil {
				return st.Ino
			}
		}
	}
	return 0
}
