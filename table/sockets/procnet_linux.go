package sockets

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"sync"
)

// inetTable is one of the four socket tables a namespace has: its file under
// <pid>/net and the family and protocol a netlink dump asks for.
type inetTable struct {
	name   string
	family uint8
	proto  uint8
}

// inetTables lists tcp before tcp6: a missing tcp file means the process is
// gone, a missing tcp6 or udp6 only that IPv6 is disabled.
var inetTables = [...]inetTable{
	{"tcp", AFInet, protoTCP},
	{"tcp6", AFInet6, protoTCP},
	{"udp", AFInet, protoUDP},
	{"udp6", AFInet6, protoUDP},
}

// tcpStates are the kernel's TCP states (include/net/tcp_states.h) spelt as
// osquery's Linux process_open_sockets spells them (osquery/filesystem/linux/proc.h),
// so that queries written for osquery match.
var tcpStates = [...]string{
	1:  "ESTABLISHED",
	2:  "SYN_SENT",
	3:  "SYN_RECV",
	4:  "FIN_WAIT1",
	5:  "FIN_WAIT2",
	6:  "TIME_WAIT",
	7:  "CLOSED",
	8:  "CLOSE_WAIT",
	9:  "LAST_ACK",
	10: "LISTEN",
	11: "CLOSING",
	// TCP_NEW_SYN_RECV, a pending connection that netlink reports by its own
	// number and /proc/net/tcp as SYN_RECV.
	12: "SYN_RECV",
}

// stateName gives osquery's state text: TCP names, "UNKNOWN" for a number
// osquery has no name for, and "" for UDP whatever the kernel says.
func stateName(proto, state uint8) string {
	if proto != protoTCP {
		return ""
	}
	if int(state) < len(tcpStates) && tcpStates[state] != "" {
		return tcpStates[state]
	}
	return "UNKNOWN"
}

// hostBigEndian is the order in which this host's kernel prints each 32-bit
// word of an address in /proc/net.
var hostBigEndian = binary.NativeEndian.Uint16([]byte{0, 1}) == 1

// procNetReaders pools the readers of /proc/net files; 64 KiB takes most of a
// file in one read(2), since the kernel fills the whole buffer each call.
var procNetReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// readProcNet appends the sockets of one /proc/net table file that keep accepts.
func readProcNet(path string, t inetTable, bigEndian bool, netns uint64, keep Filter, out []Socket) ([]Socket, error) {
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	out, err = parseProcNet(f, t, bigEndian, netns, keep, out)
	if err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return out, err
}

// parseProcNet appends the sockets of a /proc/net/{tcp,tcp6,udp,udp6} text
// that keep accepts. A malformed line is skipped and reported in the error
// after the rest of the text is read, so one odd line does not hide the others.
func parseProcNet(r io.Reader, t inetTable, bigEndian bool, netns uint64, keep Filter, out []Socket) ([]Socket, error) {
	br := procNetReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		procNetReaders.Put(br)
	}()
	var bad error
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		// Line 1 is the column header.
		if n > 1 && len(bytes.TrimSpace(line)) > 0 {
			s, kept, perr := parseProcNetLine(line, t, bigEndian, keep)
			switch {
			case perr != nil && bad == nil:
				bad = fmt.Errorf("line %d: %w", n, perr)
			case kept:
				s.NetNS = netns
				out = append(out, s)
			}
		}
		if errors.Is(err, io.EOF) {
			return out, bad
		}
		if err != nil {
			return out, errors.Join(bad, fmt.Errorf("line %d: %w", n, err))
		}
	}
}

var errMalformed = errors.New("malformed socket line")

// parseProcNetLine reads one socket line:
//
//	sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
//
// The ports are checked against keep before anything else is decoded.
func parseProcNetLine(line []byte, t inetTable, bigEndian bool, keep Filter) (Socket, bool, error) {
	var f [10][]byte
	rest := line
	for i := range f {
		f[i], rest = nextField(rest)
		if len(f[i]) == 0 {
			return Socket{}, false, errMalformed
		}
	}
	lhex, lport, ok1 := splitHexAddrPort(f[1])
	rhex, rport, ok2 := splitHexAddrPort(f[2])
	if !ok1 || !ok2 {
		return Socket{}, false, errMalformed
	}
	if !keep.Keep(lport, rport, t.proto) {
		return Socket{}, false, nil
	}
	laddr, ok1 := decodeAddr(lhex, t.family, bigEndian)
	raddr, ok2 := decodeAddr(rhex, t.family, bigEndian)
	state, ok3 := parseUint(f[3], 16)
	uid, ok4 := parseUint(f[7], 10)
	inode, ok5 := parseUint(f[9], 10)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || state > math.MaxUint8 || uid > math.MaxUint32 {
		return Socket{}, false, errMalformed
	}
	return Socket{
		Family:   t.family,
		Protocol: t.proto,
		Local:    netip.AddrPortFrom(laddr, lport),
		Remote:   netip.AddrPortFrom(raddr, rport),
		State:    stateName(t.proto, uint8(state)),
		Inode:    inode,
		UID:      int64(uid),
	}, true, nil
}

// nextField returns the first space-separated field of b and what follows it.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// splitHexAddrPort splits "0100007F:0035" into the address's hex digits and the port.
func splitHexAddrPort(b []byte) ([]byte, uint16, bool) {
	i := bytes.LastIndexByte(b, ':')
	if i < 0 {
		return nil, 0, false
	}
	port, ok := parseUint(b[i+1:], 16)
	if !ok || port > math.MaxUint16 {
		return nil, 0, false
	}
	return b[:i], uint16(port), true
}

// decodeAddr decodes an address as /proc/net prints it: each 32-bit word as
// the kernel holds it in memory, so a little-endian host prints 127.0.0.1 as
// 0100007F and a big-endian one as 7F000001. IPv4-mapped IPv6 addresses stay
// IPv6, as the socket's family is.
func decodeAddr(h []byte, family uint8, bigEndian bool) (netip.Addr, bool) {
	n := 4
	if family == AFInet6 {
		n = 16
	}
	if len(h) != 2*n {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i := range n {
		v, ok := parseUint(h[2*i:2*i+2], 16)
		if !ok {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	if !bigEndian {
		for w := 0; w < n; w += 4 {
			b[w], b[w+1], b[w+2], b[w+3] = b[w+3], b[w+2], b[w+1], b[w]
		}
	}
	if family == AFInet {
		return netip.AddrFrom4([4]byte(b[:4])), true
	}
	return netip.AddrFrom16(b), true
}

// parseUint parses a decimal or hexadecimal number straight from bytes, so
// the hot loops convert nothing to strings.
func parseUint(b []byte, base uint64) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		var d uint64
		switch lc := c | 0x20; {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case base == 16 && 'a' <= lc && lc <= 'f':
			d = uint64(lc-'a') + 10
		default:
			return 0, false
		}
		if n > (math.MaxUint64-d)/base {
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}

// parseBracketed parses the number in a link such as "socket:[12345]" or
// "net:[4026531840]", given its prefix up to and including the bracket.
func parseBracketed(b []byte, prefix string) (uint64, bool) {
	if len(b) < len(prefix)+2 || string(b[:len(prefix)]) != prefix || b[len(b)-1] != ']' {
		return 0, false
	}
	return parseUint(b[len(prefix):len(b)-1], 10)
}
