//go:build linux

package ebpf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/events"
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv("LP_EBPF_HELPER"); {
	case strings.HasPrefix(mode, "connect "):
		os.Exit(connectHelper(strings.TrimPrefix(mode, "connect ")))
	case mode == "hold":
		holdHelper()
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// connectHelper connects to addr and closes at once: the short-lived client
// that a snapshot never sees.
func connectHelper(addr string) int {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.Close()
	return 0
}

// holdHelper opens a capture, prints the ids of its kernel objects and waits
// to be killed; it returns only on failure.
func holdHelper() {
	c, err := Open([]events.Port{{Port: 609, Protocol: 6}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	ids, err := objectIDs(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(ids.String())
	select {}
}

// requireCapture opens a capture on ports and runs it until the test ends.
// Without root it skips; as root it must work (this project's machines have
// BTF, cgroup v2 and a recent kernel).
func requireCapture(t *testing.T, ports []events.Port) (*Capture, *recorder) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("eBPF needs root: run the tests as root to exercise the kernel capture")
	}
	c, err := Open(ports)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, rec.add) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c, rec
}

type recorder struct {
	mu     sync.Mutex
	events []events.Event
}

func (r *recorder) add(e events.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// wait returns the first event that match accepts, failing after 5 s.
func (r *recorder) wait(t *testing.T, what string, match func(events.Event) bool) events.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range r.snapshot() {
			if match(e) {
				return e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event; got %d events: %+v", what, len(r.snapshot()), r.snapshot())
	return events.Event{}
}

// registryPort returns preferred when it is a registry port of proto that
// nothing on this host holds (other tests listen on registry ports too), or
// else another such port, never one in taken.
func registryPort(t *testing.T, proto uint8, preferred uint16, taken ...uint16) uint16 {
	t.Helper()
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	candidates := []uint16{preferred}
	for _, e := range reg.Entries() {
		if e.HasTransport(proto) {
			candidates = append(candidates, e.PortLow)
		}
	}
	for _, p := range candidates {
		if _, ok := reg.Lookup(p, proto); ok && !slices.Contains(taken, p) && portFree(proto, p) {
			return p
		}
	}
	t.Skipf("every registry port of protocol %d is in use on this host", proto)
	return 0
}

func portFree(proto uint8, port uint16) bool {
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	if proto == 17 {
		c, err := net.ListenPacket("udp4", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	l, err := net.Listen("tcp4", addr)
	if err == nil {
		l.Close()
	}
	return err == nil
}

func TestShortConnectionAndAccept(t *testing.T) {
	port := registryPort(t, 6, 609)
	_, rec := requireCapture(t, []events.Port{{Port: port, Protocol: 6}})
	l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "LP_EBPF_HELPER=connect "+l.Addr().String())
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	childPID := int32(child.Process.Pid)
	conn := rec.wait(t, "connect", func(e events.Event) bool {
		return e.Action == events.Connect && e.Remote.Port() == port && e.PID == childPID
	})
	if conn.Comm != "ebpf.test" || conn.Protocol != 6 || conn.Family != 2 || conn.Remote.Addr().String() != "127.0.0.1" {
		t.Errorf("connect = %+v, want comm ebpf.test, tcp, 127.0.0.1", conn)
	}
	if conn.UID != int64(os.Geteuid()) || conn.NetNS == 0 || conn.CgroupID == 0 || conn.Cgroup == "" {
		t.Errorf("connect = %+v, want our uid, a namespace and a cgroup", conn)
	}
	acc := rec.wait(t, "accept", func(e events.Event) bool {
		return e.Action == events.Accept && e.Local.Port() == port
	})
	if acc.PID != int32(os.Getpid()) {
		t.Errorf("accept pid = %d, want the listener's %d (event %+v)", acc.PID, os.Getpid(), acc)
	}
	rec.wait(t, "listen", func(e events.Event) bool {
		return e.Action == events.Listen && e.Local.Port() == port && e.PID == int32(os.Getpid())
	})
	// Both ends close: the client's side (remote port) and the server's.
	rec.wait(t, "client close", func(e events.Event) bool {
		return e.Action == events.Close && e.Remote.Port() == port && e.PID == childPID
	})
	rec.wait(t, "server close", func(e events.Event) bool {
		return e.Action == events.Close && e.Local.Port() == port && e.Remote.IsValid() && e.PID == int32(os.Getpid())
	})
}

// A listener that existed before the capture started is found in user space
// and its accepts are credited to it.
func TestAcceptOnEarlierListener(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("eBPF needs root")
	}
	port := registryPort(t, 6, 609)
	l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, rec := requireCapture(t, []events.Port{{Port: port, Protocol: 6}})
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	acc := rec.wait(t, "accept", func(e events.Event) bool {
		return e.Action == events.Accept && e.Local.Port() == port
	})
	if acc.PID != int32(os.Getpid()) || acc.Comm == "" {
		t.Errorf("accept = %+v, want pid %d and a name", acc, os.Getpid())
	}
}

func TestUDPSendAndBind(t *testing.T) {
	sendPort := registryPort(t, 17, 611)
	bindPort := registryPort(t, 17, 672, sendPort)
	_, rec := requireCapture(t, []events.Port{{Port: sendPort, Protocol: 17}, {Port: bindPort, Protocol: 17}})

	s, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(sendPort)}
	if _, err := s.WriteTo([]byte("x"), dst); err != nil {
		t.Fatal(err)
	}
	send := rec.wait(t, "send", func(e events.Event) bool {
		return e.Action == events.Send && e.Remote.Port() == sendPort
	})
	if send.PID != int32(os.Getpid()) || send.Protocol != 17 {
		t.Errorf("send = %+v, want our pid, udp", send)
	}

	b, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(int(bindPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bind := rec.wait(t, "bind", func(e events.Event) bool {
		return e.Action == events.Bind && e.Local.Port() == bindPort
	})
	if bind.PID != int32(os.Getpid()) || bind.Protocol != 17 || bind.Local.Addr().String() != "127.0.0.1" {
		t.Errorf("bind = %+v, want our pid, udp, 127.0.0.1", bind)
	}
	// The same over IPv6, where ::1 works.
	wantSends := 1
	if s6, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		defer s6.Close()
		if _, err := s6.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv6loopback, Port: int(sendPort)}); err != nil {
			t.Fatal(err)
		}
		send6 := rec.wait(t, "IPv6 send", func(e events.Event) bool {
			return e.Action == events.Send && e.Family == 10 && e.Remote.Port() == sendPort
		})
		if send6.Remote.Addr().String() != "::1" || send6.PID != int32(os.Getpid()) {
			t.Errorf("IPv6 send = %+v, want ::1 from our pid", send6)
		}
		wantSends++
	}
	// A connected UDP socket gives a connect, and its datagrams, which carry
	// no address, no send.
	conn, err := net.Dial("udp4", dst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	udpConnect := rec.wait(t, "UDP connect", func(e events.Event) bool {
		return e.Action == events.Connect && e.Protocol == 17 && e.Remote.Port() == sendPort
	})
	// A last sendto, to the other port: once it arrives, a send from the
	// connected socket would have arrived too.
	if _, err := s.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(bindPort)}); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "marker send", func(e events.Event) bool {
		return e.Action == events.Send && e.Remote.Port() == bindPort
	})
	sends := slices.DeleteFunc(rec.snapshot(), func(e events.Event) bool {
		return e.Action != events.Send || e.Remote.Port() != sendPort || e.PID != int32(os.Getpid())
	})
	if len(sends) != wantSends {
		t.Errorf("%d send events to %d, want %d (none from the connected socket, whose connect is %+v): %+v", len(sends), sendPort, wantSends, udpConnect, sends)
	}
}

