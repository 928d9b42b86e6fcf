package sockets

import (
	"cmp"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// namespace is a network namespace and a process in it, whose proc entries
// lead into it.
type namespace struct {
	inode uint64
	pid   int32 // 0 for our own namespace, reached through <procRoot>/self
}

// dir is the namespace's process directory under procRoot.
func (ns namespace) dir(procRoot string) string {
	if ns.pid == 0 {
		return filepath.Join(procRoot, "self")
	}
	return filepath.Join(procRoot, strconv.FormatInt(int64(ns.pid), 10))
}

// nsRecheck bounds how long a process's namespace is taken from the cache.
// A new process, or a new one under an old pid, is always read; only a
// process that enters a namespace after it was seen (setns, unshare) is
// found late, by the next full read.
const nsRecheck = 10 * time.Second

// nsCache remembers the network namespace of every process seen under a
// proc root, so that a snapshot reads the ns/net link of new processes only:
// reading it for each of a few hundred processes was about 30% of a call
// that finds nothing.
type nsCache struct {
	mu       sync.Mutex
	procs    map[int32]procNS
	gen      uint32    // the listing that last saw a process
	lastFull time.Time // when every link was last read
}

// procNS is a process's network namespace, and the inode of its proc
// directory when it was read.
type procNS struct {
	dirIno, netns uint64
	gen           uint32
}

// perRoot holds one T per proc root, shared by every source of that root,
// so that sources built afresh for each query (the command line's, the
// bench's) find it warm.
type perRoot[T any] struct {
	mu     sync.Mutex
	byRoot map[string]*T
}

func (p *perRoot[T]) get(procRoot string) *T {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byRoot == nil {
		p.byRoot = map[string]*T{}
	}
	v := p.byRoot[procRoot]
	if v == nil {
		v = new(T)
		p.byRoot[procRoot] = v
	}
	return v
}

var nsCaches perRoot[nsCache]

func nsCacheFor(procRoot string) *nsCache { return nsCaches.get(procRoot) }

// ownNamespace is our own network namespace.
func ownNamespace(procRoot string, sc *scratch) (namespace, error) {
	procfd, err := openDir(procRoot)
	if err != nil {
		return namespace{}, err
	}
	defer unix.Close(procfd)
	link, err := sc.readlink(procfd, sc.cpath([]byte("self"), "/ns/net"))
	if err != nil {
		return namespace{}, fmt.Errorf("our network namespace: %w", err)
	}
	ino, ok := parseBracketed(link, "net:[")
	if !ok {
		return namespace{}, fmt.Errorf("our network namespace: unexpected link %q", link)
	}
	return namespace{inode: ino}, nil
}

// otherNamespaces finds, from the ns/net link of every process under
// procRoot, the network namespaces other than own, in inode order, each
// with its lowest pid: a container's init, which outlives its other
// processes. Processes that vanish or hide their namespace (other users'
// processes, without root) are passed over. Links come from the cache when
// the process was seen before and the cache is younger than nsRecheck.
func otherNamespaces(procRoot string, sc *scratch, own uint64) (others []namespace, err error) {
	procfd, err := openDir(procRoot)
	if err != nil {
		return nil, err
	}
	defer unix.Close(procfd)
	c := nsCacheFor(procRoot)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.procs == nil {
		c.procs = map[int32]procNS{}
	}
	full := time.Since(c.lastFull) >= nsRecheck
	if full {
		c.lastFull = time.Now()
	}
	c.gen++
	at := map[uint64]int{own: -1} // index in others
	err = eachPid(procfd, sc.dents, func(pid int32, name []byte, dirIno uint64) bool {
		p, seen := c.procs[pid]
		if !seen || full || p.dirIno != dirIno {
			link, err := sc.readlink(procfd, sc.cpath(name, "/ns/net"))
			if err != nil {
				delete(c.procs, pid)
				return true
			}
			ino, ok := parseBracketed(link, "net:[")
			if !ok {
				delete(c.procs, pid)
				return true
			}
			p = procNS{dirIno: dirIno, netns: ino}
		}
		p.gen = c.gen
		c.procs[pid] = p
		switch i, seen := at[p.netns]; {
		case !seen:
			at[p.netns] = len(others)
			others = append(others, namespace{inode: p.netns, pid: pid})
		case i >= 0 && pid < others[i].pid:
			others[i].pid = pid
		}
		return true
	})
	for pid, p := range c.procs {
		if p.gen != c.gen {
			delete(c.procs, pid) // gone
		}
	}
	slices.SortFunc(others, func(a, b namespace) int { return cmp.Compare(a.inode, b.inode) })
	if err != nil {
		err = fmt.Errorf("listing %s: %w", procRoot, err)
	}
	return others, err
}

// openDiagIn opens a sock_diag socket inside the network namespace whose
// file is nsPath and whose inode is want. A socket stays in the namespace it
// was made in, so only its creation needs a thread that entered the
// namespace; that is done on a locked thread of a goroutine of its own.
func openDiagIn(nsPath string, want uint64) (int, error) {
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, restored, err := openDiagOnThreadIn(nsPath, want)
		if restored {
			runtime.UnlockOSThread()
		}
		// Otherwise the thread is still in the other namespace: it stays
		// locked, and the runtime ends it with this goroutine rather than let
		// other goroutines run there.
		done <- result{fd, err}
	}()
	r := <-done
	return r.fd, r.err
}

// openDiagOnThreadIn does openDiagIn's work on the current, locked thread and
// says whether the thread is back in its own namespace.
func openDiagOnThreadIn(nsPath string, want uint64) (fd int, restored bool, err error) {
	home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, true, fmt.Errorf("our network namespace: %w", err)
	}
	defer unix.Close(home)
	target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, true, err
	}
	defer unix.Close(target)
	// The pid may have been reused since the namespace was found.
	var st unix.Stat_t
	if err := unix.Fstat(target, &st); err != nil {
		return -1, true, err
	}
	if st.Ino != want {
		return -1, true, fmt.Errorf("%s: now namespace %d", nsPath, st.Ino)
	}
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return -1, true, fmt.Errorf("setns %s: %w", nsPath, err)
	}
	fd, err = openDiag()
	if serr := unix.Setns(home, unix.CLONE_NEWNET); serr != nil {
		if err == nil {
			unix.Close(fd)
		}
		return -1, false, fmt.Errorf("setns back to our namespace: %w", serr)
	}
	return fd, true, err
}
