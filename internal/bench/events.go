//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	cebpf "github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/events/ebpf"
)

// eventsConfig sizes the eBPF capture's measurements.
type eventsConfig struct {
	cycles, runs, burst int
}

func (c *eventsConfig) flags() {
	flag.IntVar(&c.cycles, "event-cycles", 20000, "connect/accept/close cycles per run, with and without the eBPF programs attached")
	flag.IntVar(&c.runs, "event-runs", 5, "timed runs of the cycles, with and without, interleaved")
	flag.IntVar(&c.burst, "event-burst", 200000, "UDP datagrams sent to a registry port as fast as possible, to overflow the ring")
}

// eventsResult is what the eBPF capture costs, and how it counts what it
// cannot deliver.
type eventsResult struct {
	na            string // why it was not measured
	port          uint16 // the unwatched port of the cycles
	without, with []time.Duration
	// From one more run with the kernel's BPF statistics on (they cost time
	// themselves, so the timed runs go without): our programs' runs and
	// their time in all.
	progRuns uint64
	progTime time.Duration
	bursts   []burstResult
}

type burstResult struct {
	ringBytes                     int
	port                          uint16
	generated, delivered, dropped uint64
	elapsed                       time.Duration
}

// measureEvents times cfg.cycles loopback connect/accept/close cycles on a
// port outside the registry, in runs alternating without and with the
// capture attached (watching the registry's ports), then sends bursts of
// datagrams to a registry port, with a tiny ring and the default one, and
// checks that every event was either delivered or counted as dropped.
func measureEvents(ctx context.Context, cfg eventsConfig, reg *registry.Registry) (eventsResult, error) {
	var res eventsResult
	if os.Geteuid() != 0 {
		res.na = "n/a (eBPF needs root)"
		return res, nil
	}
	watched := watchedPorts(reg)
	probe, err := ebpf.Open(watched)
	if err != nil {
		var unavail *ebpf.UnavailableError
		if errors.As(err, &unavail) {
			res.na = "n/a (" + err.Error() + ")"
			return res, nil
		}
		return res, err
	}
	probe.Close()

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	defer l.Close()
	res.port = uint16(l.Addr().(*net.TCPAddr).Port)
	if _, ok := reg.Lookup(res.port, 6); ok {
		return res, fmt.Errorf("the kernel gave the cycles' listener registry port %d", res.port)
	}
	if _, err := cycles(ctx, l, cfg.cycles/10); err != nil { // warm up
		return res, err
	}
	for i := range cfg.runs {
		progress("events: run %d/%d, %d cycles without and with the eBPF programs", i+1, cfg.runs, cfg.cycles)
		d, err := cycles(ctx, l, cfg.cycles)
		if err != nil {
			return res, err
		}
		res.without = append(res.without, d)
		c, err := ebpf.Open(watched)
		if err != nil {
			return res, err
		}
		d, err = cycles(ctx, l, cfg.cycles)
		c.Close()
		if err != nil {
			return res, err
		}
		res.with = append(res.with, d)
	}

	if res.progRuns, res.progTime, err = programCost(ctx, l, cfg.cycles, watched); err != nil {
		return res, err
	}

	for _, ring := range []int{os.Getpagesize(), 1 << 20} {
		progress("events: burst of %d datagrams, ring of %d bytes", cfg.burst, ring)
		b, err := burst(ctx, reg, ring, cfg.burst)
		if err != nil {
			return res, err
		}
		res.bursts = append(res.bursts, b)
	}
	return res, nil
}

// programCost runs the cycles once more with the capture attached and the
// kernel's BPF statistics on, and returns how often our programs ran and
// for how long in all.
func programCost(ctx context.Context, l net.Listener, n int, watched []events.Port) (uint64, time.Duration, error) {
	stats, err := cebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return 0, 0, fmt.Errorf("BPF statistics: %w", err)
	}
	defer stats.Close()
	c, err := ebpf.Open(watched)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	runs0, time0 := ourPrograms()
	if _, err := cycles(ctx, l, n); err != nil {
		return 0, 0, err
	}
	runs1, time1 := ourPrograms()
	return runs1 - runs0, time1 - time0, nil
}

// ourPrograms sums the statistics of every loaded program named lp_*.
func ourPrograms() (runs uint64, total time.Duration) {
	for id := cebpf.ProgramID(0); ; {
		next, err := cebpf.ProgramGetNextID(id)
		if err != nil {
			return runs, total
		}
		id = next
		p, err := cebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, ierr := p.Info()
		st, serr := p.Stats()
		p.Close()
		if ierr == nil && serr == nil && strings.HasPrefix(info.Name, "lp_") {
			runs += st.RunCount
			total += st.Runtime
		}
	}
}

func watchedPorts(reg *registry.Registry) []events.Port {
	var ports []events.Port
	for _, e := range reg.Entries() {
		for p := int(e.PortLow); p <= int(e.PortHigh); p++ {
			for _, proto := range e.Transports {
				ports = append(ports, events.Port{Port: uint16(p), Protocol: proto})
			}
		}
	}
	return ports
}

