package inventory

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

const (
	protoTCP uint8 = 6
	protoUDP uint8 = 17
)

func protoName(p uint8) string {
	if p == protoTCP {
		return "tcp"
	}
	return "udp"
}

// protocol reads a transport column: tcp, tcp6, udp, udp6 (ss, netstat), TCP,
// UDP (Windows, lsof). v6 is true for the 6 suffix.
func protocol(s string) (proto uint8, v6, ok bool) {
	switch strings.ToLower(s) {
	case "tcp":
		return protoTCP, false, true
	case "tcp6":
		return protoTCP, true, true
	case "udp":
		return protoUDP, false, true
	case "udp6":
		return protoUDP, true, true
	}
	return 0, false, false
}

// endpoint reads "addr:port" as the tools print it: 127.0.0.1:611,
// [::1]:609, ::1:609 (netstat), 127.0.0.53%lo:53 (ss with an interface),
// [fe80::1%12]:1900 (Windows), *:5353 and 0.0.0.0:* (wildcards). The zone is
// dropped, as the live sources drop it. A "*" address is the wildcard of
// the family v6 says.
func endpoint(s string, v6 bool) (netip.AddrPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("address %q has no port", s)
	}
	host, portText := s[:i], s[i+1:]
	var port uint16
	if portText != "*" {
		n, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("address %q: port %q is not a number (were names resolved? use -n)", s, portText)
		}
		port = uint16(n)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if z := strings.IndexByte(host, '%'); z >= 0 {
		host = host[:z]
	}
	if host == "*" || host == "" {
		if v6 {
			return netip.AddrPortFrom(netip.IPv6Unspecified(), port), nil
		}
		return netip.AddrPortFrom(netip.IPv4Unspecified(), port), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q is not numeric (were names resolved? use -n)", s)
	}
	return netip.AddrPortFrom(a, port), nil
}

// netip0 is the unspecified address and port 0 of a family: the remote end
// of a socket that is not connected.
func netip0(v6 bool) netip.AddrPort {
	if v6 {
		return netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}

// family is osquery's AF number for an address.
func family(a netip.Addr) uint8 {
	if a.Is4() {
		return sockets.AFInet
	}
	return sockets.AFInet6
}

// tcpStates maps each tool's spelling of a TCP state to osquery's Linux one
// (osquery/filesystem/linux/proc.h), which the live sources use.
var tcpStates = map[string]string{
	"ESTAB": "ESTABLISHED", "ESTABLISHED": "ESTABLISHED",
	"LISTEN": "LISTEN", "LISTENING": "LISTEN",
	"SYN-SENT": "SYN_SENT", "SYN_SENT": "SYN_SENT",
	"SYN-RECV": "SYN_RECV", "SYN_RECV": "SYN_RECV", "SYN_RECEIVED": "SYN_RECV", "SYN_RCVD": "SYN_RECV",
	"FIN-WAIT-1": "FIN_WAIT1", "FIN_WAIT1": "FIN_WAIT1", "FIN_WAIT_1": "FIN_WAIT1",
	"FIN-WAIT-2": "FIN_WAIT2", "FIN_WAIT2": "FIN_WAIT2", "FIN_WAIT_2": "FIN_WAIT2",
	"TIME-WAIT": "TIME_WAIT", "TIME_WAIT": "TIME_WAIT",
	"CLOSE-WAIT": "CLOSE_WAIT", "CLOSE_WAIT": "CLOSE_WAIT",
	"LAST-ACK": "LAST_ACK", "LAST_ACK": "LAST_ACK",
	"CLOSING": "CLOSING",
	"CLOSED":  "CLOSE", "CLOSE": "CLOSE", "UNCONN": "CLOSE", "DELETE_TCB": "CLOSE",
	"IDLE": "CLOSE", "BOUND": "CLOSE",
}

// tcpState spells a TCP state as osquery does; ok is false for a word that
// is no TCP state.
func tcpState(s string) (string, bool) {
	st, ok := tcpStates[strings.ToUpper(s)]
	return st, ok
}

// newSocket builds a socket from what every format gives; UDP has no state.
func newSocket(proto uint8, local, remote netip.AddrPort, state string) sockets.Socket {
	if proto == protoUDP {
		state = ""
	}
	return sockets.Socket{Family: family(local.Addr()), Protocol: proto, Local: local, Remote: remote, State: state, UID: -1}
}

// pidOf reads a pid column.
func pidOf(s string) (int32, error) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("pid %q is not a number", s)
	}
	return int32(n), nil
}

// cutFields splits the first n whitespace-separated fields off line and
// returns them with the rest, whose own spaces (a process name) are kept.
func cutFields(line string, n int) ([]string, string) {
	fields := make([]string, 0, n)
	rest := line
	for len(fields) < n {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		fields = append(fields, rest[:end])
		rest = rest[end:]
	}
	return fields, strings.TrimSpace(rest)
}
