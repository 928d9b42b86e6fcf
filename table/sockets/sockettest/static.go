// Package sockettest provides a fake socket source that records how it was
// asked, so table tests can check what the constraints narrowed.
package sockettest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Static serves fixed sockets, owners and processes.
type Static struct {
	Socks  []sockets.Socket
	Owned  map[uint64][]sockets.Owner
	Procs  map[int32]sockets.Process
	Caps   sockets.Capabilities
	Err    error // returned by Sockets, with the sockets
	Panics bool  // Sockets panics, to test the guard

	mu           sync.Mutex
	socketCalls  int
	ownerCalls   []OwnersCall
	processCalls int
}

// OwnersCall records one call of Owners.
type OwnersCall struct {
	Inodes []uint64
	PIDs   []int32
}

// Sockets returns the sockets that keep accepts.
func (s *Static) Sockets(_ context.Context, keep sockets.Filter) ([]sockets.Socket, error) {
	if s.Panics {
		panic("sockettest: asked to panic")
	}
	s.mu.Lock()
	s.socketCalls++
	s.mu.Unlock()
	var out []sockets.Socket
	for _, sk := range s.Socks {
		if keep.Keep(sk.Local.Port(), sk.Remote.Port(), sk.Protocol) {
			out = append(out, sk)
		}
	}
	return out, s.Err
}

// Owners returns the owners of inodes, limited to pids when given.
func (s *Static) Owners(_ context.Context, inodes map[uint64]struct{}, pids []int32) (map[uint64][]sockets.Owner, error) {
	call := OwnersCall{PIDs: slices.Clone(pids)}
	out := map[uint64][]sockets.Owner{}
	for ino := range inodes {
		call.Inodes = append(call.Inodes, ino)
		for _, o := range s.Owned[ino] {
			if len(pids) == 0 || slices.Contains(pids, o.PID) {
				out[ino] = append(out[ino], o)
			}
		}
	}
	slices.Sort(call.Inodes)
	slices.Sort(call.PIDs)
	s.mu.Lock()
	s.ownerCalls = append(s.ownerCalls, call)
	s.mu.Unlock()
	return out, nil
}

// Process describes a known pid.
func (s *Static) Process(_ context.Context, pid int32) (sockets.Process, error) {
	s.mu.Lock()
	s.processCalls++
	s.mu.Unlock()
	p, ok := s.Procs[pid]
	if !ok {
		return sockets.Process{UID: -1}, fmt.Errorf("no process %d", pid)
	}
	return p, nil
}

// Capabilities returns Caps.
func (s *Static) Capabilities() sockets.Capabilities { return s.Caps }

// SocketCalls is how many times Sockets ran.
func (s *Static) SocketCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socketCalls
}

// OwnerCalls lists the calls of Owners.
func (s *Static) OwnerCalls() []OwnersCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ownerCalls)
}

// ProcessCalls is how many times Process ran.
func (s *Static) ProcessCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.processCalls
}
