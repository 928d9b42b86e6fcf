package events

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// DefaultPollInterval is how often Poll lists the sockets, as
// --events_poll_interval.
const DefaultPollInterval = 5 * time.Second

// SocketLister is the part of sockets.Source that Poll uses.
type SocketLister interface {
	Sockets(ctx context.Context, keep sockets.Filter) ([]sockets.Socket, error)
	Owners(ctx context.Context, inodes map[uint64]struct{}, pids []int32) (map[uint64][]sockets.Owner, error)
}

// Poll is the Capture for hosts where eBPF cannot run: every interval it
// lists the sockets on watched ports and reports each one it had not seen
// before: a TCP listener as listen, an unconnected UDP socket as bind, a
// connection on a local watched port as accept, one to a remote watched port
// as connect. When a socket it reported is no longer listed it reports a
// close, stamped with the time of the poll that noticed (TIME_WAIT counts as
// still there). It sees only what lives across a poll.
type Poll struct {
	src      SocketLister
	interval time.Duration
	now      func() time.Time
	warn     io.Writer

	mu    sync.Mutex
	ports watchSet

	seen    map[sockKey][]Event // what each known socket was reported as, one event per owner
	lastErr string
}

// sockKey identifies a socket across polls. The inode is left out: a TCP
// socket in TIME_WAIT has none, and that is the same connection ending.
type sockKey struct {
	netns         uint64
	proto         uint8
	listening     bool
	local, remote netip.AddrPort
}

// watchSet is a bitmap of watched ports per protocol.
type watchSet struct{ tcp, udp [65536 / 64]uint64 }

func (w *watchSet) set(proto uint8) *[65536 / 64]uint64 {
	if proto == registry.UDP {
		return &w.udp
	}
	return &w.tcp
}

func (w *watchSet) has(port uint16, proto uint8) bool {
	if proto != registry.TCP && proto != registry.UDP {
		return false
	}
	return w.set(proto)[port>>6]&(1<<(port&63)) != 0
}

// NewPoll returns a poll capture over src. interval <= 0 means
// DefaultPollInterval; now and warn may be nil.
func NewPoll(src SocketLister, interval time.Duration, now func() time.Time, warn io.Writer) *Poll {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if now == nil {
		now = time.Now
	}
	if warn == nil {
		warn = io.Discard
	}
	return &Poll{src: src, interval: interval, now: now, warn: warn, seen: map[sockKey][]Event{}}
}

// SetPorts replaces the watched ports. Sockets known on ports no longer
// watched are forgotten without a close.
func (p *Poll) SetPorts(ports []Port) error {
	var w watchSet
	for _, pt := range ports {
		if pt.Protocol != registry.TCP && pt.Protocol != registry.UDP {
			return fmt.Errorf("port %d: protocol %d is neither TCP (6) nor UDP (17)", pt.Port, pt.Protocol)
		}
		w.set(pt.Protocol)[pt.Port>>6] |= 1 << (pt.Port & 63)
	}
	p.mu.Lock()
	p.ports = w
	p.mu.Unlock()
	return nil
}

// Dropped is always 0: a poll loses what lives between two polls, which it
// cannot count.
func (*Poll) Dropped() uint64 { return 0 }