// cycles times n connections to l, each accepted and both ends closed. The
// client closes with RST: n TIME_WAIT sockets would exhaust the ephemeral
// ports over the runs.
func cycles(ctx context.Context, l net.Listener, n int) (time.Duration, error) {
	start := time.Now()
	for i := range n {
		if i%1000 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
		c, err := net.Dial("tcp4", l.Addr().String())
		if err != nil {
			return 0, err
		}
		s, err := l.Accept()
		if err != nil {
			c.Close()
			return 0, err
		}
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
		s.Close()
	}
	return time.Since(start), nil
}

// burst sends n datagrams to a free registry UDP port with a capture whose
// ring holds ringBytes, waits until every event is accounted for, and
// returns the counts.
func burst(ctx context.Context, reg *registry.Registry, ringBytes, n int) (burstResult, error) {
	b := burstResult{ringBytes: ringBytes}
	if b.port = freeRegistryUDPPort(reg); b.port == 0 {
		return b, errors.New("no free registry UDP port for the burst")
	}
	c, err := ebpf.Open([]events.Port{{Port: b.port, Protocol: 17}}, ebpf.RingSize(ringBytes))
	if err != nil {
		return b, err
	}
	var delivered atomic.Uint64
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	self := int32(os.Getpid())
	go func() {
		done <- c.Run(runCtx, func(e events.Event) {
			if e.Action == events.Send && e.Remote.Port() == b.port && e.PID == self {
				delivered.Add(1)
			}
		})
	}()
	s, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		stop()
		return b, errors.Join(err, <-done)
	}
	defer s.Close()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(b.port)}
	msg := []byte("x")
	start := time.Now()
	for range n {
		// The hook runs before the datagram is routed: a send that then
		// fails (nothing listens) still made its event.
		_, _ = s.WriteTo(msg, dst)
	}
	b.elapsed = time.Since(start)
	b.generated = uint64(n)
	// Run delivers what the ring still holds before it returns.
	deadline := time.Now().Add(10 * time.Second)
	for delivered.Load()+c.Dropped() < b.generated && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	err = <-done
	b.delivered, b.dropped = delivered.Load(), c.Dropped()
	return b, err
}

// freeRegistryUDPPort is the first registry UDP port nothing holds on
// loopback, or 0.
func freeRegistryUDPPort(reg *registry.Registry) uint16 {
	for _, e := range reg.Entries() {
		if e.HasTransport(17) && free("udp4", e.PortLow) {
			return e.PortLow
		}
	}
	return 0
}

func (r *report) printEvents() {
	w, e := r.out, r.events
	fmt.Fprintln(w, "eBPF capture (table/events/ebpf), watching the registry's ports:")
	if e.na != "" {
		fmt.Fprintf(w, "  %s\n", e.na)
		return
	}
	fmt.Fprintf(w, "  %d loopback connect/accept/close cycles on port %d (not in the registry), %d runs each, interleaved:\n", r.cfg.events.cycles, e.port, len(e.with))
	for _, row := range []struct {
		name  string
		times []time.Duration
	}{{"without", e.without}, {"with the programs attached", e.with}} {
		s := summarize(row.times)
		fmt.Fprintf(w, "    %-27s median %s [%s–%s], %.1f µs per cycle\n", row.name, ms(s.median), num(s.p10), num(s.p90),
			float64(s.median.Microseconds())/float64(r.cfg.events.cycles))
	}
	if e.progRuns > 0 {
		fmt.Fprintf(w, "    in the kernel (one more run, BPF statistics on): our programs ran %d times, %.0f ns each, %.2f µs per cycle\n",
			e.progRuns, float64(e.progTime.Nanoseconds())/float64(e.progRuns), float64(e.progTime.Nanoseconds())/1e3/float64(r.cfg.events.cycles))
	}
	for _, b := range e.bursts {
		fmt.Fprintf(w, "  burst: %d datagrams to %d/udp in %s, ring %s: %d delivered + %d dropped = %d\n",
			b.generated, b.port, b.elapsed.Round(time.Millisecond), ringSize(b.ringBytes), b.delivered, b.dropped, b.delivered+b.dropped)
	}
}

func ringSize(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + " MiB"
	}
	return strconv.Itoa(n>>10) + " KiB"
}

// eventTargets prints issue 9's targets for the capture.
func (r *report) eventTargets(line func(verdict, what, detail string)) {
	e := r.events
	if e.na != "" {
		line("n/a", "eBPF attached: cycles ≤ 1.05 × without", e.na)
		return
	}
	with, without := summarize(e.with).median, summarize(e.without).median
	got := float64(with) / float64(without)
	line(passFail(got <= 1.05), fmt.Sprintf("eBPF attached: %d cycles ≤ 1.05 × without", r.cfg.events.cycles),
		fmt.Sprintf("%s / %s ms = %.3f", num(with), num(without), got))
	for _, b := range e.bursts {
		line(passFail(b.delivered+b.dropped == b.generated), "burst, ring "+ringSize(b.ringBytes)+": delivered + dropped = sent",
			fmt.Sprintf("%d + %d = %d of %d", b.delivered, b.dropped, b.delivered+b.dropped, b.generated))
	}
}
