package sockets

import (
	"net/netip"
	"strings"

	gnet "github.com/shirou/gopsutil/v4/net"
)

// fromConnections converts gopsutil's view to osquery's conventions: IPPROTO
// numbers instead of socket types, family 10 for IPv6 whatever the OS calls
// it (23 on Windows, 30 on macOS), lsof's "*" as the wildcard address, no
// state for UDP, and pid 0 as "no known owner".
func fromConnections(conns []gnet.ConnectionStat, keep Filter) []Socket {
	var out []Socket
	for _, c := range conns {
		var proto uint8
		switch c.Type {
		case 1: // SOCK_STREAM
			proto = 6
		case 2: // SOCK_DGRAM
			proto = 17
		default:
			continue
		}
		if c.Laddr.Port > 65535 || c.Raddr.Port > 65535 || !keep.Keep(uint16(c.Laddr.Port), uint16(c.Raddr.Port), proto) {
			continue
		}
		family := AFInet
		if c.Family != 2 {
			family = AFInet6
		}
		s := Socket{
			Family:   family,
			Protocol: proto,
			Local:    netip.AddrPortFrom(parseAddr(c.Laddr.IP, family), uint16(c.Laddr.Port)),
			Remote:   netip.AddrPortFrom(parseAddr(c.Raddr.IP, family), uint16(c.Raddr.Port)),
			UID:      -1,
			Owners:   []Owner{},
		}
		if proto == 6 {
			s.State = tcpState(c.Status)
		}
		if c.Pid > 0 {
			fd := int64(c.Fd)
			if fd == 0 {
				fd = -1 // Windows has no descriptor numbers
			}
			s.Owners = []Owner{{PID: c.Pid, FD: fd}}
		}
		out = append(out, s)
	}
	return out
}

func parseAddr(ip string, family uint8) netip.Addr {
	if a, err := netip.ParseAddr(strings.Trim(ip, "[]")); err == nil {
		return a.WithZone("")
	}
	if family == AFInet {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// tcpState spells a TCP state as osquery does on Linux, whatever the
// platform's own names.
func tcpState(s string) string {
	switch s = strings.ToUpper(s); s {
	case "SYN_RECEIVED":
		return "SYN_RECV"
	case "FIN_WAIT_1":
		return "FIN_WAIT1"
	case "FIN_WAIT_2":
		return "FIN_WAIT2"
	case "CLOSED":
		return "CLOSE"
	case "NONE", "":
		return ""
	}
	return s
}
