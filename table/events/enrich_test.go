package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// fakeProcs describes the processes it holds and counts how often it is
// asked; a test changes them to play exits and reused pids.
type fakeProcs struct {
	mu    sync.Mutex
	procs map[int32]sockets.Process
	calls int
}

func (f *fakeProcs) Process(_ context.Context, pid int32) (sockets.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	p, ok := f.procs[pid]
	if !ok {
		return sockets.Process{UID: -1}, errors.New("no such process")
	}
	return p, nil
}

func (f *fakeProcs) set(pid int32, p *sockets.Process) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p == nil {
		delete(f.procs, pid)
	} else {
		f.procs[pid] = *p
	}
}

func (f *fakeProcs) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func TestEnricher(t *testing.T) {
	ghostd := sockets.Process{Name: "ghostd", Path: "/usr/sbin/ghostd", Cmdline: "ghostd -d", UID: 0, Username: "root"}
	other := sockets.Process{Name: "beacon", Path: "/tmp/beacon", Cmdline: "/tmp/beacon x", UID: 1000, Username: "alice"}
	users := func(uid int64) string { return map[int64]string{0: "root", 1000: "alice", 1001: "bob"}[uid] }
	withComm := func(e Event, comm string, uid int64) Event { e.Comm, e.UID = comm, uid; return e }
	base := ev(0, Connect, 42, "10.0.0.1:40000", "10.0.0.2:609")

	type step struct {
		advance time.Duration
		change  func(f *fakeProcs) // the host changes before the event
		ev      Event
		want    sockets.Process
		calls   int // reads of the process so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a burst reads the process once", []step{
			{ev: withComm(base, "ghostd", 0), want: ghostd, calls: 1},
			{advance: 500 * time.Millisecond, ev: withComm(base, "ghostd", 0), want: ghostd, calls: 1},
		}},
		{"the cache expires", []step{
			{ev: withComm(base, "ghostd", 0), want: ghostd, calls: 1},
			{advance: ProcessTTL, ev: withComm(base, "ghostd", 0), want: ghostd, calls: 2},
		}},
		{"a reused pid shows another comm", []step{
			{ev: withComm(base, "ghostd", 0), want: ghostd, calls: 1},
			{change: func(f *fakeProcs) { f.set(42, &other) }, ev: withComm(base, "beacon", 1000), want: other, calls: 2},
		}},
		{"a vanished process keeps the kernel's comm and uid", []step{
			{change: func(f *fakeProcs) { f.set(42, nil) }, ev: withComm(base, "beacon", 1001),
				want: sockets.Process{Name: "beacon", UID: 1001, Username: "bob"}, calls: 1},
		}},
		{"an unknown pid is not looked up", []step{
			{ev: withComm(ev(0, Accept, -1, "10.0.0.1:609", "10.0.0.2:40000"), "", -1), want: sockets.Process{UID: -1}, calls: 0},
		}},
		{"no uid anywhere", []step{
			{change: func(f *fakeProcs) { f.set(42, nil) }, ev: withComm(base, "x", -1), want: sockets.Process{Name: "x", UID: -1}, calls: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			f := &fakeProcs{procs: map[int32]sockets.Process{42: ghostd}}
			e := NewEnricher(f, clk.Now, users)
			for i, st := range tt.steps {
				clk.Advance(st.advance)
				if st.change != nil {
					st.change(f)
				}
				got := e.Describe(t.Context(), st.ev)
				if got != st.want || f.Calls() != st.calls {
					t.Errorf("step %d: got %+v after %d reads, want %+v after %d", i, got, f.Calls(), st.want, st.calls)
				}
			}
		})
	}
}

func TestEnricherSweepsExpiredEntries(t *testing.T) {
	clk := newClock()
	f := &fakeProcs{procs: map[int32]sockets.Process{}}
	e := NewEnricher(f, clk.Now, func(int64) string { return "" })
	for pid := range int32(sweepAt) {
		e.Describe(t.Context(), ev(0, Connect, pid, "10.0.0.1:1", "10.0.0.2:609"))
	}
	clk.Advance(ProcessTTL)
	e.Describe(t.Context(), ev(0, Connect, 1<<20, "10.0.0.1:1", "10.0.0.2:609"))
	if n := len(e.procs); n != 1 {
		t.Errorf("%d cache entries after the sweep, want 1", n)
	}
	for pid := range int32(sweepAt) { // none expires: the cache starts over
		e.Describe(t.Context(), ev(0, Connect, 2<<20+pid, "10.0.0.1:1", "10.0.0.2:609"))
	}
	if n := len(e.procs); n != 1 {
		t.Errorf("%d cache entries after a storm of new processes, want 1", n)
	}
}
