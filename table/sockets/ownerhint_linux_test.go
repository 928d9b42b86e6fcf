package sockets

import (
	"context"
	"net"
	"os"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

func inodeSet(inos ...uint64) map[uint64]struct{} {
	m := map[uint64]struct{}{}
	for _, i := range inos {
		m[i] = struct{}{}
	}
	return m
}

func TestOwnerHint(t *testing.T) {
	var walks atomic.Int32
	walk := walkFunc(func(_ context.Context, inodes map[uint64]struct{}) (map[uint64][]Owner, error) {
		walks.Add(1)
		found := map[uint64][]Owner{}
		for ino := range inodes {
			found[ino] = []Owner{{PID: int32(ino), FD: 3}}
		}
		return found, nil
	})
	ctx := t.Context()
	tests := []struct {
		name      string
		last      map[uint64]struct{} // the last walk's inodes; nil: none
		unclaimed bool                // a guess is pending that no Owners took
		want      map[uint64]struct{} // what Owners then asks for
		claimed   bool
		walks     int32 // walks the guess made; -1: it may have been cancelled before it began
	}{
		{"no last walk: nothing guessed", nil, false, inodeSet(1), false, 0},
		{"the same sockets", inodeSet(1, 2), false, inodeSet(1, 2), true, 1},
		{"fewer sockets", inodeSet(1, 2), false, inodeSet(2), true, 1},
		{"a new socket: walked again", inodeSet(1, 2), false, inodeSet(2, 3), false, -1},
		{"the last dump wanted no owners: guessing stops", inodeSet(1), true, inodeSet(1), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			walks.Store(0)
			h := &ownerHint{}
			if tt.last != nil {
				h.remember(tt.last)
			}
			if tt.unclaimed {
				h.pending = &guess{cancel: func() {}, done: make(chan struct{})}
			}
			h.speculate(ctx, walk)
			found, ok := h.claim(ctx, tt.want)
			if ok != tt.claimed {
				t.Fatalf("claimed %v, want %v", ok, tt.claimed)
			}
			if ok {
				want, _ := walk(ctx, tt.want)
				walks.Add(-1)
				if !reflect.DeepEqual(found, want) {
					t.Errorf("found %v, want %v", found, want)
				}
			}
			if n := walks.Load(); tt.walks >= 0 && n != tt.walks {
				t.Errorf("%d walks ahead, want %d", n, tt.walks)
			}
		})
	}

	t.Run("too old", func(t *testing.T) {
		h := &ownerHint{}
		h.remember(inodeSet(1))
		h.speculate(ctx, walk)
		h.pending.started = time.Now().Add(-2 * guessMaxAge)
		if _, ok := h.claim(ctx, inodeSet(1)); ok {
			t.Error("a guess older than guessMaxAge answered")
		}
	})
}

// TestOwnersGuessedLive: after a walk for this process's listener, the next
// Sockets starts a walk for it, and Owners answers from that walk what a
// plain walk finds.
func TestOwnersGuessedLive(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	src := NewLinux("").(*linuxSource)
	keep := FilterFunc(func(local, _ uint16, proto uint8) bool { return local == port && proto == protoTCP })
	socks, err := src.Sockets(t.Context(), keep)
	if err != nil || len(socks) != 1 {
		t.Fatalf("finding the listener: %v, %v", socks, err)
	}
	inodes := inodeSet(socks[0].Inode)
	plain, err := src.walk(t.Context(), inodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain[socks[0].Inode]) == 0 || plain[socks[0].Inode][0].PID != int32(os.Getpid()) {
		t.Fatalf("plain walk: %v, want this process", plain)
	}
	if _, err := src.Owners(t.Context(), inodes, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Sockets(t.Context(), keep); err != nil {
		t.Fatal(err)
	}
	h := ownerHintFor(src.procRoot)
	h.mu.Lock()
	pending := h.pending != nil
	h.mu.Unlock()
	if !pending {
		t.Fatal("Sockets started no walk after a walk for its socket")
	}
	got, err := src.Owners(t.Context(), inodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, plain) {
		t.Errorf("guessed: %v, want %v", got, plain)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending != nil {
		t.Error("the guess was not taken")
	}
}
