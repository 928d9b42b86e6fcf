//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The child mode's environment. childEnv selects the mode and says how many
// sockets to hold.
const (
	childEnv    = "LEGACY_PORTS_BENCH_CHILD"
	avoidEnv    = "LEGACY_PORTS_BENCH_AVOID"    // registry ports, comma-separated
	deadlineEnv = "LEGACY_PORTS_BENCH_DEADLINE" // unix seconds
	// busyEnv makes the child a busy proxy's process: its value is the
	// second octet of its loopback addresses, and childEnv's value how
	// many TCP sockets it holds, in connected pairs.
	busyEnv = "LEGACY_PORTS_BENCH_BUSY"
)

// maxDraws bounds the redraws of one ephemeral port that landed on a
// registry port.
const maxDraws = 50

// runChild holds its sockets until stdin closes. It writes "ready N R" (N
// sockets, R redraws) on stdout, then obeys lines on stdin:
// "ghost TCPPORT UDPPORT" listens on those ports too (0: none) and answers
// "ok" or "error ...". It also dies with its parent (Pdeathsig, set by the
// parent) and at the deadline, so that nothing outlives the bench.
func runChild() int {
	var expired <-chan time.Time
	if dl, err := strconv.ParseInt(os.Getenv(deadlineEnv), 10, 64); err == nil {
		expired = time.After(time.Until(time.Unix(dl, 0)))
	}
	n, err := strconv.Atoi(os.Getenv(childEnv))
	if err != nil || n < 1 {
		fmt.Printf("error %s=%q is not a socket count\n", childEnv, os.Getenv(childEnv))
		return 1
	}
	h := &holder{}
	for _, f := range strings.Split(os.Getenv(avoidEnv), ",") {
		if p, err := strconv.ParseUint(f, 10, 16); err == nil {
			h.avoid[p] = true
		}
	}
	fill := h.fill
	if octet, err := strconv.Atoi(os.Getenv(busyEnv)); err == nil {
		fill = func(n int) error { return h.fillBusy(octet, n) }
	}
	if err := fill(n); err != nil {
		fmt.Printf("error %v\n", err)
		return 1
	}
	fmt.Printf("ready %d %d\n", len(h.held), h.redraws)
	commands := make(chan string)
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			commands <- in.Text()
		}
		close(commands)
	}()
	for {
		select {
		case <-expired:
			return 3
		case cmd, ok := <-commands:
			if !ok {
				// A socket the garbage collector finds unreachable is closed
				// by its finalizer: the holder must live until now.
				runtime.KeepAlive(h)
				return 0
			}
			var tcp, udp int
			if _, err := fmt.Sscanf(cmd, "ghost %d %d", &tcp, &udp); err != nil {
				fmt.Printf("error %q: %v\n", cmd, err)
				continue
			}
			if err := h.ghost(tcp, udp); err != nil {
				fmt.Printf("error %v\n", err)
				continue
			}
			fmt.Println("ok")
		}
	}
}

// holder keeps a child's sockets open.
type holder struct {
	// avoid marks registry ports. An ephemeral port drawn there is drawn
	// again: the "nothing matches" phase must match nothing.
	avoid   [1 << 16]bool
	held    []io.Closer
	redraws int
}

// draw keeps what open opens once none of the local ports it reports is a
// registry port. Rejected sockets stay open until the end, so that the
// kernel does not hand the same port back.
func (h *holder) draw(open func() ([]io.Closer, []int, error)) error {
	var rejects []io.Closer
	defer func() {
		for _, c := range rejects {
			_ = c.Close()
		}
	}()
	for range maxDraws {
		socks, ports, err := open()
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ports, func(p int) bool { return h.avoid[p] }) {
			h.held = append(h.held, socks...)
			return nil
		}
		h.redraws++
		rejects = append(rejects, socks...)
	}
	return fmt.Errorf("%d ephemeral ports in a row were registry ports", maxDraws)
}

func portOf(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	case *net.UDPAddr:
		return a.Port
	}
	return 0
}