// A listener in a network namespace that the test creates (on a thread of
// its own, which dies with the namespace) carries that namespace's inode.
func TestListenerInNamespace(t *testing.T) {
	port := uint16(609) // a fresh namespace holds nothing
	_, rec := requireCapture(t, []events.Port{{Port: port, Protocol: 6}})
	type result struct {
		netns uint64
		err   error
	}
	var host unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &host); err != nil {
		t.Fatal(err)
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			res <- result{err: err}
			return
		}
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
			res <- result{err: err}
			return
		}
		l, err := net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(int(port)))
		if err == nil {
			l.Close()
		}
		res <- result{st.Ino, err}
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.netns == host.Ino {
		t.Fatal("unshare left the thread in the host's namespace")
	}
	for _, action := range []events.Action{events.Bind, events.Listen} {
		e := rec.wait(t, string(action)+" in the new namespace", func(e events.Event) bool {
			return e.Action == action && e.Local.Port() == port && e.NetNS == r.netns
		})
		if e.PID != int32(os.Getpid()) {
			t.Errorf("%s = %+v, want our pid", action, e)
		}
	}
}

// Connections on an unwatched port cross nothing into user space.
func TestUnwatchedPortGivesNothing(t *testing.T) {
	port := registryPort(t, 6, 609)
	c, rec := requireCapture(t, []events.Port{{Port: port, Protocol: 6}})
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	other := uint16(l.Addr().(*net.TCPAddr).Port)
	if _, ok := mustRegistry(t).Lookup(other, 6); ok {
		t.Skipf("the kernel gave the listener registry port %d", other)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	const n = 10000
	for range n {
		conn, err := net.Dial("tcp4", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		// RST instead of FIN: 10,000 TIME_WAIT sockets would outlive the test.
		_ = conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
	// One watched connection after them: once it arrives, every earlier
	// event would have arrived too (the ring is FIFO).
	marker, err := net.Dial("tcp4", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err == nil {
		marker.Close()
	}
	rec.wait(t, "marker connect", func(e events.Event) bool {
		return e.Action == events.Connect && e.Remote.Port() == port && e.PID == int32(os.Getpid())
	})
	for _, e := range rec.snapshot() {
		if e.Local.Port() == other || e.Remote.Port() == other {
			t.Errorf("event on the unwatched port %d: %+v", other, e)
		}
	}
	if d := c.Dropped(); d != 0 {
		t.Errorf("Dropped = %d", d)
	}
}

func TestSetPorts(t *testing.T) {
	first := registryPort(t, 17, 611)
	second := registryPort(t, 17, 672, first)
	c, rec := requireCapture(t, []events.Port{{Port: first, Protocol: 17}})
	s, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	send := func(port uint16) {
		if _, err := s.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetPorts([]events.Port{{Port: second, Protocol: 17}}); err != nil {
		t.Fatal(err)
	}
	send(first)
	send(second)
	rec.wait(t, "send to the new port", func(e events.Event) bool {
		return e.Action == events.Send && e.Remote.Port() == second
	})
	for _, e := range rec.snapshot() {
		if e.Remote.Port() == first && e.PID == int32(os.Getpid()) {
			t.Errorf("event on the port SetPorts removed: %+v", e)
		}
	}
}

func mustRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// kernelObjects are the ids of one capture's programs, maps and links.
type kernelObjects struct {
	progs []ebpf.ProgramID
	maps  []ebpf.MapID
	links []link.ID
}

func objectIDs(c *Capture) (kernelObjects, error) {
	var ids kernelObjects
	for _, p := range []*ebpf.Program{c.objs.LpTcpState, c.objs.LpBind4, c.objs.LpBind6, c.objs.LpConnect4, c.objs.LpConnect6, c.objs.LpSendmsg4, c.objs.LpSendmsg6} {
		info, err := p.Info()
		if err != nil {
			return ids, err
		}
		id, _ := info.ID()
		ids.progs = append(ids.progs, id)
	}
	for _, m := range []*ebpf.Map{c.objs.LpPorts, c.objs.LpEvents, c.objs.LpDropped, c.objs.LpListeners, c.objs.LpSockets} {
		info, err := m.Info()
		if err != nil {
			return ids, err
		}
		id, _ := info.ID()
		ids.maps = append(ids.maps, id)
	}
	for _, l := range c.links {
		info, err := l.Info()
		if err != nil {
			return ids, err
		}
		ids.links = append(ids.links, info.ID)
	}
	return ids, nil
}

func (k kernelObjects) String() string {
	var b strings.Builder
	for _, id := range k.progs {
		fmt.Fprintf(&b, "prog %d ", id)
	}
	for _, id := range k.maps {
		fmt.Fprintf(&b, "map %d ", id)
	}
	for _, id := range k.links {
		fmt.Fprintf(&b, "link %d ", id)
	}
	return strings.TrimSpace(b.String())
}

func parseObjectIDs(s string) (kernelObjects, error) {
	var k kernelObjects
	f := strings.Fields(s)
	for i := 0; i+1 < len(f); i += 2 {
		n, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			return k, err
		}
		switch f[i] {
		case "prog":
			k.progs = append(k.progs, ebpf.ProgramID(n))
		case "map":
			k.maps = append(k.maps, ebpf.MapID(n))
		case "link":
			k.links = append(k.links, link.ID(n))
		}
	}
	return k, nil
}

// remaining lists which of k are still in the kernel: the programs by
// iterating every program id and matching our names, the maps and links by
// their ids.
func remaining(k kernelObjects) []string {
	var left []string
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			break
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, err := p.Info()
		p.Close()
		if err == nil && strings.HasPrefix(info.Name, "lp_") && slices.Contains(k.progs, id) {
			left = append(left, fmt.Sprintf("program %s (id %d)", info.Name, id))
		}
	}
	for _, id := range k.maps {
		if m, err := ebpf.NewMapFromID(id); err == nil {
			m.Close()
			left = append(left, fmt.Sprintf("map id %d", id))
		}
	}
	for _, id := range k.links {
		if l, err := link.NewFromID(id); err == nil {
			l.Close()
			left = append(left, fmt.Sprintf("link id %d", id))
		}
	}
	return left
}

// waitGone waits for the kernel to free k: a dead process's descriptors are
// released shortly after it exits.
func waitGone(t *testing.T, k kernelObjects) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := remaining(k)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still in the kernel: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openWithIDs opens a capture that the test closes, with its objects' ids.
func openWithIDs(t *testing.T) (*Capture, kernelObjects) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("eBPF needs root")
	}
	c, err := Open([]events.Port{{Port: 609, Protocol: 6}})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := objectIDs(c)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c, ids
}

func TestCloseLeavesNothing(t *testing.T) {
	c, ids := openWithIDs(t)
	if len(ids.progs) != 7 || len(ids.maps) != 5 || len(ids.links) != 7 {
		t.Fatalf("objects = %s, want 7 programs, 5 maps, 7 links", ids)
	}
	if left := remaining(ids); len(left) != 12+7 {
		t.Fatalf("before Close only %d of our objects are visible: %v", len(left), left)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ids)
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.SetPorts(nil); err == nil {
		t.Error("SetPorts after Close succeeded")
	}
}

// Run ends when its context does, and releases everything.
func TestRunReleasesOnCancel(t *testing.T) {
	c, ids := openWithIDs(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(events.Event) {}) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitGone(t, ids)
}

func TestKilledProcessLeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("eBPF needs root")
	}
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "LP_EBPF_HELPER=hold")
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child printed no ids: %v", err)
	}
	ids, err := parseObjectIDs(line)
	if err != nil || len(ids.progs) != 7 {
		t.Fatalf("child's ids %q: %v", line, err)
	}
	if left := remaining(ids); len(left) == 0 {
		t.Fatal("the child's objects are not visible while it runs")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var exitErr *exec.ExitError
	if err := child.Wait(); !errors.As(err, &exitErr) {
		t.Fatalf("child: %v", err)
	}
	waitGone(t, ids)
}

