package sockets

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// scratch holds the buffers one Sockets or Owners call reuses for every
// syscall. It is pooled, so that repeated queries allocate nothing for
// processes, descriptors and sockets they do not keep.
type scratch struct {
	diag    []byte     // sock_diag datagrams
	req     []byte     // a sock_diag request, with its bytecode
	dents   []byte     // getdents64 of the proc root
	fdDents []byte     // getdents64 of one <pid>/fd
	link    [64]byte   // a link target: "socket:[N]", "net:[N]"; longer ones are neither
	path    [64]byte   // "<pid>/fd" and the like, NUL-terminated
	stat    [1024]byte // <pid>/net/sockstat
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		diag:    make([]byte, diagBufLen),
		dents:   make([]byte, 32<<10),
		fdDents: make([]byte, 32<<10),
	}
}}

// cpath builds the NUL-terminated path <name><suffix> in sc.path.
func (sc *scratch) cpath(name []byte, suffix string) []byte {
	p := append(sc.path[:0], name...)
	p = append(p, suffix...)
	return append(p, 0)
}

// readlink reads the link at the NUL-terminated path, relative to dirfd,
// into sc.link.
func (sc *scratch) readlink(dirfd int, path []byte) ([]byte, error) {
	n, err := readlinkat(dirfd, path, sc.link[:])
	if err != nil {
		return nil, err
	}
	return sc.link[:n], nil
}

var errNotCString = errors.New("path is not NUL-terminated")

// readlinkat and openat take paths that are already NUL-terminated, often
// names straight out of a getdents buffer, where the x/sys wrappers would
// allocate a C string for each of the thousands of descriptors of a walk.
func readlinkat(dirfd int, path, buf []byte) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 || len(buf) == 0 {
		return 0, errNotCString
	}
	n, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func openat(dirfd int, path []byte, flags int) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 {
		return -1, errNotCString
	}
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])),
			uintptr(flags|unix.O_CLOEXEC), 0, 0, 0)
		switch errno {
		case 0:
			return int(fd), nil
		case unix.EINTR:
			continue
		}
		return -1, errno
	}
}

// openDir opens a directory for getdents and the *at calls.
func openDir(path string) (int, error) {
	return unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// Offsets in struct linux_dirent64.
const (
	direntIno    = 0
	direntReclen = 16
	direntName   = 19
)

// dirents calls fn with the name and inode of each entry of the directory fd
// but "." and "..", until fn returns false. The name, NUL included, points
// into buf and is valid only during the call.
func dirents(fd int, buf []byte, fn func(name []byte, ino uint64) bool) error {
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return err
		}
		for b := buf[:n]; len(b) > direntName; {
			l := int(binary.NativeEndian.Uint16(b[direntReclen:]))
			if l <= direntName || l > len(b) {
				return errors.New("getdents64: malformed record")
			}
			ino := binary.NativeEndian.Uint64(b[direntIno:])
			name := b[direntName:l]
			b = b[l:]
			end := 0
			for end < len(name) && name[end] != 0 {
				end++
			}
			if end == len(name) {
				return errors.New("getdents64: name without NUL")
			}
			if name[0] == '.' && (end == 1 || end == 2 && name[1] == '.') {
				continue
			}
			if !fn(name[:end+1], ino) {
				return nil
			}
		}
	}
}

// eachPid calls fn for every process directory of the proc root procfd,
// with the pid, its name (no NUL) and the directory's inode, until fn
// returns false. A pid used again by a new process comes with a new inode:
// procfs makes one for each process it shows.
func eachPid(procfd int, buf []byte, fn func(pid int32, name []byte, ino uint64) bool) error {
	return dirents(procfd, buf, func(name []byte, ino uint64) bool {
		name = name[:len(name)-1]
		pid, ok := parseUint(name, 10)
		if !ok || pid == 0 || pid > math.MaxInt32 {
			return true
		}
		return fn(int32(pid), name, ino)
	})
}
