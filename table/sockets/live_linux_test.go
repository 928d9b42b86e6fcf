package sockets

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if os.Getenv("LP_TEST_HELPER") == "listen" {
		os.Exit(listenHelper())
	}
	os.Exit(m.Run())
}

// listenHelper is the process TestNamespaceListener starts in a new network
// namespace: it listens on 127.0.0.1, prints "ready <port>" and holds the
// socket until its stdin closes.
func listenHelper() int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer l.Close()
	fmt.Printf("ready %d\n", l.Addr().(*net.TCPAddr).Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// liveSocket is a socket this process opened, and what a source must say of it.
type liveSocket struct {
	name string
	fd   int
	want Socket
}

// liveSockets opens, on loopback, a listening TCP socket, both ends of a TCP
// connection, an unconnected and a connected UDP socket, for IPv4 and, when
// ::1 can be bound, IPv6; then a dual-stack listener bound to
// ::ffff:127.0.0.1 and a connection to it over IPv4, whose accepted end has
// IPv4-mapped addresses that must stay IPv6. All close when the test ends.
func liveSockets(t *testing.T) []liveSocket {
	t.Helper()
	var out []liveSocket
	add := func(name string, fd int, family, proto uint8, local, remote netip.AddrPort, state string) {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		out = append(out, liveSocket{name, fd, Socket{
			Family: family, Protocol: proto, Local: local, Remote: remote, State: state,
			Inode: st.Ino, UID: int64(os.Geteuid()),
		}})
	}
	closeLater := func(c io.Closer) { t.Cleanup(func() { c.Close() }) }
	for _, fam := range []struct {
		family   uint8
		net      string
		loopback string
		any      string
	}{{AFInet, "4", "127.0.0.1", "0.0.0.0"}, {AFInet6, "6", "::1", "::"}} {
		loop := netip.MustParseAddr(fam.loopback)
		unspec := netip.AddrPortFrom(netip.MustParseAddr(fam.any), 0)
		// The net package shows IPv4 addresses in their 16-byte form.
		addr := func(a net.Addr) netip.AddrPort {
			ap, err := netip.ParseAddrPort(a.String())
			if err != nil {
				t.Fatal(err)
			}
			return ap
		}
		l, err := net.ListenTCP("tcp"+fam.net, net.TCPAddrFromAddrPort(netip.AddrPortFrom(loop, 0)))
		if err != nil && fam.family == AFInet6 {
			t.Logf("IPv6 left out, ::1 cannot be bound: %v", err)
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		closeLater(l)
		client, err := net.DialTCP("tcp"+fam.net, nil, l.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		closeLater(client)
		server, err := l.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		closeLater(server)
		u, err := net.ListenUDP("udp"+fam.net, net.UDPAddrFromAddrPort(netip.AddrPortFrom(loop, 0)))
		if err != nil {
			t.Fatal(err)
		}
		closeLater(u)
		uc, err := net.DialUDP("udp"+fam.net, nil, u.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		closeLater(uc)

		tcp, udp := "tcp"+fam.net+" ", "udp"+fam.net+" "
		add(tcp+"listen", rawFD(t, l), fam.family, protoTCP, addr(l.Addr()), unspec, "LISTEN")
		add(tcp+"client", rawFD(t, client), fam.family, protoTCP, addr(client.LocalAddr()), addr(client.RemoteAddr()), "ESTABLISHED")
		add(tcp+"server", rawFD(t, server), fam.family, protoTCP, addr(server.LocalAddr()), addr(server.RemoteAddr()), "ESTABLISHED")
		add(udp+"unconnected", rawFD(t, u), fam.family, protoUDP, addr(u.LocalAddr()), unspec, "")
		add(udp+"connected", rawFD(t, uc), fam.family, protoUDP, addr(uc.LocalAddr()), addr(uc.RemoteAddr()), "")
	}

	// The net package would open an AF_INET socket for ::ffff:127.0.0.1.
	mapped := netip.MustParseAddr("::ffff:127.0.0.1")
	lfd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	if err := unix.SetsockoptInt(lfd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet6{Addr: mapped.As16()}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 1); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(sa.(*unix.SockaddrInet6).Port)
	client, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(netip.AddrPortFrom(mapped.Unmap(), port)))
	if err != nil {
		t.Fatal(err)
	}
	closeLater(client)
	afd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(afd) })
	cport := uint16(client.LocalAddr().(*net.TCPAddr).Port)
	add("tcp6 v4-mapped listen", lfd, AFInet6, protoTCP, netip.AddrPortFrom(mapped, port), netip.MustParseAddrPort("[::]:0"), "LISTEN")
	add("tcp6 v4-mapped server", afd, AFInet6, protoTCP, netip.AddrPortFrom(mapped, port), netip.AddrPortFrom(mapped, cport), "ESTABLISHED")
	add("tcp4 client of v4-mapped", rawFD(t, client), AFInet, protoTCP,
		netip.AddrPortFrom(mapped.Unmap(), cport), netip.AddrPortFrom(mapped.Unmap(), port), "ESTABLISHED")
	return out
}

// rawFD is the descriptor behind a net connection or listener.
func rawFD(t *testing.T, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// keepPorts keeps the sockets with a local or remote port of live.
func keepPorts(live []liveSocket) Filter {
	ports := make(map[uint16]bool)
	for _, ls := range live {
		ports[ls.want.Local.Port()] = true
	}
	return FilterFunc(func(local, remote uint16, _ uint8) bool { return ports[local] || ports[remote] })
}

// nsInode reads the inode of the network namespace link at path.
func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	link, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}
	ino, ok := parseBracketed([]byte(link), "net:[")
	if !ok {
		t.Fatalf("%s: unexpected link %q", path, link)
	}
	return ino
}

