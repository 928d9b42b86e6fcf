package sockets

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Owners reads the descriptors of every process (or of pids) and returns,
// for each wanted inode, every (pid, fd) holding it, sorted. Each descriptor
// costs one readlinkat into a reused buffer, with its name straight from the
// getdents buffer: the walk allocates only for the owners it finds.
func (s *linuxSource) Owners(ctx context.Context, inodes map[uint64]struct{}, pids []int32) (map[uint64][]Owner, error) {
	found := make(map[uint64][]Owner)
	if len(inodes) == 0 {
		return found, nil
	}
	procfd, err := openDir(s.procRoot)
	if err != nil {
		return found, err
	}
	defer unix.Close(procfd)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	visit := func(pid int32, name []byte, _ uint64) bool {
		if ctx.Err() != nil {
			return false
		}
		sc.ownersOf(procfd, pid, name, inodes, found)
		return true
	}
	if len(pids) > 0 {
		pids = slices.Clone(pids)
		slices.Sort(pids)
		var name [12]byte
		for _, pid := range slices.Compact(pids) {
			if pid > 0 && !visit(pid, strconv.AppendInt(name[:0], int64(pid), 10), 0) {
				break
			}
		}
	} else {
		err = eachPid(procfd, sc.dents, visit)
	}
	for _, o := range found {
		slices.SortFunc(o, func(a, b Owner) int {
			return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(a.FD, b.FD))
		})
	}
	return found, errors.Join(err, ctx.Err())
}

// ownersOf adds the descriptors of one process that hold a wanted inode.
// A process that is gone or not ours to inspect has nothing to add.
func (sc *scratch) ownersOf(procfd int, pid int32, name []byte, inodes map[uint64]struct{}, found map[uint64][]Owner) {
	dir, err := openat(procfd, sc.cpath(name, "/fd"), unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return
	}
	defer unix.Close(dir)
	_ = dirents(dir, sc.fdDents, func(fdName []byte, _ uint64) bool {
		link, err := sc.readlink(dir, fdName)
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return false // the same check refuses every descriptor of the process
		}
		if err != nil {
			return true // closed since the directory was read
		}
		ino, ok := parseBracketed(link, "socket:[")
		if !ok {
			return true
		}
		if _, want := inodes[ino]; !want {
			return true
		}
		if fd, ok := parseUint(fdName[:len(fdName)-1], 10); ok {
			found[ino] = append(found[ino], Owner{PID: pid, FD: int64(fd)})
		}
		return true
	})
}
