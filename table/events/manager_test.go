package events

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
	"github.com/legacy-ports/legacy-ports/table/sockets/sockettest"
)

// fakeCapture is a Capture that emits what a test sends it.
type fakeCapture struct {
	runErr   error // Run returns it at once
	in       chan Event
	ack      chan struct{}
	returned atomic.Bool
	dropped  atomic.Uint64

	mu    sync.Mutex
	ports [][]Port
}

func newFakeCapture() *fakeCapture {
	return &fakeCapture{in: make(chan Event), ack: make(chan struct{})}
}

func (f *fakeCapture) Run(ctx context.Context, emit func(Event)) error {
	defer f.returned.Store(true)
	if f.runErr != nil {
		return f.runErr
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-f.in:
			emit(e)
			f.ack <- struct{}{}
		}
	}
}

// send has the capture emit e and waits until the manager has recorded it.
func (f *fakeCapture) send(e Event) {
	f.in <- e
	<-f.ack
}

func (f *fakeCapture) SetPorts(ports []Port) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ports = append(f.ports, slices.Clone(ports))
	return nil
}

func (f *fakeCapture) setPortsCalls() [][]Port {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ports)
}

func (f *fakeCapture) Dropped() uint64 { return f.dropped.Load() }

// procs for the manager's enricher: pid 42 is ghostd.
func managerSource() *sockettest.Static {
	return &sockettest.Static{Procs: map[int32]sockets.Process{42: someProc}}
}

// startManager starts a manager and stops it when the test ends, checking
// that Wait returns only after the capture's Run did.
func startManager(t *testing.T, c Config, fc *fakeCapture) *Manager {
	t.Helper()
	m, err := NewManager(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	m.Start(ctx)
	t.Cleanup(func() {
		cancel()
		if err := m.Wait(); err != nil {
			t.Errorf("Wait: %v", err)
		}
		if fc != nil && !fc.returned.Load() {
			t.Error("Wait returned before the capture's Run")
		}
	})
	return m
}

func TestManagerChoosesTheCapture(t *testing.T) {
	tests := []struct {
		name   string
		mode   string
		open   func(fc *fakeCapture) func() (Capture, error)
		source string
		reason string
		fake   bool // the fake eBPF capture is the one in use
	}{
		{"eBPF opens", "", func(fc *fakeCapture) func() (Capture, error) {
			return func() (Capture, error) { return fc, nil }
		}, StateEBPF, "", true},
		{"eBPF cannot open", ModeAuto, func(*fakeCapture) func() (Capture, error) {
			return func() (Capture, error) { return nil, errors.New("no BTF at /sys/kernel/btf/vmlinux") }
		}, StatePoll, "eBPF: no BTF at /sys/kernel/btf/vmlinux", false},
		{"the opener gives nothing", ModeAuto, func(*fakeCapture) func() (Capture, error) {
			return func() (Capture, error) { return nil, nil }
		}, StatePoll, "eBPF: no capture was opened", false},
		{"no eBPF on this platform", ModeAuto, func(*fakeCapture) func() (Capture, error) { return nil }, StatePoll, "not available on this platform", false},
		{"poll asked for", ModePoll, func(fc *fakeCapture) func() (Capture, error) {
			return func() (Capture, error) { return fc, nil }
		}, StatePoll, "poll source was asked for", false},
		{"off", ModeOff, func(fc *fakeCapture) func() (Capture, error) {
			return func() (Capture, error) { return fc, nil }
		}, StateOff, "turned off", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeCapture()
			reg := testRegistry(t, false)
			var used *fakeCapture
			if tt.fake {
				used = fc
			}
			var opened int
			open := tt.open(fc)
			if open != nil {
				open = func() (Capture, error) { opened++; return tt.open(fc)() }
			}
			m := startManager(t, Config{Mode: tt.mode, OpenEBPF: open, Source: managerSource(),
				Registry: func() *registry.Registry { return reg }, Now: newClock().Now}, used)
			info := m.Info()
			if info.Source != tt.source || !strings.Contains(info.Reason, tt.reason) || (tt.reason == "") != (info.Reason == "") {
				t.Errorf("Info = %+v, want source %s, reason with %q", info, tt.source, tt.reason)
			}
			if wantOpened := tt.mode != ModePoll && tt.mode != ModeOff && open != nil; wantOpened != (opened == 1) {
				t.Errorf("eBPF opened %d times", opened)
			}
			if got := fc.setPortsCalls(); tt.fake != (len(got) == 1 && slices.Equal(got[0], PortsOf(reg))) {
				t.Errorf("SetPorts calls on the eBPF capture: %v", got)
			}
		})
	}
}

