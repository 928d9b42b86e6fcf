package table

import (
	"context"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// snapshot keeps the host's sockets on registry ports, and their owners, for
// a short time. osquery calls generate once per outer row of a JOIN and once
// per value of a non-optimized IN list within a single query; they all share
// one enumeration instead of each paying for it.
type snapshot struct {
	src  sockets.Source
	ttl  time.Duration
	now  func() time.Time
	lock chan struct{} // a mutex that a cancelled caller can stop waiting for

	reg       *registry.Registry // the registry the sockets were filtered with
	taken     time.Time
	socks     []sockets.Socket
	listeners map[listenerKey]bool
	err       error

	owners      map[uint64][]sockets.Owner // from a walk of every process
	ownersTaken time.Time
}

// listenerKey identifies a TCP listener, to tell the server's side of a
// connection from the client's.
type listenerKey struct {
	netns uint64
	port  uint16
}

// view is one consistent enumeration; it must not be modified.
type view struct {
	socks     []sockets.Socket
	listeners map[listenerKey]bool
	err       error // what could not be read; the sockets are still valid
}

func newSnapshot(src sockets.Source, ttl time.Duration, now func() time.Time) *snapshot {
	return &snapshot{src: src, ttl: ttl, now: now, lock: make(chan struct{}, 1)}
}

func (s *snapshot) acquire(ctx context.Context) error {
	select {
	case s.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *snapshot) release() { <-s.lock }

func (s *snapshot) fresh(t time.Time) bool { return !t.IsZero() && s.now().Sub(t) < s.ttl }

// sockets returns the sockets whose local or remote port is in reg.
func (s *snapshot) sockets(ctx context.Context, reg *registry.Registry) (view, error) {
	if err := s.acquire(ctx); err != nil {
		return view{}, err
	}
	defer s.release()
	if s.reg != reg || !s.fresh(s.taken) {
		socks, err := s.src.Sockets(ctx, portFilter(reg))
		if ctx.Err() != nil {
			return view{}, ctx.Err()
		}
		s.reg, s.taken, s.socks, s.err = reg, s.now(), socks, err
		s.listeners = map[listenerKey]bool{}
		for i := range socks {
			if socks[i].Protocol == registry.TCP && socks[i].State == "LISTEN" {
				s.listeners[listenerKey{socks[i].NetNS, socks[i].Local.Port()}] = true
			}
		}
		s.owners, s.ownersTaken = nil, time.Time{}
	}
	return view{socks: s.socks, listeners: s.listeners, err: s.err}, nil
}

// ownersOf maps the inodes of the current snapshot to their owners. With
// pids, only those processes are examined and nothing is kept. Without, every
// process is walked once for every inode of the snapshot, since a walk costs
// the same whichever inodes it looks for, and the result serves the calls
// that follow.
func (s *snapshot) ownersOf(ctx context.Context, inodes map[uint64]struct{}, pids []int32) (map[uint64][]sockets.Owner, error) {
	if len(inodes) == 0 {
		return nil, nil
	}
	if pids != nil {
		return s.src.Owners(ctx, inodes, pids)
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	if s.owners != nil && s.fresh(s.ownersTaken) {
		return s.owners, nil
	}
	all := make(map[uint64]struct{}, len(s.socks))
	for i := range s.socks {
		if s.socks[i].Inode != 0 {
			all[s.socks[i].Inode] = struct{}{}
		}
	}
	// The caller's inodes may come from a snapshot that a concurrent call
	// has since replaced: look for them too.
	for ino := range inodes {
		all[ino] = struct{}{}
	}
	owners, err := s.src.Owners(ctx, all, nil)
	if err != nil {
		return nil, err
	}
	s.owners, s.ownersTaken = owners, s.now()
	return owners, nil
}
