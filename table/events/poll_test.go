package events

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
	"github.com/legacy-ports/legacy-ports/table/sockets/sockettest"
)

func sock(proto uint8, local, remote, state string, inode uint64) sockets.Socket {
	s := sockets.Socket{Family: 2, Protocol: proto, Local: ap(local), Remote: ap(remote), State: state, Inode: inode, UID: 1000, NetNS: 7}
	if s.Local.Addr().Is6() {
		s.Family = 10
	}
	return s
}

// The sockets the poll tests start from, on the ports of testRegistry.
var (
	tcpListener = sock(registry.TCP, "0.0.0.0:1033", "0.0.0.0:0", "LISTEN", 1)
	accepted    = sock(registry.TCP, "10.0.0.1:1033", "10.0.0.9:50000", "ESTABLISHED", 2)
	outbound    = sock(registry.TCP, "10.0.0.1:50001", "10.0.0.8:609", "ESTABLISHED", 3)
	udpBound    = sock(registry.UDP, "0.0.0.0:672", "0.0.0.0:0", "", 4)
	udpServer   = sock(registry.UDP, "10.0.0.1:609", "10.0.0.7:50002", "", 5)
	offList     = sock(registry.TCP, "0.0.0.0:22", "0.0.0.0:0", "LISTEN", 6)
	offConn     = sock(registry.TCP, "10.0.0.1:22", "10.0.0.5:50003", "ESTABLISHED", 7)
	timeWait    = sock(registry.TCP, "10.0.0.1:50001", "10.0.0.8:609", "TIME_WAIT", 0)
)

// summary renders events compactly for comparison.
func summary(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s %d %v>%v", e.Action, e.PID, e.Local, e.Remote))
	}
	slices.Sort(out)
	return out
}