func TestManagerConfigErrors(t *testing.T) {
	reg := func() *registry.Registry { return nil }
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"unknown mode", Config{Mode: "kernel", Source: managerSource(), Registry: reg}, `unknown events mode "kernel" (want auto, poll or off)`},
		{"no source", Config{Registry: reg}, "needs a Source"},
		{"no registry", Config{Source: managerSource()}, "needs a Source and a Registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewManager(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestManagerRecordsAndQueries(t *testing.T) {
	fc := newFakeCapture()
	reg := testRegistry(t, false)
	clk := newClock()
	m := startManager(t, Config{OpenEBPF: func() (Capture, error) { return fc, nil }, Source: managerSource(),
		Registry: func() *registry.Registry { return reg }, Now: clk.Now}, fc)

	connect := ev(0, Connect, 42, "10.0.0.1:40000", "10.0.0.2:609")
	connect.Comm = "ghostd"
	fc.send(connect)
	fc.send(ev(0, Connect, 42, "10.0.0.1:40000", "10.0.0.2:443")) // not a registry port
	vanished := ev(1, Accept, 99, "10.0.0.1:1033", "10.0.0.3:40001")
	vanished.Comm, vanished.UID = "inetd-child", 0
	fc.send(vanished)
	fc.dropped.Store(7)

	rows := m.Query(Query{})
	if len(rows) != 2 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	if r := rows[0]; r.ProcessPath != "/usr/sbin/ghostd" || r.Port != 609 || r.Direction != registry.Outbound || r.Verdict != registry.Ghost || r.Entry.Service != "npmp-trap" {
		t.Errorf("row 0: %+v", r)
	}
	if r := rows[1]; r.ProcessName != "inetd-child" || r.ProcessPath != "" || r.UID != 0 || r.Port != 1033 || r.Direction != registry.Inbound ||
		!strings.HasPrefix(r.Reason, "inetd-child accepted a connection on 1033/tcp") {
		t.Errorf("row 1: %+v", r)
	}
	if rows := m.Query(Query{PIDs: []int32{99}}); len(rows) != 1 || rows[0].PID != 99 {
		t.Errorf("pid 99: %+v", rows)
	}
	info := m.Info()
	if info.Dropped != 7 || info.Store.Rows != 2 || info.Store.Evicted != 0 {
		t.Errorf("Info = %+v", info)
	}
}

func TestManagerFallsBackToPoll(t *testing.T) {
	fc := newFakeCapture()
	fc.runErr = errors.New("ring buffer: bad file descriptor")
	fc.dropped.Store(3)
	src := managerSource()
	reg := testRegistry(t, false)
	var warn syncBuffer
	m := startManager(t, Config{OpenEBPF: func() (Capture, error) { return fc, nil }, Source: src,
		Registry: func() *registry.Registry { return reg }, Now: newClock().Now, Warn: &warn}, fc)
	for src.SocketCalls() == 0 { // the poll capture has begun
		runtime.Gosched()
	}
	info := m.Info()
	if info.Source != StatePoll || info.Reason != "eBPF failed: ring buffer: bad file descriptor" || info.Dropped != 3 {
		t.Errorf("Info = %+v", info)
	}
	if !strings.Contains(warn.String(), "polling instead: ring buffer") {
		t.Errorf("warnings %q", warn.String())
	}
}

