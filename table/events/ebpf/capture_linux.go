//go:build linux

package ebpf

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Capture is the eBPF capture. Open loads and attaches it; Run delivers its
// events; Run's end or Close detaches and frees everything. Nothing is
// pinned, so a process that dies any other way leaves nothing behind either:
// the kernel frees programs, links and maps with their last descriptor.
type Capture struct {
	objs    captureObjects
	links   []link.Link
	reader  *ringbuf.Reader
	cgroups *cgroupPaths
	source  sockets.Source

	mu      sync.Mutex // guards everything below and the maps' lifetime
	ports   portBitmap
	closed  bool
	dropped uint64 // the final count, once closed
}

var _ events.Capture = (*Capture)(nil)

// Open loads the programs, sets the watched ports and attaches the programs.
// When the host cannot run them the error is an *UnavailableError whose
// text says why.
func Open(ports []events.Port, opts ...Option) (*Capture, error) {
	o := options{ringBytes: 1 << 20}
	for _, opt := range opts {
		opt(&o)
	}
	if err := preflight(); err != nil {
		return nil, err
	}
	cgroupRoot, err := cgroup2Mount("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	spec, err := loadCapture()
	if err != nil {
		return nil, fmt.Errorf("eBPF objects: %w", err)
	}
	spec.Maps[captureMapLpEvents].MaxEntries = uint32(o.ringBytes)

	c := &Capture{cgroups: newCgroupPaths(cgroupRoot), source: sockets.Default()}
	if err := spec.LoadAndAssign(&c.objs, nil); err != nil {
		return nil, diagnose("loading the eBPF programs", err)
	}
	if err := c.setPorts(ports); err != nil {
		c.objs.Close()
		return nil, err
	}
	if err := c.attach(cgroupRoot); err != nil {
		c.detach()
		c.objs.Close()
		return nil, err
	}
	if c.reader, err = ringbuf.NewReader(c.objs.LpEvents); err != nil {
		c.detach()
		c.objs.Close()
		return nil, fmt.Errorf("eBPF ring buffer: %w", err)
	}
	c.seedListeners(context.Background())
	return c, nil
}

func (c *Capture) attach(cgroupRoot string) error {
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "inet_sock_set_state", Program: c.objs.LpTcpState})
	if err != nil {
		return diagnose("attaching to the sock:inet_sock_set_state tracepoint", err)
	}
	c.links = append(c.links, l)
	for _, h := range []struct {
		attach ebpf.AttachType
		prog   *ebpf.Program
	}{
		{ebpf.AttachCGroupInet4Bind, c.objs.LpBind4},
		{ebpf.AttachCGroupInet6Bind, c.objs.LpBind6},
		{ebpf.AttachCGroupInet4Connect, c.objs.LpConnect4},
		{ebpf.AttachCGroupInet6Connect, c.objs.LpConnect6},
		{ebpf.AttachCGroupUDP4Sendmsg, c.objs.LpSendmsg4},
		{ebpf.AttachCGroupUDP6Sendmsg, c.objs.LpSendmsg6},
	} {
		// AttachCgroup prefers a bpf_link and otherwise attaches with
		// BPF_F_ALLOW_MULTI: other programs on the cgroup keep running.
		l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroupRoot, Attach: h.attach, Program: h.prog})
		if err != nil {
			return diagnose("attaching to the cgroup v2 root "+cgroupRoot, err)
		}
		c.links = append(c.links, l)
	}
	return nil
}

func (c *Capture) detach() {
	for _, l := range c.links {
		_ = l.Close() // the descriptor is released even when detaching reports an error
	}
	c.links = nil
}

// Run delivers events until ctx is done or Close is called, then detaches
// the programs, delivers what the ring still holds, and frees everything.
func (c *Capture) Run(ctx context.Context, emit func(events.Event)) error {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		if !c.closed {
			c.detach() // no new events; Flush then hands over the last ones
			_ = c.reader.Flush()
		}
		c.mu.Unlock()
	})
	defer stop()
	var rec ringbuf.Record
	for {
		err := c.reader.ReadInto(&rec)
		switch {
		case err == nil:
			if ev, ok := c.decode(rec.RawSample); ok {
				emit(ev)
			}
		case errors.Is(err, ringbuf.ErrFlushed), errors.Is(err, os.ErrClosed):
			return nil
		default:
			return fmt.Errorf("eBPF ring buffer: %w", err)
		}
	}
}

// Close detaches the programs and frees the programs and maps. It may be
// called more than once, and concurrently with Run, which then returns.
func (c *Capture) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.detach()
	c.dropped = c.readDropped()
	c.closed = true
	return errors.Join(c.reader.Close(), c.objs.Close())
}

