package events

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// manyProcs describes any pid without a system call: pids below distinct
// share ten programs; each pid has its own command line.
type manyProcs struct{ cmdline int }

func (m manyProcs) Process(_ context.Context, pid int32) (sockets.Process, error) {
	prog := fmt.Sprintf("/usr/lib/legacy/daemon%d", pid%10)
	args := fmt.Sprintf(" --instance %d ", pid)
	return sockets.Process{Name: prog[strings.LastIndexByte(prog, '/')+1:], Path: prog,
		Cmdline: prog + args + strings.Repeat("x", max(0, m.cmdline-len(prog)-len(args))), UID: int64(pid % 5), Username: "svc"}, nil
}

// BenchmarkMillionEvents pushes one million events through the path the
// manager's emit takes (classify, describe the process, store) with the
// default limits, one event every millisecond of the injected clock, and
// reports the heap in use after a GC with the store still held, and the
// rows kept. "typical": a thousand processes, each with its own 100-byte
// command line, on a few ports and remote hosts; "distinct": every event
// from a new process with a 300-byte command line, so that interning saves
// nothing; "long": the same with command lines of MaxCmdline bytes, where
// TextBudget bounds the store.
//
//	go test -run '^$' -bench MillionEvents -benchtime 1x ./table/events/
func BenchmarkMillionEvents(b *testing.B) {
	reg, err := registry.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	ports := PortsOf(reg)
	for _, w := range []struct {
		name    string
		procs   int32
		cmdline int
	}{
		{"typical", 1000, 100},
		{"distinct", 1 << 30, 300},
		{"long", 1 << 30, MaxCmdline},
	} {
		b.Run(w.name, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				now := t0
				clk := func() time.Time { return now }
				s := NewStore(StoreConfig{Now: clk})
				e := NewEnricher(manyProcs{w.cmdline}, clk, func(int64) string { return "svc" })
				const n = 1_000_000
				for i := range n {
					now = t0.Add(time.Duration(i) * time.Millisecond)
					p := ports[i%len(ports)]
					pid := int32(i) % w.procs
					ev := Event{
						Time: now, Action: Connect, PID: pid, Comm: "daemon", UID: 0, Family: 2, Protocol: p.Protocol,
						Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), uint16(32768+i%28000)),
						Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), p.Port),
						NetNS:  4026531840, Cgroup: fmt.Sprintf("/system.slice/daemon%d.service", pid%10), Source: SourceEBPF,
					}
					port, dir, ok := Classify(ev, reg)
					if !ok {
						b.Fatalf("event %d not on a registry port", i)
					}
					s.Add(ev, e.Describe(b.Context(), ev), port, dir)
				}
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				st := s.Stats()
				runtime.KeepAlive(s)
				runtime.KeepAlive(e)
				b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MB")
				b.ReportMetric(float64(after.HeapInuse-min(after.HeapInuse, before.HeapInuse))/(1<<20), "store-MB")
				b.ReportMetric(float64(st.Rows), "rows")
				b.ReportMetric(float64(st.Evicted), "evicted")
			}
		})
	}
}

// BenchmarkStoreAdd is the store's cost per event once it is full: a new
// row, an eviction, the fold index.
func BenchmarkStoreAdd(b *testing.B) {
	now := t0
	s := NewStore(StoreConfig{Now: func() time.Time { return now }})
	p := sockets.Process{Name: "daemon", Path: "/usr/sbin/daemon", Cmdline: "daemon -d", UID: 0, Username: "root"}
	i := 0
	for b.Loop() {
		now = t0.Add(time.Duration(i) * time.Microsecond)
		ev := Event{Time: now, Action: Connect, PID: 42, Family: 2, Protocol: 6, Source: SourceEBPF,
			Local:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), uint16(i)),
			Remote: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, 1}), 609)}
		s.Add(ev, p, 609, registry.Outbound)
		i++
	}
}
