package sockets

import (
	"bytes"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// fuzzFilter keeps some ports of each protocol, local and remote, so that a
// filtered parse can be checked against an unfiltered one.
func fuzzFilter() *PortFilter {
	f := &PortFilter{}
	f.TCP.Local.AddRange(600, 700)
	f.TCP.Remote.Add(0)
	f.UDP.Local.Add(53)
	f.UDP.Remote.AddRange(1000, 2000)
	return f
}

// kept is the part of socks that f keeps, in order.
func kept(socks []Socket, f Filter) []Socket {
	var out []Socket
	for _, s := range socks {
		if f.Keep(s.Local.Port(), s.Remote.Port(), s.Protocol) {
			out = append(out, s)
		}
	}
	return out
}

// FuzzParseDiag feeds datagrams to the netlink answer parser. Whatever the
// bytes, it must not panic, every socket it returns must be well formed,
// and a filtered parse must return exactly what an unfiltered one does,
// filtered.
func FuzzParseDiag(f *testing.F) {
	const seq = 1
	typ := uint16(tcpDiagGetSock)
	v4 := sock(AFInet, protoTCP, "127.0.0.1:609", "0.0.0.0:0", "LISTEN", 1000, 4242, 0)
	v6 := sock(AFInet6, protoTCP, "[::1]:610", "[::1]:50000", "ESTABLISHED", 0, 4343, 0)
	f.Add(append(nlMsg(typ, seq, diagMsg(v4, 10)), nlMsg(typ, seq, diagMsg(v6, 1))...), true)
	f.Add(nlMsg(typ, seq, diagMsg(v4, 10)), false)
	f.Fuzz(func(t *testing.T, b []byte, tcp bool) {
		// The answers carry the request's type: TCPDIAG_GETSOCK for the
		// one TCP dump, SOCK_DIAG_BY_FAMILY for the others.
		proto, typ := protoUDP, uint16(unix.SOCK_DIAG_BY_FAMILY)
		if tcp {
			proto, typ = protoTCP, tcpDiagGetSock
		}
		all, allDone, allErr := parseDiag(b, typ, seq, proto, 7, KeepAll, nil)
		for _, s := range all {
			if (s.Family != AFInet && s.Family != AFInet6) || s.Protocol != proto || s.NetNS != 7 ||
				s.Local.Addr().Is4() != (s.Family == AFInet) || s.Remote.Addr().Is4() != (s.Family == AFInet) {
				t.Fatalf("malformed socket %+v", s)
			}
			if proto == protoUDP && s.State != "" {
				t.Fatalf("UDP socket with state %q", s.State)
			}
		}
		if len(all)*(unix.SizeofNlMsghdr+inetDiagMsgLen) > len(b) {
			t.Fatalf("%d sockets from %d bytes", len(all), len(b))
		}
		filter := fuzzFilter()
		some, someDone, someErr := parseDiag(b, typ, seq, proto, 7, filter, nil)
		if !reflect.DeepEqual(some, kept(all, filter)) || someDone != allDone || (someErr == nil) != (allErr == nil) {
			t.Fatalf("filtered: %v %v %v; unfiltered then filtered: %v %v %v", some, someDone, someErr, kept(all, filter), allDone, allErr)
		}
	})
}

// FuzzParseProcNet feeds text to the /proc/net/{tcp,udp}{,6} parser, read as
// each of the four tables. It must not panic, must return well-formed
// sockets, at most one per line, and a filtered parse must return exactly
// what an unfiltered one does, filtered.
func FuzzParseProcNet(f *testing.F) {
	f.Add([]byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
		"   0: 0100007F:0261 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21594 1 0 100 0 0 10 0\n"), uint8(0), false)
	f.Fuzz(func(t *testing.T, text []byte, table uint8, bigEndian bool) {
		tab := inetTables[int(table)%len(inetTables)]
		all, allErr := parseProcNet(bytes.NewReader(text), tab, bigEndian, 7, KeepAll, nil)
		for _, s := range all {
			if s.Family != tab.family || s.Protocol != tab.proto || s.NetNS != 7 ||
				s.Local.Addr().Is4() != (tab.family == AFInet) || s.Remote.Addr().Is4() != (tab.family == AFInet) {
				t.Fatalf("malformed socket %+v from table %s", s, tab.name)
			}
		}
		if lines := bytes.Count(text, []byte("\n")) + 1; len(all) > lines-1 {
			t.Fatalf("%d sockets from %d lines, one a header", len(all), lines)
		}
		filter := fuzzFilter()
		some, someErr := parseProcNet(bytes.NewReader(text), tab, bigEndian, 7, filter, nil)
		if !reflect.DeepEqual(some, kept(all, filter)) {
			t.Fatalf("filtered: %v; unfiltered then filtered: %v", some, kept(all, filter))
		}
		// A line the filter drops is not decoded, so it may hide an error
		// that the unfiltered parse reports, never the other way round.
		if someErr != nil && allErr == nil {
			t.Fatalf("filtered parse fails (%v), unfiltered does not", someErr)
		}
	})
}
