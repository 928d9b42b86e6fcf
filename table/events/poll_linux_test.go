//go:build linux

package events

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// freeRegistryPort binds the first port of the built-in registry, at or
// above 1024 so that no privilege is needed, that is free on loopback for
// proto, and returns what bound it.
func freeRegistryPort[T any](t *testing.T, reg *registry.Registry, proto uint8, bind func(addr string) (T, error)) (T, uint16) {
	t.Helper()
	var got T
	var port uint16
	reg.Each(func(p uint16, pr uint8, _ *registry.Entry) {
		if port != 0 || pr != proto || p < 1024 {
			return
		}
		if b, err := bind(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), p).String()); err == nil {
			got, port = b, p
		}
	})
	if port == 0 {
		t.Skipf("no registry port for protocol %d is free on 127.0.0.1", proto)
	}
	return got, port
}

// TestLivePoll runs the poll capture on this host: a listener, a connection
// to it and a bound UDP socket on registry ports, each living longer than
// the poll interval, give listen, connect, accept and bind events from this
// process, and closing the listener gives a close.
func TestLivePoll(t *testing.T) {
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	ln, tcpPort := freeRegistryPort(t, reg, registry.TCP, func(a string) (net.Listener, error) { return net.Listen("tcp4", a) })
	defer ln.Close()
	pc, udpPort := freeRegistryPort(t, reg, registry.UDP, func(a string) (net.PacketConn, error) { return net.ListenPacket("udp4", a) })
	defer pc.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	p := NewPoll(sockets.Default(), 20*time.Millisecond, nil, nil)
	if err := p.SetPorts(PortsOf(reg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	events := make(chan Event, 1024)
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, func(e Event) {
			if e.PID == int32(os.Getpid()) {
				events <- e
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	type want struct {
		action Action
		local  uint16 // 0: the ephemeral port of the client
		remote uint16
	}
	clientPort := uint16(client.LocalAddr().(*net.TCPAddr).Port)
	wait := func(ws ...want) {
		t.Helper()
		missing := map[want]bool{}
		for _, w := range ws {
			missing[w] = true
		}
		deadline := time.After(30 * time.Second) // a bound, not a measure
		for len(missing) > 0 {
			select {
			case e := <-events:
				delete(missing, want{e.Action, e.Local.Port(), e.Remote.Port()})
			case <-deadline:
				t.Fatalf("no event for %v", missing)
			}
		}
	}
	wait(want{Listen, tcpPort, 0}, want{Bind, udpPort, 0},
		want{Connect, clientPort, tcpPort}, want{Accept, tcpPort, clientPort})
	ln.Close()
	wait(want{Close, tcpPort, 0})
}
