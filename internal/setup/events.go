package setup

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/events/ebpf"
)

// EventsConfig is what the command lines say about the events capture; zero
// fields take the events package's defaults.
type EventsConfig struct {
	Mode         string // events.ModeAuto ("" too), ModePoll or ModeOff
	Expiry       time.Duration
	Max          int
	PollInterval time.Duration
}

// Events returns a manager, not started, that records the events of this
// host on the registry ports of o's registry in force: from eBPF where it
// opens, else by polling o's socket source. warn receives what goes wrong
// while it runs.
func Events(o table.Options, c EventsConfig, warn io.Writer) (*events.Manager, error) {
	return events.NewManager(events.Config{
		Mode:         c.Mode,
		OpenEBPF:     openEBPF,
		Source:       o.Source,
		Registry:     func() *registry.Registry { return o.State().Registry },
		Expiry:       c.Expiry,
		Max:          c.Max,
		PollInterval: c.PollInterval,
		Warn:         warn,
	})
}

// openEBPF opens the kernel capture; the manager gives it the ports before
// it runs. A failed Open returns a nil interface, not a typed nil.
func openEBPF() (events.Capture, error) {
	c, err := ebpf.Open(nil)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// LazyEvents is an events source that starts its manager's capture on the
// first query of legacy_port_events, so that the command-line tool's
// queries that do not use the table load no eBPF program and start no
// poller. It records only what happens after that first query.
type LazyEvents struct {
	m      *events.Manager
	ctx    context.Context //nolint:containedctx // the capture's lifetime, given at construction
	cancel context.CancelFunc

	once    sync.Once
	mu      sync.Mutex
	started bool
}

// NewLazyEvents wraps m; its capture, once started, runs until ctx is done
// or Stop.
func NewLazyEvents(ctx context.Context, m *events.Manager) *LazyEvents {
	ctx, cancel := context.WithCancel(ctx)
	return &LazyEvents{m: m, ctx: ctx, cancel: cancel}
}

// Query starts the capture the first time, then answers from the manager.
func (l *LazyEvents) Query(q events.Query) []events.Row {
	l.once.Do(func() {
		l.m.Start(l.ctx)
		l.mu.Lock()
		l.started = true
		l.mu.Unlock()
	})
	return l.m.Query(q)
}

// NotStarted is the reason legacy_ports_info gives before the first query
// of legacy_port_events.
const NotStarted = "the capture starts when legacy_port_events is first queried"

// Info is the manager's, or off with NotStarted before the first query.
func (l *LazyEvents) Info() events.Info {
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	if !started {
		return events.Info{Source: events.StateOff, Reason: NotStarted}
	}
	return l.m.Info()
}

// Stop ends the capture, if it started, and waits until it has released
// everything it held (for eBPF: every program, link and map).
func (l *LazyEvents) Stop() error {
	l.cancel()
	l.once.Do(func() {}) // a query after Stop starts nothing
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	if !started {
		return nil
	}
	return l.m.Wait()
}
