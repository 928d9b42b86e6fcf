package sockets

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The inet_diag requests and answer (linux/inet_diag.h). x/sys/unix has
// some of the constants but none of the types, so messages are read and
// written by offset.
const (
	inetDiagReqV2Len = 56 // struct inet_diag_req_v2, for SOCK_DIAG_BY_FAMILY
	inetDiagReqLen   = 60 // struct inet_diag_req, for TCPDIAG_GETSOCK
	inetDiagMsgLen   = 72 // struct inet_diag_msg, the answer to both

	tcpDiagGetSock = 18 // TCPDIAG_GETSOCK

	// diagStates asks for every TCP state up to TCP_NEW_SYN_RECV (12). It
	// leaves out TCP_BOUND_INACTIVE (13, Linux 6.8): bound-only sockets,
	// which neither /proc/net/tcp nor osquery lists.
	diagStates = 1<<13 - 1

	// diagBufLen holds a whole dump datagram: the kernel fills at most 32 KiB
	// (SKB_WITH_OVERHEAD(32768)) per recv.
	diagBufLen = 64 << 10
)

var (
	errDiagTruncated = errors.New("sock_diag: datagram larger than the receive buffer")
	errDiagMalformed = errors.New("sock_diag: malformed message")
)

// openDiag opens a NETLINK_SOCK_DIAG socket in the calling thread's network
// namespace.
func openDiag() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("sock_diag socket: %w", err)
	}
	return fd, nil
}

// dumpTCP appends the TCP sockets of both families that keep accepts. It
// sends the older TCPDIAG_GETSOCK request, which the kernel still serves by
// dumping with AF_UNSPEC: one walk of the TCP hash tables instead of one per
// family. That walk costs about 1 ms on an idle host with a 256k-bucket
// established table, most of a whole Sockets call. bc, when not nil, is
// bytecode the kernel runs on each socket first.
func dumpTCP(ctx context.Context, fd int, sc *scratch, seq uint32, netns uint64, keep Filter, bc []byte, out []Socket) ([]Socket, error) {
	req := diagRequest(sc, tcpDiagGetSock, seq, inetDiagReqLen, bc)
	binary.NativeEndian.PutUint32(req[unix.SizeofNlMsghdr+52:], diagStates) // idiag_states
	return dump(ctx, fd, sc.diag, req, protoTCP, netns, keep, out)
}

// dumpInet appends the sockets of one family and protocol that keep accepts,
// with a SOCK_DIAG_BY_FAMILY dump, filtered first by the bytecode bc if any.
func dumpInet(ctx context.Context, fd int, sc *scratch, seq uint32, t inetTable, netns uint64, keep Filter, bc []byte, out []Socket) ([]Socket, error) {
	req := diagRequest(sc, unix.SOCK_DIAG_BY_FAMILY, seq, inetDiagReqV2Len, bc)
	r := req[unix.SizeofNlMsghdr:]
	r[0] = t.family
	r[1] = t.proto
	binary.NativeEndian.PutUint32(r[4:], diagStates)
	return dump(ctx, fd, sc.diag, req, t.proto, netns, keep, out)
}

// diagRequest builds in sc.req a dump request of type typ whose body is
// bodyLen zero bytes, then the INET_DIAG_REQ_BYTECODE attribute bc if any.
// Both request bodies are multiples of four bytes, as attributes must start.
func diagRequest(sc *scratch, typ uint16, seq uint32, bodyLen int, bc []byte) []byte {
	ne := binary.NativeEndian
	sc.req = append(sc.req[:0], make([]byte, unix.SizeofNlMsghdr+bodyLen)...)
	if bc != nil {
		sc.req = ne.AppendUint16(sc.req, uint16(unix.SizeofNlAttr+len(bc)))
		sc.req = ne.AppendUint16(sc.req, bcAttr)
		sc.req = append(sc.req, bc...)
	}
	req := sc.req
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], typ)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	return req
}

