package sockets

import (
	"cmp"
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Owners reads the descriptors of every process (or of pids) and returns,
// for each wanted inode, every (pid, fd) holding it, sorted. Each descriptor
// costs one readlinkat into a reused buffer, with its name straight from the
// getdents buffer: the walk allocates only for the owners it finds.
//
// Any process may hold any socket (inherited across a privilege drop, passed
// over a unix socket, created before a setns), so no process can be skipped;
// a walk of many processes is shared out among the CPUs instead, and a walk
// of every process may have started with the dump before it (ownerHint).
func (s *linuxSource) Owners(ctx context.Context, inodes map[uint64]struct{}, pids []int32) (map[uint64][]Owner, error) {
	if len(inodes) == 0 {
		return map[uint64][]Owner{}, nil
	}
	if len(pids) > 0 {
		return s.walk(ctx, inodes, pids)
	}
	hint := ownerHintFor(s.procRoot)
	if found, ok := hint.claim(ctx, inodes); ok {
		hint.remember(inodes)
		return found, nil
	}
	found, err := s.walk(ctx, inodes, nil)
	if err == nil {
		hint.remember(inodes)
	}
	return found, err
}

// walkEvery is walk over every process, as ownerHint starts it.
func (s *linuxSource) walkEvery(ctx context.Context, inodes map[uint64]struct{}) (map[uint64][]Owner, error) {
	return s.walk(ctx, inodes, nil)
}

// walk reads the descriptors of pids, or of every process when there are
// none, for the owners of inodes.
func (s *linuxSource) walk(ctx context.Context, inodes map[uint64]struct{}, pids []int32) (map[uint64][]Owner, error) {
	found := make(map[uint64][]Owner)
	procfd, err := openDir(s.procRoot)
	if err != nil {
		return found, err
	}
	defer unix.Close(procfd)
	if len(pids) > 0 {
		pids = slices.Clone(pids)
		slices.Sort(pids)
		pids = slices.DeleteFunc(slices.Compact(pids), func(p int32) bool { return p <= 0 })
	} else {
		sc := scratchPool.Get().(*scratch)
		err = eachPid(procfd, sc.dents, func(pid int32, _ []byte, _ uint64) bool {
			pids = append(pids, pid)
			return true
		})
		scratchPool.Put(sc)
	}
	walkOwners(ctx, procfd, pids, inodes, found)
	for _, o := range found {
		slices.SortFunc(o, func(a, b Owner) int {
			return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(a.FD, b.FD))
		})
	}
	return found, errors.Join(err, ctx.Err())
}

// pidsPerWorker is the least share of processes worth a goroutine of its
// own: below it, starting one costs more than it saves.
const pidsPerWorker = 64

// walkOwners reads the descriptors of pids into found, on up to GOMAXPROCS
// goroutines, each with its own buffers and results, merged at the end.
func walkOwners(ctx context.Context, procfd int, pids []int32, inodes map[uint64]struct{}, found map[uint64][]Owner) {
	workers := min(runtime.GOMAXPROCS(0), max(len(pids)/pidsPerWorker, 1))
	parts := make([]map[uint64][]Owner, workers)
	var wg sync.WaitGroup
	for w := range workers {
		parts[w] = found
		if w > 0 {
			parts[w] = make(map[uint64][]Owner)
		}
		wg.Go(func() {
			sc := scratchPool.Get().(*scratch)
			defer scratchPool.Put(sc)
			var name [12]byte
			for i := w; i < len(pids) && ctx.Err() == nil; i += workers {
				sc.ownersOf(procfd, pids[i], strconv.AppendInt(name[:0], int64(pids[i]), 10), inodes, parts[w])
			}
		})
	}
	wg.Wait()
	for _, part := range parts[1:] {
		for ino, o := range part {
			found[ino] = append(found[ino], o...)
		}
	}
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
