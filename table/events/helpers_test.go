package events

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
)

// t0 is the tests' epoch: every clock starts here.
var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testRegistry has a ghost on 609 (tcp, udp) and 1033/tcp, an insecure
// service on 512/tcp, and a UDP ghost on 672; with allow it also allows
// /usr/sbin/ghostd on 1033/tcp.
func testRegistry(t *testing.T, allow bool) *registry.Registry {
	t.Helper()
	entry := func(port uint16, cat registry.Category, service string, protos ...uint8) *registry.Entry {
		return &registry.Entry{PortLow: port, PortHigh: port, Transports: protos, Service: service,
			Description: service + " service", Category: cat, Confidence: registry.High, Source: "builtin"}
	}
	base := registry.New("2026-01-01", []*registry.Entry{
		entry(609, registry.DeadProduct, "npmp-trap", registry.TCP, registry.UDP),
		entry(1033, registry.DeadProduct, "netinfo-local", registry.TCP),
		entry(512, registry.InsecureLegacy, "exec", registry.TCP),
		entry(672, registry.DeadProtocol, "vpps-qua", registry.UDP),
	})
	if !allow {
		return base
	}
	admin, err := registry.ParseAdmin("admin.yml", []byte(`allow:
  - port: 1033
    transport: tcp
    process: /usr/sbin/ghostd
    comment: lab box
`))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := admin.Apply(base)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// ev builds an event at t0+offset.
func ev(offset time.Duration, action Action, pid int32, local, remote string) Event {
	e := Event{Time: t0.Add(offset), Action: action, PID: pid, Comm: "c", UID: 1000, Family: 2, Protocol: registry.TCP,
		Local: ap(local), Remote: ap(remote), NetNS: 4026531840, Source: SourceEBPF}
	if e.Local.Addr().Is6() {
		e.Family = 10
	}
	return e
}
