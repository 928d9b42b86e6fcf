// Package rpcbind asks rpcbind (the portmapper) which Sun RPC programs hold
// which ports.
//
// RPC daemons take a random privileged port from bindresvport(), so a socket
// in 600-1023 can sit on a registered IANA port by coincidence. Kernel RPC
// services (lockd, nfsd) own their sockets with no process, so the owner's
// name cannot tell; rpcbind's map can.
package rpcbind

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// DefaultAddr is where rpcbind listens on a host that runs it.
const DefaultAddr = "127.0.0.1:111"

const (
	// defaultTimeout bounds Dump when ctx has no deadline: rpcbind on
	// loopback answers in milliseconds, and a hung one must not hang a query.
	defaultTimeout = 2 * time.Second
	// maxReply caps a reply: a full DUMP entry is 20 bytes, so this holds
	// about 52,000 mappings, far beyond any real host.
	maxReply = 1 << 20
)

// ErrNotListening reports that nothing accepted the connection. Callers take
// it as "this host runs no rpcbind", not as a failure.
var ErrNotListening = errors.New("nothing listens")

// Mapping is one entry of rpcbind's map (struct pmap, RFC 1833 §3.1).
type Mapping struct {
	Program  uint32
	Version  uint32
	Protocol uint8 // IPPROTO_TCP (6) or IPPROTO_UDP (17)
	Port     uint16
}

// Dump returns the mappings rpcbind at addr (host:port, usually
// DefaultAddr) holds, via PMAPPROC_DUMP version 2, which every portmapper
// and rpcbind answers. Version 2 lists only the "tcp" and "udp" (IPv4)
// registrations; a program registered on tcp6 or udp6 alone is missing.
//
// Dump gives up when ctx ends, or after a short default timeout when ctx
// has no deadline. The error wraps ErrNotListening when the connection is
// refused, and ctx.Err() when ctx had ended by the time the call failed.
func Dump(ctx context.Context, addr string) ([]Mapping, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	ms, err := dump(ctx, addr)
	if err != nil {
		// The I/O error ctx causes (a past deadline, a dial cut short)
		// does not say why; ctx.Err() does.
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, fmt.Errorf("rpcbind %s: %w", addr, err)
	}
	return ms, nil
}

func dump(ctx context.Context, addr string) ([]Mapping, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if refused(err) {
			return nil, fmt.Errorf("%w (%w)", ErrNotListening, err)
		}
		return nil, err
	}
	defer conn.Close()
	// A deadline in the past wakes a blocked Read or Write. Setting it only
	// once ctx is done, rather than copying ctx's deadline, guarantees that
	// ctx.Err() is set whenever the I/O fails for that reason.
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0)) // fails only on a closed conn
	})
	defer stop()

	xid := rand.Uint32()
	if _, err := conn.Write(appendCall(nil, xid)); err != nil {
		return nil, err
	}
	rec, err := readRecord(conn, maxReply)
	if err != nil {
		return nil, err
	}
	return parseReply(rec, xid)
}