// fill opens n sockets on loopback: about 1/8 TCP listeners (a third of them
// IPv6 when ::1 works), connected TCP pairs on them (each pair is two
// sockets), and the rest UDP, a third of it connected.
func (h *holder) fill(n int) error {
	listeners := max(1, n/8)
	pairs := max(0, (n-listeners-n/4)/2)
	udp := max(0, n-listeners-2*pairs)
	v6 := ipv6Works()
	var ls []net.Listener
	for i := range listeners {
		network, addr := "tcp4", "127.0.0.1:0"
		if v6 && i%3 == 1 {
			network, addr = "tcp6", "[::1]:0"
		}
		var l net.Listener
		err := h.draw(func() ([]io.Closer, []int, error) {
			var err error
			if l, err = net.Listen(network, addr); err != nil {
				return nil, nil, err
			}
			return []io.Closer{l}, []int{portOf(l.Addr())}, nil
		})
		if err != nil {
			return err
		}
		ls = append(ls, l)
	}
	for i := range pairs {
		if err := h.pair(ls[i%len(ls)]); err != nil {
			return err
		}
	}
	var first *net.UDPConn
	for i := range udp {
		var c *net.UDPConn
		err := h.draw(func() ([]io.Closer, []int, error) {
			var err error
			switch {
			case i%3 == 2 && first != nil:
				c, err = net.DialUDP("udp", nil, first.LocalAddr().(*net.UDPAddr))
			case i%3 == 1 && v6:
				c, err = net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
			default:
				c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			}
			if err != nil {
				return nil, nil, err
			}
			return []io.Closer{c}, []int{portOf(c.LocalAddr())}, nil
		})
		if err != nil {
			return err
		}
		if first == nil {
			first = c
		}
	}
	return nil
}

// pair connects to l and accepts: a client socket and a server socket. The
// server's local port is l's, already checked; the client's is drawn.
func (h *holder) pair(l net.Listener) error {
	return h.draw(func() ([]io.Closer, []int, error) {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return nil, nil, err
		}
		s, err := l.Accept()
		if err != nil {
			_ = c.Close()
			return nil, nil, err
		}
		// Closed with a reset, the pair leaves no TIME-WAIT sockets behind
		// for the next run (or anyone's test) to find on a registry port.
		for _, conn := range []net.Conn{c, s} {
			_ = conn.(*net.TCPConn).SetLinger(0)
		}
		return []io.Closer{c, s}, []int{portOf(c.LocalAddr())}, nil
	})
}

// ghost listens on registry ports, as a forgotten daemon would, and
// connects to its own TCP listener: a listen, an inbound and an outbound row.
// It keeps all of that or, on an error, none of it, so that the bench can
// try other ports.
func (h *holder) ghost(tcp, udp int) (err error) {
	mark := len(h.held)
	defer func() {
		if err != nil {
			for _, c := range h.held[mark:] {
				_ = c.Close()
			}
			h.held = h.held[:mark]
		}
	}()
	if tcp > 0 {
		l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp)))
		if err != nil {
			return err
		}
		h.held = append(h.held, l)
		if err := h.pair(l); err != nil {
			return err
		}
	}
	if udp > 0 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: udp})
		if err != nil {
			return err
		}
		h.held = append(h.held, c)
	}
	return nil
}

func ipv6Works() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// busyListeners is how many loopback addresses a busy child listens on; its
// connections are spread over them.
const busyListeners = 8

// fillBusy holds n TCP sockets as a proxy does: connected pairs on
// listeners at 127.net.j.1. Each listener address takes its own ephemeral
// ports (the kernel draws a port per destination), so that 100,000 sockets
// on one host do not run out of them. The soft descriptor limit goes up to
// the hard one first.
func (h *holder) fillBusy(octet, n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if need := uint64(n + busyListeners + 64); lim.Cur < need {
		return fmt.Errorf("%d sockets need %d descriptors, the hard limit is %d", n, need, lim.Max)
	}
	ls := make([]net.Listener, busyListeners)
	for j := range ls {
		addr := net.JoinHostPort(fmt.Sprintf("127.%d.%d.1", octet, j+1), "0")
		err := h.draw(func() ([]io.Closer, []int, error) {
			var err error
			if ls[j], err = net.Listen("tcp4", addr); err != nil {
				return nil, nil, err
			}
			return []io.Closer{ls[j]}, []int{portOf(ls[j].Addr())}, nil
		})
		if err != nil {
			return err
		}
	}
	for i := range n / 2 {
		if err := h.pair(ls[i%len(ls)]); err != nil {
			return fmt.Errorf("after %d sockets: %w", len(h.held), err)
		}
	}
	return nil
}
