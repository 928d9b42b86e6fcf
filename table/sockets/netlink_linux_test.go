package sockets

import (
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// nlMsg builds one netlink message, padded to NLMSG_ALIGNTO.
func nlMsg(typ uint16, seq uint32, body []byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body)+unix.NLMSG_ALIGNTO)
	binary.NativeEndian.PutUint32(b[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	b = append(b, body...)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// diagMsg builds a struct inet_diag_msg for a socket.
func diagMsg(s Socket, state uint8) []byte {
	m := make([]byte, inetDiagMsgLen)
	m[0], m[1] = s.Family, state
	binary.BigEndian.PutUint16(m[4:], s.Local.Port())
	binary.BigEndian.PutUint16(m[6:], s.Remote.Port())
	if s.Family == AFInet {
		l, r := s.Local.Addr().As4(), s.Remote.Addr().As4()
		copy(m[8:], l[:])
		copy(m[24:], r[:])
	} else {
		l, r := s.Local.Addr().As16(), s.Remote.Addr().As16()
		copy(m[8:], l[:])
		copy(m[24:], r[:])
	}
	binary.NativeEndian.PutUint32(m[64:], uint32(s.UID))
	binary.NativeEndian.PutUint32(m[68:], uint32(s.Inode))
	return m
}

func errno(e unix.Errno) []byte {
	return binary.NativeEndian.AppendUint32(nil, uint32(-int32(e)))
}

func TestParseDiag(t *testing.T) {
	const typ, seq = tcpDiagGetSock, 7
	v4 := sock(AFInet, protoTCP, "127.0.0.1:609", "0.0.0.0:0", "LISTEN", 1000, 4242, 9)
	v6 := sock(AFInet6, protoTCP, "[::ffff:127.0.0.1]:610", "[::ffff:10.0.0.1]:50000", "ESTABLISHED", 0, 4343, 9)
	other := sock(AFInet, protoTCP, "127.0.0.1:22", "0.0.0.0:0", "LISTEN", 0, 1, 9)
	syn := sock(AFInet6, protoTCP, "[::1]:609", "[::1]:40000", "SYN_RECV", 0, 0, 9)
	udp := sock(AFInet, protoUDP, "127.0.0.1:609", "127.0.0.1:53", "", 0, 4444, 9)
	cat := slices.Concat[[]byte]
	done := nlMsg(unix.NLMSG_DONE, seq, make([]byte, 4))
	badFamily := diagMsg(v4, 10)
	badFamily[0] = unix.AF_UNIX
	tests := []struct {
		name     string
		in       []byte
		proto    uint8
		want     []Socket
		wantDone bool
		wantErr  error
	}{
		{"sockets then done", cat(nlMsg(typ, seq, diagMsg(v4, 10)), nlMsg(typ, seq, diagMsg(v6, 1)), done), protoTCP, []Socket{v4, v6}, true, nil},
		{"more to come", nlMsg(typ, seq, diagMsg(v4, 10)), protoTCP, []Socket{v4}, false, nil},
		{"keep says no", cat(nlMsg(typ, seq, diagMsg(other, 10)), done), protoTCP, nil, true, nil},
		{"new_syn_recv", nlMsg(typ, seq, diagMsg(syn, 12)), protoTCP, []Socket{syn}, false, nil},
		{"udp has no state", nlMsg(typ, seq, diagMsg(udp, 1)), protoUDP, []Socket{udp}, false, nil},
		{"left from another dump", cat(nlMsg(typ, seq-1, diagMsg(v6, 1)), nlMsg(unix.NLMSG_DONE, seq-1, nil), nlMsg(typ, seq, diagMsg(v4, 10))), protoTCP, []Socket{v4}, false, nil},
		{"other types", cat(nlMsg(unix.NLMSG_NOOP, seq, nil), nlMsg(unix.SOCK_DIAG_BY_FAMILY, seq, diagMsg(v6, 1))), protoTCP, nil, false, nil},
		{"unknown family", nlMsg(typ, seq, badFamily), protoTCP, nil, false, nil},
		{"empty", nil, protoTCP, nil, false, nil},
		{"done without status", cat(nlMsg(typ, seq, diagMsg(v4, 10)), nlMsg(unix.NLMSG_DONE, seq, nil)), protoTCP, []Socket{v4}, true, nil},
		{"dump failed", cat(nlMsg(typ, seq, diagMsg(v4, 10)), nlMsg(unix.NLMSG_DONE, seq, errno(unix.EINTR))), protoTCP, []Socket{v4}, true, unix.EINTR},
		{"refused", nlMsg(unix.NLMSG_ERROR, seq, errno(unix.ENOENT)), protoTCP, nil, true, unix.ENOENT},
		{"acknowledged", nlMsg(unix.NLMSG_ERROR, seq, errno(0)), protoTCP, nil, true, nil},
		{"short error", nlMsg(unix.NLMSG_ERROR, seq, []byte{1}), protoTCP, nil, true, errDiagMalformed},
		{"short socket", nlMsg(typ, seq, diagMsg(v4, 10)[:inetDiagMsgLen-1]), protoTCP, nil, false, errDiagMalformed},
		{"length past the end", nlMsg(typ, seq, diagMsg(v4, 10))[:50], protoTCP, nil, false, errDiagMalformed},
		{"length below the header", []byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, protoTCP, nil, false, errDiagMalformed},
		{"trailing bytes", append(nlMsg(typ, seq, diagMsg(v4, 10)), 1, 2, 3), protoTCP, []Socket{v4}, false, nil},
	}
	keep := FilterFunc(func(local, _ uint16, _ uint8) bool { return local >= 600 })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotDone, err := parseDiag(tt.in, typ, seq, tt.proto, 9, keep, nil)
			if !reflect.DeepEqual(got, tt.want) || gotDone != tt.wantDone {
				t.Errorf("got %v, done %v; want %v, done %v", got, gotDone, tt.want, tt.wantDone)
			}
			if (tt.wantErr == nil) != (err == nil) || !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