// Two captures at once (an upgrade overlapping the old extension) each load
// their own programs and each see every event.
func TestTwoCaptures(t *testing.T) {
	port := registryPort(t, 17, 611)
	ports := []events.Port{{Port: port, Protocol: 17}}
	_, first := requireCapture(t, ports)
	_, second := requireCapture(t, ports)
	s, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}); err != nil {
		t.Fatal(err)
	}
	mine := func(e events.Event) bool {
		return e.Action == events.Send && e.Remote.Port() == port && e.PID == int32(os.Getpid())
	}
	a := first.wait(t, "send (first capture)", mine)
	b := second.wait(t, "send (second capture)", mine)
	if a.Local != b.Local || a.Remote != b.Remote {
		t.Errorf("the captures disagree: %+v and %+v", a, b)
	}
}

// A ring that overflows loses no event silently: what it could not take is
// counted, so that delivered + dropped is what happened.
func TestDropsAreCounted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("eBPF needs root")
	}
	port := registryPort(t, 17, 611)
	c, err := Open([]events.Port{{Port: port, Protocol: 17}}, RingSize(os.Getpagesize()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Nobody reads the ring yet: a page holds a few dozen events.
	const sent = 200
	for range sent {
		if _, err := s.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}); err != nil {
			t.Fatal(err)
		}
	}
	dropped := c.Dropped()
	if dropped == 0 || dropped >= sent {
		t.Fatalf("Dropped = %d of %d sent into a one-page ring", dropped, sent)
	}
	var delivered int
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run delivers what the ring holds, then returns
	if err := c.Run(ctx, func(e events.Event) {
		if e.Action == events.Send && e.Remote.Port() == port && e.PID == int32(os.Getpid()) {
			delivered++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if got := uint64(delivered) + c.Dropped(); got != sent {
		t.Errorf("delivered %d + dropped %d = %d, want %d", delivered, c.Dropped(), got, sent)
	}
}
