//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	genosquery "github.com/osquery/osquery-go/gen/osquery"

	"github.com/legacy-ports/legacy-ports/internal/osqtest"
	"github.com/legacy-ports/legacy-ports/registry"
)

// eventsRSSResult is the extension's memory after it has taken in a flood
// of events with its default limits.
type eventsRSSResult struct {
	na                string
	port              uint16
	sent              int
	source            string
	dropped, evicted  uint64
	idleRSS, rss, hwm uint64
	elapsed           time.Duration
}

// measureEventsRSS starts the real extension (default flags: eBPF where it
// can run, 3,600 s expiry, 50,000 rows) against a fake core, sends n UDP
// datagrams to a free registry port, each to another loopback address so
// that no two fold into one row, and reads the extension's memory and its
// own count of what the kernel dropped and the store evicted.
func measureEventsRSS(ctx context.Context, sp spawner, bin string, reg *registry.Registry, n int) (eventsRSSResult, error) {
	r := eventsRSSResult{sent: n}
	if r.port = freeRegistryUDPPort(reg); r.port == 0 {
		return r, errors.New("no free registry UDP port for the events flood")
	}
	core, err := osqtest.Start()
	if err != nil {
		return r, err
	}
	defer core.Stop()
	cmd, stderr, stop, err := startExtension(ctx, sp, bin, "--socket", core.Path, "--timeout", "3", "--interval", "3")
	if err != nil {
		return r, err
	}
	defer stop()
	fail := func(err error) (eventsRSSResult, error) {
		return r, fmt.Errorf("%w; extension stderr: %s", err, firstLine(stderr.String()))
	}
	ext, err := core.WaitRegistered(20 * time.Second)
	if err != nil {
		return fail(err)
	}
	info := func() (map[string]string, error) {
		client, closeClient, err := core.ExtensionClient(ext.UUID, 10*time.Second)
		if err != nil {
			return nil, err
		}
		defer closeClient()
		resp, err := client.Call(ctx, "table", "legacy_ports_info", genosquery.ExtensionPluginRequest{"action": "generate", "context": "{}"})
		if err != nil {
			return nil, err
		}
		if resp.Status == nil || resp.Status.Code != 0 || len(resp.Response) != 1 {
			return nil, fmt.Errorf("legacy_ports_info: status %v, %d rows", resp.Status, len(resp.Response))
		}
		return resp.Response[0], nil
	}
	row, err := info()
	if err != nil {
		return fail(err)
	}
	if r.source = row["events_source"]; r.source != "ebpf" {
		r.na = "n/a (events_source " + r.source + ": " + row["events_reason"] + ")"
		return r, nil
	}
	pid := cmd.Process.Pid
	if r.idleRSS, _, err = memory(pid); err != nil {
		return fail(err)
	}
	s, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	msg := []byte("x")
	start := time.Now()
	for i := range n {
		a := i + 1 // 127.0.0.1 upwards, one address per datagram
		dst := &net.UDPAddr{IP: net.IPv4(127, byte(a>>16), byte(a>>8), byte(a)), Port: int(r.port)}
		_, _ = s.WriteTo(msg, dst)
		if i%65536 == 0 && ctx.Err() != nil {
			return fail(ctx.Err())
		}
	}
	r.elapsed = time.Since(start)
	// Let the extension drain its ring and settle.
	time.Sleep(2 * time.Second)
	if row, err = info(); err != nil {
		return fail(err)
	}
	r.dropped, _ = strconv.ParseUint(row["events_dropped"], 10, 64)
	r.evicted, _ = strconv.ParseUint(row["events_evicted"], 10, 64)
	if r.rss, r.hwm, err = memory(pid); err != nil {
		return fail(err)
	}
	return r, nil
}

func (r *report) printEventsRSS() {
	e := r.eventsRSS
	if e.na != "" {
		fmt.Fprintf(r.out, "extension with events: %s\n", e.na)
		return
	}
	fmt.Fprintf(r.out, "extension with events (%s, default limits): %d datagrams to %d/udp, each to another loopback address, in %s; the kernel dropped %d, the store evicted %d; VmRSS %s idle, %s after (peak %s)\n",
		e.source, e.sent, e.port, e.elapsed.Round(time.Millisecond), e.dropped, e.evicted, mb(e.idleRSS), mb(e.rss), mb(e.hwm))
}