// dump sends req over the sock_diag socket fd and appends the sockets of the
// answer that keep accepts. buf is the receive buffer (diagBufLen). The
// answers carry the request's type and sequence number, which tell them from
// any left over by an earlier dump. On error the sockets appended so far are
// still returned.
func dump(ctx context.Context, fd int, buf, req []byte, proto uint8, netns uint64, keep Filter, out []Socket) ([]Socket, error) {
	if _, err := unix.Write(fd, req); err != nil {
		return out, fmt.Errorf("sock_diag request: %w", err)
	}
	typ, seq := binary.NativeEndian.Uint16(req[4:]), binary.NativeEndian.Uint32(req[8:])
	for {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		n, err := recvDiag(fd, buf)
		if err != nil {
			return out, err
		}
		var done bool
		if out, done, err = parseDiag(buf[:n], typ, seq, proto, netns, keep, out); err != nil || done {
			return out, err
		}
	}
}

// recvDiag reads one datagram. It calls recvfrom itself because
// unix.Recvfrom allocates the sender's address on every call, and it asks
// for MSG_TRUNC so that a datagram cut by a small buffer is an error rather
// than sockets silently lost.
func recvDiag(fd int, buf []byte) (int, error) {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), unix.MSG_TRUNC, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return 0, fmt.Errorf("sock_diag recv: %w", errno)
		case int(n) > len(buf):
			return 0, errDiagTruncated
		}
		return int(n), nil
	}
}

// parseDiag appends the sockets of one datagram of netlink messages and says
// whether the dump is done.
func parseDiag(b []byte, typ uint16, seq uint32, proto uint8, netns uint64, keep Filter, out []Socket) ([]Socket, bool, error) {
	ne := binary.NativeEndian
	for len(b) >= unix.SizeofNlMsghdr {
		l := int(ne.Uint32(b[0:]))
		if l < unix.SizeofNlMsghdr || l > len(b) {
			return out, false, errDiagMalformed
		}
		mtyp, mseq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		body := b[unix.SizeofNlMsghdr:l]
		b = b[min(nlmAlign(l), len(b)):]
		if mseq != seq {
			continue
		}
		switch mtyp {
		case unix.NLMSG_DONE:
			// A dump that failed half-way ends with the negative errno here.
			if len(body) >= 4 {
				if e := int32(ne.Uint32(body)); e < 0 {
					return out, true, fmt.Errorf("sock_diag dump: %w", unix.Errno(-e))
				}
			}
			return out, true, nil
		case unix.NLMSG_ERROR:
			if len(body) < 4 {
				return out, true, errDiagMalformed
			}
			if e := int32(ne.Uint32(body)); e < 0 {
				return out, true, fmt.Errorf("sock_diag: %w", unix.Errno(-e))
			}
			return out, true, nil
		case typ:
			if len(body) < inetDiagMsgLen {
				return out, false, errDiagMalformed
			}
			if s, ok := parseDiagMsg(body, proto, keep); ok {
				s.NetNS = netns
				out = append(out, s)
			}
		}
	}
	return out, false, nil
}

// parseDiagMsg reads a struct inet_diag_msg, at least inetDiagMsgLen long.
// Ports and addresses are in network order, the rest in the host's. The
// ports go to keep before anything is built.
func parseDiagMsg(m []byte, proto uint8, keep Filter) (Socket, bool) {
	lport := binary.BigEndian.Uint16(m[4:])
	rport := binary.BigEndian.Uint16(m[6:])
	if !keep.Keep(lport, rport, proto) {
		return Socket{}, false
	}
	family := m[0]
	var local, remote netip.Addr
	switch family {
	case AFInet:
		local, remote = netip.AddrFrom4([4]byte(m[8:12])), netip.AddrFrom4([4]byte(m[24:28]))
	case AFInet6:
		local, remote = netip.AddrFrom16([16]byte(m[8:24])), netip.AddrFrom16([16]byte(m[24:40]))
	default:
		return Socket{}, false
	}
	return Socket{
		Family:   family,
		Protocol: proto,
		Local:    netip.AddrPortFrom(local, lport),
		Remote:   netip.AddrPortFrom(remote, rport),
		State:    stateName(proto, m[1]),
		UID:      int64(binary.NativeEndian.Uint32(m[64:])),
		Inode:    uint64(binary.NativeEndian.Uint32(m[68:])),
	}, true
}

// nlmAlign rounds a message length up to NLMSG_ALIGNTO.
func nlmAlign(l int) int {
	return (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
}