// Run polls at once, then every interval, until ctx is done.
func (p *Poll) Run(ctx context.Context, emit func(Event)) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.poll(ctx, emit)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll lists the sockets once and emits what changed since the last poll.
func (p *Poll) poll(ctx context.Context, emit func(Event)) {
	p.mu.Lock()
	w := p.ports
	p.mu.Unlock()
	// Every TCP listener is kept, watched or not, to tell the server's side
	// of a connection from a client's.
	socks, listErr := p.src.Sockets(ctx, sockets.FilterFunc(func(local, remote uint16, proto uint8) bool {
		return w.has(local, proto) || w.has(remote, proto) || (proto == registry.TCP && remote == 0)
	}))
	if ctx.Err() != nil {
		return
	}
	p.report(listErr)
	now := p.now()
	listeners := map[listenerKey]bool{}
	for i := range socks {
		if socks[i].Protocol == registry.TCP && socks[i].State == "LISTEN" {
			listeners[listenerKey{socks[i].NetNS, socks[i].Local.Port()}] = true
		}
	}

	present := make(map[sockKey]bool, len(socks))
	var fresh []freshSocket
	inodes := map[uint64]struct{}{}
	for i := range socks {
		s := &socks[i]
		if !w.has(s.Local.Port(), s.Protocol) && !w.has(s.Remote.Port(), s.Protocol) {
			continue
		}
		k := sockKey{netns: s.NetNS, proto: s.Protocol, listening: s.State == "LISTEN" || s.Protocol == registry.UDP && s.Remote.Port() == 0,
			local: s.Local, remote: s.Remote}
		_, known := p.seen[k]
		if present[k] || known {
			present[k] = true
			continue
		}
		present[k] = true
		action, ok := pollAction(s, &w, listeners)
		if !ok {
			continue
		}
		fresh = append(fresh, freshSocket{k, s, action})
		if s.NeedsOwners() {
			inodes[s.Inode] = struct{}{}
		}
	}
	var owners map[uint64][]sockets.Owner
	if len(inodes) > 0 {
		// Only new sockets need their owners: the walk of every process's
		// descriptors is the costly part of a poll.
		var err error
		if owners, err = p.src.Owners(ctx, inodes, nil); err != nil {
			fmt.Fprintf(p.warn, "legacy_port_events: poll: owners not found: %v\n", err)
		}
	}
	for _, f := range fresh {
		held := f.sock.Holders(owners)
		evs := make([]Event, 0, len(held))
		for _, o := range held {
			ev := Event{
				Time: now, Action: f.action, PID: o.PID, UID: f.sock.UID,
				Family: f.sock.Family, Protocol: f.sock.Protocol, Local: f.sock.Local, Remote: f.sock.Remote,
				NetNS: f.sock.NetNS, Source: SourcePoll,
			}
			emit(ev)
			evs = append(evs, ev)
		}
		p.seen[f.key] = evs
	}
	for k, evs := range p.seen {
		if present[k] {
			continue
		}
		// A failed listing proves nothing closed; a port no longer
		// watched is forgotten quietly.
		if listErr != nil {
			continue
		}
		delete(p.seen, k)
		if !w.has(k.local.Port(), k.proto) && !w.has(k.remote.Port(), k.proto) {
			continue
		}
		for _, ev := range evs {
			ev.Time, ev.Action = now, Close
			emit(ev)
		}
	}
}

type freshSocket struct {
	key    sockKey
	sock   *sockets.Socket
	action Action
}

type listenerKey struct {
	netns uint64
	port  uint16
}

// pollAction tells what a socket found on a watched port was made by, as
// legacy_ports classifies sockets. ok is false when no watched port counts.
func pollAction(s *sockets.Socket, w *watchSet, listeners map[listenerKey]bool) (Action, bool) {
	local, remote := s.Local.Port(), s.Remote.Port()
	switch {
	case s.Protocol == registry.TCP && s.State == "LISTEN":
		return Listen, w.has(local, registry.TCP)
	case s.Protocol == registry.UDP && remote == 0:
		return Bind, w.has(local, registry.UDP)
	case s.Protocol == registry.TCP && listeners[listenerKey{s.NetNS, local}]:
		return Accept, w.has(local, registry.TCP)
	case s.Protocol == registry.UDP && w.has(local, registry.UDP):
		return Accept, true
	}
	return Connect, w.has(remote, s.Protocol)
}

// report writes a listing error once, not at every poll.
func (p *Poll) report(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != "" && msg != p.lastErr {
		fmt.Fprintf(p.warn, "legacy_port_events: poll: some sockets could not be read: %v\n", err)
	}
	p.lastErr = msg
}
