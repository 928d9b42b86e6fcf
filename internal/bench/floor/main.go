//go:build linux

// Command floor is what no Go program that lists this host's sockets can
// skip: the runtime's start, then the dumps legacy_ports makes in our
// network namespace (TCP of both families in one, UDP per family), each read
// to its end. `make bench` times it beside ss and scan, as the least any Go
// tool could take: scan's ratio to ss cannot fall below floor's. It prints
// how many sockets it saw.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Requests of linux/inet_diag.h: TCPDIAG_GETSOCK dumps TCP of both
// families in one walk of the kernel's tables; SOCK_DIAG_BY_FAMILY one
// family and protocol.
const (
	tcpDiagGetSock   = 18
	inetDiagReqLen   = 60
	inetDiagReqV2Len = 56
	allStates        = 1<<13 - 1
)

func main() {
	n, err := count()
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1) //nolint:forbidigo // the one exit, in main
	}
	fmt.Println(n)
}

func count() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 64<<10)
	total := 0
	for _, req := range [][]byte{
		request(tcpDiagGetSock, 1, inetDiagReqLen, 0, 0, 52),
		request(unix.SOCK_DIAG_BY_FAMILY, 2, inetDiagReqV2Len, unix.AF_INET, unix.IPPROTO_UDP, 4),
		request(unix.SOCK_DIAG_BY_FAMILY, 3, inetDiagReqV2Len, unix.AF_INET6, unix.IPPROTO_UDP, 4),
	} {
		n, err := dump(fd, req, buf)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// request builds a dump request whose body is bodyLen bytes, with family
// and protocol in its first two bytes (SOCK_DIAG_BY_FAMILY) and every state
// asked for at statesAt.
func request(typ uint16, seq uint32, bodyLen int, family, proto uint8, statesAt int) []byte {
	ne := binary.NativeEndian
	b := make([]byte, unix.SizeofNlMsghdr+bodyLen)
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(b[8:], seq)
	body := b[unix.SizeofNlMsghdr:]
	if typ == unix.SOCK_DIAG_BY_FAMILY {
		body[0], body[1] = family, proto
	}
	ne.PutUint32(body[statesAt:], allStates)
	return b
}

// dump sends req and counts the sockets of the answer.
func dump(fd int, req, buf []byte) (int, error) {
	if _, err := unix.Write(fd, req); err != nil {
		return 0, err
	}
	n := 0
	for {
		got, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return n, err
		}
		for b := buf[:got]; len(b) >= unix.SizeofNlMsghdr; {
			l := int(binary.NativeEndian.Uint32(b))
			switch typ := binary.NativeEndian.Uint16(b[4:]); {
			case l < unix.SizeofNlMsghdr || l > len(b):
				return n, errors.New("malformed netlink message")
			case typ == unix.NLMSG_DONE:
				return n, nil
			case typ == unix.NLMSG_ERROR:
				return n, errors.New("sock_diag refused the dump")
			}
			n++
			b = b[(l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1):]
		}
	}
}