func TestPoll(t *testing.T) {
	owned := map[uint64][]sockets.Owner{
		1: {{PID: 10, FD: 3}, {PID: 11, FD: 3}}, // a listener shared after fork
		2: {{PID: 10, FD: 4}}, 3: {{PID: 20, FD: 5}}, 4: {{PID: 30, FD: 3}}, 5: {{PID: 31, FD: 3}},
	}
	type round struct {
		socks  []sockets.Socket
		err    error
		ports  []Port // SetPorts before this poll when not nil
		want   []string
		owners [][]uint64 // inodes of each Owners call of this poll
	}
	tests := []struct {
		name   string
		rounds []round
	}{
		{"each socket once, then its close", []round{
			{socks: []sockets.Socket{tcpListener, accepted, outbound, udpBound, udpServer, offList, offConn},
				want: []string{
					"accept 10 10.0.0.1:1033>10.0.0.9:50000", "accept 31 10.0.0.1:609>10.0.0.7:50002",
					"bind 30 0.0.0.0:672>0.0.0.0:0", "connect 20 10.0.0.1:50001>10.0.0.8:609",
					"listen 10 0.0.0.0:1033>0.0.0.0:0", "listen 11 0.0.0.0:1033>0.0.0.0:0",
				},
				owners: [][]uint64{{1, 2, 3, 4, 5}}},
			{socks: []sockets.Socket{tcpListener, accepted, outbound, udpBound, udpServer, offList, offConn}},
			{socks: []sockets.Socket{tcpListener, outbound, udpBound, udpServer},
				want: []string{"close 10 10.0.0.1:1033>10.0.0.9:50000"}},
		}},
		{"TIME_WAIT is the same connection, closed when it goes", []round{
			{socks: []sockets.Socket{outbound}, want: []string{"connect 20 10.0.0.1:50001>10.0.0.8:609"}, owners: [][]uint64{{3}}},
			{socks: []sockets.Socket{timeWait}},
			{want: []string{"close 20 10.0.0.1:50001>10.0.0.8:609"}},
		}},
		{"a connection seen only in TIME_WAIT has no owner", []round{
			{socks: []sockets.Socket{timeWait}, want: []string{"connect -1 10.0.0.1:50001>10.0.0.8:609"}},
		}},
		{"owners are asked only for new sockets", []round{
			{socks: []sockets.Socket{tcpListener}, want: []string{"listen 10 0.0.0.0:1033>0.0.0.0:0", "listen 11 0.0.0.0:1033>0.0.0.0:0"}, owners: [][]uint64{{1}}},
			{socks: []sockets.Socket{tcpListener, outbound}, want: []string{"connect 20 10.0.0.1:50001>10.0.0.8:609"}, owners: [][]uint64{{3}}},
		}},
		{"a failed listing closes nothing", []round{
			{socks: []sockets.Socket{tcpListener, outbound}, want: []string{
				"connect 20 10.0.0.1:50001>10.0.0.8:609", "listen 10 0.0.0.0:1033>0.0.0.0:0", "listen 11 0.0.0.0:1033>0.0.0.0:0",
			}, owners: [][]uint64{{1, 3}}},
			{socks: []sockets.Socket{tcpListener}, err: errors.New("netlink: no tcp6")},
			{socks: []sockets.Socket{tcpListener}, want: []string{"close 20 10.0.0.1:50001>10.0.0.8:609"}},
		}},
		{"a port no longer watched is forgotten, a new one is seen", []round{
			{socks: []sockets.Socket{tcpListener, offList}, want: []string{"listen 10 0.0.0.0:1033>0.0.0.0:0", "listen 11 0.0.0.0:1033>0.0.0.0:0"}, owners: [][]uint64{{1}}},
			{socks: []sockets.Socket{tcpListener, offList}, ports: []Port{{22, registry.TCP}}, want: []string{"listen -1 0.0.0.0:22>0.0.0.0:0"}, owners: [][]uint64{{6}}},
		}},
		{"an accepted connection whose listener is gone is not closed", []round{
			{socks: []sockets.Socket{tcpListener, accepted}, want: []string{
				"accept 10 10.0.0.1:1033>10.0.0.9:50000", "listen 10 0.0.0.0:1033>0.0.0.0:0", "listen 11 0.0.0.0:1033>0.0.0.0:0",
			}, owners: [][]uint64{{1, 2}}},
			{socks: []sockets.Socket{accepted}, want: []string{"close 10 0.0.0.0:1033>0.0.0.0:0", "close 11 0.0.0.0:1033>0.0.0.0:0"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			var warn strings.Builder
			src := &sockettest.Static{Owned: owned}
			p := NewPoll(src, 0, clk.Now, &warn)
			if err := p.SetPorts(PortsOf(testRegistry(t, false))); err != nil {
				t.Fatal(err)
			}
			for i, r := range tt.rounds {
				clk.Advance(DefaultPollInterval)
				if r.ports != nil {
					if err := p.SetPorts(r.ports); err != nil {
						t.Fatal(err)
					}
				}
				src.Socks, src.Err = r.socks, r.err
				calls := len(src.OwnerCalls())
				var got []Event
				p.poll(t.Context(), func(e Event) { got = append(got, e) })
				if s := summary(got); !slices.Equal(s, r.want) {
					t.Errorf("poll %d: got\n%s\nwant\n%s", i, strings.Join(s, "\n"), strings.Join(r.want, "\n"))
				}
				var inodes [][]uint64
				for _, c := range src.OwnerCalls()[calls:] {
					inodes = append(inodes, c.Inodes)
				}
				if !slices.EqualFunc(inodes, r.owners, slices.Equal) {
					t.Errorf("poll %d: owners asked for %v, want %v", i, inodes, r.owners)
				}
				for _, e := range got {
					if !e.Time.Equal(clk.Now()) || e.Source != SourcePoll || e.NetNS != 7 || e.UID != 1000 {
						t.Errorf("poll %d: event %+v", i, e)
					}
				}
				if (r.err != nil) != strings.Contains(warn.String(), "no tcp6") {
					t.Errorf("poll %d: warnings %q", i, warn.String())
				}
				warn.Reset()
			}
		})
	}
}

func TestPollReportsAListingErrorOnce(t *testing.T) {
	var warn strings.Builder
	src := &sockettest.Static{Err: errors.New("no tcp6")}
	p := NewPoll(src, 0, nil, &warn)
	for range 3 {
		p.poll(t.Context(), func(Event) {})
	}
	if n := strings.Count(warn.String(), "no tcp6"); n != 1 {
		t.Errorf("reported %d times: %q", n, warn.String())
	}
}

func TestPollOwnersFromTheSocket(t *testing.T) {
	// Windows and macOS sources name the owners with the socket.
	s := tcpListener
	s.Inode, s.Owners = 0, []sockets.Owner{{PID: 77, FD: -1}}
	src := &sockettest.Static{Socks: []sockets.Socket{s}}
	p := NewPoll(src, 0, nil, nil)
	if err := p.SetPorts([]Port{{1033, registry.TCP}}); err != nil {
		t.Fatal(err)
	}
	var got []Event
	p.poll(t.Context(), func(e Event) { got = append(got, e) })
	if len(got) != 1 || got[0].PID != 77 || len(src.OwnerCalls()) != 0 {
		t.Errorf("events %+v, owner calls %v", got, src.OwnerCalls())
	}
}

func TestPollSetPortsRejectsOtherProtocols(t *testing.T) {
	err := NewPoll(&sockettest.Static{}, 0, nil, nil).SetPorts([]Port{{609, 132}})
	if err == nil || !strings.Contains(err.Error(), "protocol 132") {
		t.Errorf("err = %v", err)
	}
}

func TestPollRunStopsOnCancel(t *testing.T) {
	src := &sockettest.Static{Socks: []sockets.Socket{tcpListener}}
	p := NewPoll(src, 1, nil, nil) // 1 ns: polls as fast as it can
	if err := p.SetPorts([]Port{{1033, registry.TCP}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var n atomic.Int32
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, func(e Event) {
			if e.Action == Listen {
				n.Add(1)
			}
		})
	}()
	for src.SocketCalls() < 3 { // two whole polls, and a third begun
		runtime.Gosched()
	}
	cancel()
	if err := <-done; err != nil || n.Load() != 1 {
		t.Errorf("Run = %v after %d listen events, want 1", err, n.Load())
	}
}