// liveSources are the two ways of reading this host: netlink, and the
// /proc/net files it falls back to.
func liveSources() []struct {
	name string
	src  Source
} {
	return []struct {
		name string
		src  Source
	}{
		{"netlink", NewLinux("")},
		{"procfs", &linuxSource{procRoot: "/proc", bigEndian: hostBigEndian}},
	}
}

func TestLiveSockets(t *testing.T) {
	live := liveSockets(t)
	keep := keepPorts(live)
	ownNS := nsInode(t, "/proc/self/ns/net")
	inodes := make(map[uint64]struct{})
	for _, ls := range live {
		inodes[ls.want.Inode] = struct{}{}
	}
	pid := int32(os.Getpid())
	for _, tt := range liveSources() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.src.Sockets(t.Context(), keep)
			if err != nil {
				// Our namespace was read if our sockets are found below.
				t.Logf("Sockets: %v", err)
			}
			byInode := make(map[uint64]Socket)
			for _, s := range got {
				if !keep.Keep(s.Local.Port(), s.Remote.Port(), s.Protocol) {
					t.Errorf("kept %+v", s)
				}
				byInode[s.Inode] = s
			}
			for _, ls := range live {
				want := ls.want
				want.NetNS = ownNS
				if s, ok := byInode[want.Inode]; !ok {
					t.Errorf("%s: %+v not found", ls.name, want)
				} else if !reflect.DeepEqual(s, want) {
					t.Errorf("%s:\ngot  %+v\nwant %+v", ls.name, s, want)
				}
			}
			for _, pids := range [][]int32{nil, {pid}} {
				owners, err := tt.src.Owners(t.Context(), inodes, pids)
				if err != nil {
					t.Fatal(err)
				}
				for _, ls := range live {
					if want := []Owner{{pid, int64(ls.fd)}}; !reflect.DeepEqual(owners[ls.want.Inode], want) {
						t.Errorf("pids %v: %s: owners %v, want %v", pids, ls.name, owners[ls.want.Inode], want)
					}
				}
			}
		})
	}
}

// TestDumpsAgree reads the test's live TCP sockets with one TCPDIAG_GETSOCK
// dump and with a SOCK_DIAG_BY_FAMILY dump per family, its fallback.
func TestDumpsAgree(t *testing.T) {
	live := liveSockets(t)
	keep := keepPorts(live)
	fd, err := openDiag()
	if err != nil {
		t.Skipf("no sock_diag here: %v", err)
	}
	defer unix.Close(fd)
	sc := &scratch{diag: make([]byte, diagBufLen)}
	both, err := dumpTCP(t.Context(), fd, sc, 1, 0, keep, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var byFamily []Socket
	for i, tt := range inetTables[:2] {
		if byFamily, err = dumpInet(t.Context(), fd, sc, uint32(i+2), tt, 0, keep, nil, byFamily); err != nil {
			t.Fatal(err)
		}
	}
	key := func(s Socket) string { return s.Local.String() + " " + s.Remote.String() + " " + s.State }
	// Sockets in TIME_WAIT (inode 0) may come and go between the dumps.
	set := func(socks []Socket) []string {
		var out []string
		for _, s := range socks {
			if s.Inode != 0 {
				out = append(out, key(s))
			}
		}
		slices.Sort(out)
		return out
	}
	var tcp []string
	for _, ls := range live {
		if ls.want.Protocol == protoTCP {
			tcp = append(tcp, key(ls.want))
		}
	}
	a, b := set(both), set(byFamily)
	if !slices.Equal(a, b) {
		t.Errorf("TCPDIAG_GETSOCK: %v\nSOCK_DIAG_BY_FAMILY: %v", a, b)
	}
	for _, k := range tcp {
		if _, found := slices.BinarySearch(a, k); !found {
			t.Errorf("%s not dumped", k)
		}
	}
}
