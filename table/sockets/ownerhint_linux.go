package sockets

import (
	"context"
	"maps"
	"sync"
	"time"
)

// ownerHint lets the walk of every process's descriptors run beside the
// socket dump that comes before it, on another CPU. osquery asks
// legacy_ports again and again (a schedule, the outer rows of a JOIN), and
// ghosts are long-lived listeners, the same from one call to the next: so
// when the last walk looked for some sockets, Sockets starts, as it begins,
// a walk for those same sockets, and Owners takes its result when it wants
// no others. Otherwise the guess is dropped and the walk made as before; a
// dump that no walk follows ends the guessing until a walk starts it again.
// A first call (a scan) has nothing to guess from.
type ownerHint struct {
	mu      sync.Mutex
	inodes  map[uint64]struct{} // what the last walk of every process looked for
	pending *guess              // started by Sockets, not yet taken by Owners
}

// guess is a walk started ahead of the Owners call it is for.
type guess struct {
	inodes  map[uint64]struct{}
	started time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	found   map[uint64][]Owner
	err     error
}

// guessMaxAge bounds how long after it started a guess may answer: beyond
// it, the owners it found may have changed more than a walk made now would
// show.
const guessMaxAge = time.Second

var ownerHints perRoot[ownerHint]

func ownerHintFor(procRoot string) *ownerHint { return ownerHints.get(procRoot) }

type walkFunc func(ctx context.Context, inodes map[uint64]struct{}) (map[uint64][]Owner, error)

// speculate starts walk for the inodes of the last walk, unless the guess
// before has not been taken: then no owners were wanted, and guessing stops.
func (h *ownerHint) speculate(ctx context.Context, walk walkFunc) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending != nil {
		h.pending.cancel()
		h.pending, h.inodes = nil, nil
		return
	}
	if len(h.inodes) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	g := &guess{inodes: h.inodes, started: time.Now(), cancel: cancel, done: make(chan struct{})}
	h.pending = g
	go func() {
		defer close(g.done)
		g.found, g.err = walk(ctx, g.inodes)
	}()
}

// claim returns the owners of inodes from the pending guess when it looked
// for all of them, waiting for it to end.
func (h *ownerHint) claim(ctx context.Context, inodes map[uint64]struct{}) (map[uint64][]Owner, bool) {
	h.mu.Lock()
	g := h.pending
	h.pending = nil
	h.mu.Unlock()
	if g == nil {
		return nil, false
	}
	defer g.cancel()
	if time.Since(g.started) > guessMaxAge || !subset(inodes, g.inodes) {
		return nil, false
	}
	select {
	case <-g.done:
	case <-ctx.Done():
		return nil, false
	}
	if g.err != nil || time.Since(g.started) > guessMaxAge {
		return nil, false
	}
	found := make(map[uint64][]Owner, len(inodes))
	for ino := range inodes {
		if o, ok := g.found[ino]; ok {
			found[ino] = o
		}
	}
	return found, true
}

// remember makes inodes the next guess.
func (h *ownerHint) remember(inodes map[uint64]struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inodes = maps.Clone(inodes)
}

func subset(a, b map[uint64]struct{}) bool {
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}