func TestManagerRefreshesPorts(t *testing.T) {
	fc := newFakeCapture()
	old, next := testRegistry(t, false), registry.New("2026-02-02", []*registry.Entry{{
		PortLow: 7777, PortHigh: 7777, Transports: []uint8{registry.TCP}, Service: "acme", Category: registry.DeadProduct,
	}})
	var current atomic.Pointer[registry.Registry]
	current.Store(old)
	asked := atomic.Int32{}
	c := Config{OpenEBPF: func() (Capture, error) { return fc, nil }, Source: managerSource(), Now: newClock().Now,
		Registry: func() *registry.Registry { asked.Add(1); return current.Load() }}

	t.Run("on a query", func(t *testing.T) {
		c.Refresh = 1 << 62 // the ticker never fires
		fc = newFakeCapture()
		c.OpenEBPF = func() (Capture, error) { return fc, nil }
		current.Store(old)
		m := startManager(t, c, fc)
		m.Query(Query{})
		current.Store(next)
		m.Query(Query{})
		m.Query(Query{})
		want := [][]Port{PortsOf(old), {{7777, registry.TCP}}}
		if got := fc.setPortsCalls(); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("SetPorts calls %v, want %v", got, want)
		}
	})
	t.Run("on the ticker", func(t *testing.T) {
		c.Refresh = 1 // as fast as it can
		fc = newFakeCapture()
		c.OpenEBPF = func() (Capture, error) { return fc, nil }
		current.Store(old)
		startManager(t, c, fc)
		current.Store(next)
		for len(fc.setPortsCalls()) < 2 {
			runtime.Gosched()
		}
		before := asked.Load()
		for asked.Load() < before+3 { // more ticks, nothing new
			runtime.Gosched()
		}
		if got := fc.setPortsCalls(); len(got) != 2 || !slices.Equal(got[1], []Port{{7777, registry.TCP}}) {
			t.Errorf("SetPorts calls %v", got)
		}
	})
}

func TestManagerSubscriptions(t *testing.T) {
	fc := newFakeCapture()
	reg := testRegistry(t, false)
	m := startManager(t, Config{OpenEBPF: func() (Capture, error) { return fc, nil }, Source: managerSource(),
		Registry: func() *registry.Registry { return reg }, Now: newClock().Now}, fc)
	slow := m.Subscribe(2)
	fast := m.Subscribe(100)
	for range 5 {
		fc.send(ev(0, Connect, 42, "10.0.0.1:40000", "10.0.0.2:609")) // folds: one row, counts 1 to 5
	}
	fc.send(ev(0, Connect, 42, "10.0.0.1:40000", "10.0.0.2:443")) // not a registry port: not streamed
	if slow.Dropped() != 3 || len(slow.C) != 2 || fast.Dropped() != 0 || len(fast.C) != 5 {
		t.Errorf("slow: %d queued, %d dropped; fast: %d queued, %d dropped", len(slow.C), slow.Dropped(), len(fast.C), fast.Dropped())
	}
	var counts []uint32
	for range 5 {
		r := <-fast.C
		if r.Verdict != registry.Ghost || r.EID != FormatEID(1) || r.ProcessName != "ghostd" {
			t.Errorf("streamed %+v", r)
		}
		counts = append(counts, r.Count)
	}
	if !slices.Equal(counts, []uint32{1, 2, 3, 4, 5}) {
		t.Errorf("counts %v", counts)
	}
	slow.Close()
	slow.Close()
	fc.send(ev(0, Listen, 42, "0.0.0.0:1033", "0.0.0.0:0"))
	n := 0
	for range slow.C {
		n++
	}
	if n != 2 {
		t.Errorf("%d rows left in the closed subscription, want the 2 queued before", n)
	}
	if r := <-fast.C; r.Action != Listen {
		t.Errorf("fast got %+v after slow closed", r)
	}
	fast.Close()
}

// syncBuffer is a strings.Builder safe for the manager's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