// Dropped counts the events the kernel could not put in the ring buffer
// because it was full.
func (c *Capture) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.dropped
	}
	return c.readDropped()
}

func (c *Capture) readDropped() uint64 {
	var perCPU []uint64
	if err := c.objs.LpDropped.Lookup(uint32(0), &perCPU); err != nil {
		return c.dropped
	}
	var n uint64
	for _, v := range perCPU {
		n += v
	}
	return n
}

// SetPorts replaces the watched ports in the kernel.
func (c *Capture) SetPorts(ports []events.Port) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("eBPF capture is closed")
	}
	err := c.setPorts(ports)
	c.mu.Unlock()
	if err == nil {
		c.seedListeners(context.Background())
	}
	return err
}

func (c *Capture) setPorts(ports []events.Port) error {
	next := bitmapOf(ports)
	for i := range next {
		if next[i] == c.ports[i] {
			continue
		}
		if err := c.objs.LpPorts.Put(uint32(i), next[i]); err != nil {
			return fmt.Errorf("eBPF port map: %w", err)
		}
		c.ports[i] = next[i]
	}
	return nil
}

// portBitmap mirrors the kernel's lp_ports: 1024 words for TCP, then 1024
// for UDP.
type portBitmap [2048]uint64

func bitmapOf(ports []events.Port) portBitmap {
	var b portBitmap
	for _, p := range ports {
		i := int(p.Port >> 6)
		switch p.Protocol {
		case 6:
		case 17:
			i += 1024
		default:
			continue
		}
		b[i] |= 1 << (p.Port & 63)
	}
	return b
}

func (b *portBitmap) has(port uint16, proto uint8) bool {
	i := int(port >> 6)
	if proto == 17 {
		i += 1024
	}
	return b[i]&(1<<(port&63)) != 0
}

// rawEvent is struct event of bpf/capture.c.
type rawEvent struct {
	TimeNS   uint64
	Cgroup   uint64
	NetNS    uint32
	PID      uint32
	UID      uint32
	LPort    uint16
	RPort    uint16
	Action   uint8
	Family   uint8
	Protocol uint8
	Flags    uint8
	LAddr    [16]byte
	RAddr    [16]byte
	Comm     [16]byte
	_        [4]byte
}

const flagNoOwner = 1

var actions = [...]events.Action{1: events.Bind, 2: events.Listen, 3: events.Connect, 4: events.Accept, 5: events.Send, 6: events.Close}

func (c *Capture) decode(b []byte) (events.Event, bool) {
	var r rawEvent
	if _, err := binary.Decode(b, binary.NativeEndian, &r); err != nil || int(r.Action) >= len(actions) || r.Action == 0 {
		return events.Event{}, false
	}
	ev := events.Event{
		Time:     monotonicToWall(r.TimeNS),
		Action:   actions[r.Action],
		PID:      int32(r.PID),
		Comm:     string(bytes.TrimRight(r.Comm[:], "\x00")),
		UID:      int64(r.UID),
		Family:   r.Family,
		Protocol: r.Protocol,
		NetNS:    uint64(r.NetNS),
		CgroupID: r.Cgroup,
		Source:   events.SourceEBPF,
	}
	if r.Flags&flagNoOwner != 0 {
		ev.PID, ev.UID, ev.Comm, ev.CgroupID = -1, -1, "", 0
	}
	ev.Cgroup = c.cgroups.path(ev.CgroupID)
	local, remote := addr(r.Family, &r.LAddr), addr(r.Family, &r.RAddr)
	switch ev.Action {
	case events.Bind:
		ev.Local = netip.AddrPortFrom(local, r.LPort)
	case events.Connect, events.Send:
		ev.Remote = netip.AddrPortFrom(remote, r.RPort)
	default:
		ev.Local = netip.AddrPortFrom(local, r.LPort)
		if ev.Action != events.Listen {
			ev.Remote = netip.AddrPortFrom(remote, r.RPort)
		}
	}
	return ev, true
}

func addr(family uint8, b *[16]byte) netip.Addr {
	if family == sockets.AFInet {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(*b)
}

// monotonicToWall turns bpf_ktime_get_ns (CLOCK_MONOTONIC) into wall-clock
// time, with the offset read now so that clock steps since start count.
func monotonicToWall(ns uint64) time.Time {
	var mono unix.Timespec
	wall := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return wall
	}
	return wall.Add(time.Duration(int64(ns) - mono.Nano()))
}
