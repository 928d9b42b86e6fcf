// Package events records socket events on registry ports (bind, listen,
// connect, accept, send, close) as they happen, so that legacy_port_events can
// show what a snapshot of live sockets misses. A Capture produces events: on
// Linux from eBPF programs (package ebpf below this one), elsewhere by polling
// the socket source.
package events

import (
	"context"
	"net/netip"
	"time"
)

// Action is what a process did with a socket.
type Action string

// The actions, as legacy_port_events reports them.
const (
	Bind    Action = "bind"
	Listen  Action = "listen"
	Connect Action = "connect"
	Accept  Action = "accept"
	Send    Action = "send" // UDP datagram to an address, without connect
	Close   Action = "close"
)

// Source names where an event came from.
const (
	SourceEBPF = "ebpf"
	SourcePoll = "poll"
)

// Event is one socket event on a registry port, as a Capture reports it.
type Event struct {
	Time     time.Time // wall-clock time of the event
	Action   Action
	PID      int32 // -1 when unknown
	Comm     string
	UID      int64 // -1 when unknown
	Family   uint8 // 2 or 10
	Protocol uint8 // 6 or 17
	Local    netip.AddrPort
	Remote   netip.AddrPort
	NetNS    uint64 // network namespace inode; 0 when unknown
	CgroupID uint64 // cgroup v2 id; 0 when unknown
	Cgroup   string // cgroup v2 path, resolved by the capture; "" when unknown
	Source   string // SourceEBPF or SourcePoll
}

// Port is a (port, IPPROTO) pair the kernel or the poller should watch.
type Port struct {
	Port     uint16
	Protocol uint8
}

// Capture delivers events on the ports it is told to watch.
type Capture interface {
	// Run delivers events to emit until ctx is done, then releases
	// everything it holds (for eBPF: every link, program and map) before it
	// returns.
	Run(ctx context.Context, emit func(Event)) error
	// SetPorts replaces the set of watched ports.
	SetPorts(ports []Port) error
	// Dropped counts events the capture could not deliver.
	Dropped() uint64
}
