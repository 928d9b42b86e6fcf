// Package sockets enumerates the host's live TCP and UDP sockets and the
// processes that hold them. The table package sees it only through Source, so
// the tables are tested with fakes and each platform brings its own source.
package sockets

import (
	"context"
	"net/netip"
)

// Address families, as osquery reports them on every platform.
const (
	AFInet  uint8 = 2
	AFInet6 uint8 = 10
)

// Socket is one TCP or UDP socket.
type Socket struct {
	Family   uint8 // AFInet or AFInet6
	Protocol uint8 // 6 tcp, 17 udp
	Local    netip.AddrPort
	Remote   netip.AddrPort
	// State is the TCP state in osquery's spelling (LISTEN, ESTABLISHED, ...);
	// always "" for UDP, as in osquery's process_open_sockets.
	State string
	Inode uint64 // socket inode on Linux; 0 where the platform has none
	UID   int64  // uid that owns the socket (Linux); -1 when unknown
	NetNS uint64 // inode of the Linux network namespace; 0 elsewhere
	// Owners is set by sources that learn the owners together with the
	// socket (Windows, macOS). Linux leaves it nil; Source.Owners fills it.
	Owners []Owner
}

// Owner is a process holding a socket.
type Owner struct {
	PID int32
	FD  int64 // -1 when the platform does not say
}

// NeedsOwners reports whether s's owners must be looked up with
// Source.Owners: the source did not give them, and the socket has an inode
// to look for.
func (s *Socket) NeedsOwners() bool { return s.Owners == nil && s.Inode != 0 }

// Holders returns the processes holding s: those its source gave, else
// those found by Source.Owners, else one unknown owner (pid -1, fd -1), as
// osquery reports a socket no process can be named for.
func (s *Socket) Holders(found map[uint64][]Owner) []Owner {
	held := s.Owners
	if held == nil {
		held = found[s.Inode]
	}
	if len(held) == 0 {
		held = []Owner{{PID: -1, FD: -1}}
	}
	return held
}

// Process describes a process that holds a socket.
type Process struct {
	Name     string
	Path     string
	Cmdline  string
	UID      int64 // real uid; -1 when unknown
	Username string
}

// Attribution says how completely a source can name a socket's owners.
type Attribution string

// Attribution levels, as legacy_ports_info reports them.
const (
	Full    Attribution = "full"    // every socket's owners can be found
	Partial Attribution = "partial" // only sockets of processes we may inspect
	None    Attribution = "none"    // owners are never known
)

// Capabilities describes what a source can see on this host.
type Capabilities struct {
	Namespaces  bool // sockets in every network namespace are listed
	Attribution Attribution
}

// Source is a platform's view of its sockets.
type Source interface {
	// Sockets lists the TCP and UDP sockets, IPv4 and IPv6, of every network
	// namespace the source can read, keeping those for which keep is true.
	// The sockets returned are valid even when err is not nil: err then says
	// what could not be read (a namespace, a protocol).
	Sockets(ctx context.Context, keep Filter) ([]Socket, error)
	// Owners maps socket inodes to every process holding them. When pids is
	// not empty only those processes are examined. Processes that vanish or
	// cannot be inspected are skipped without error.
	Owners(ctx context.Context, inodes map[uint64]struct{}, pids []int32) (map[uint64][]Owner, error)
	// Process describes one process.
	Process(ctx context.Context, pid int32) (Process, error)
	// Capabilities tells what this source can see with the current privileges.
	Capabilities() Capabilities
}
