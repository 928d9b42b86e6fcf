package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Modes choose the capture.
const (
	ModeAuto = "auto" // eBPF where it opens, else poll
	ModePoll = "poll" // poll even where eBPF would work
	ModeOff  = "off"  // no capture; the table stays empty
)

// The states legacy_ports_info reports as events_source.
const (
	StateEBPF = SourceEBPF
	StatePoll = SourcePoll
	StateOff  = "off"
)

// DefaultRefresh is how often the manager asks whether the registry
// changed; asking costs a stat of the admin's file.
const DefaultRefresh = 5 * time.Second

// Config configures a Manager. Source and Registry are required.
type Config struct {
	Mode string // ModeAuto when ""
	// OpenEBPF loads and attaches the kernel capture; nil where there is
	// none (not Linux). Its error says why eBPF cannot be used here.
	OpenEBPF func() (Capture, error)
	// Source lists sockets for the poll capture and describes processes.
	Source sockets.Source
	// Registry returns the registry in force; a new pointer means it
	// changed. It is called every Refresh and on every query.
	Registry func() *registry.Registry

	Expiry       time.Duration // DefaultExpiry when 0
	Max          int           // DefaultMax when 0
	PollInterval time.Duration // DefaultPollInterval when 0
	Refresh      time.Duration // DefaultRefresh when 0
	Now          func() time.Time
	Warn         io.Writer // partial failures; io.Discard when nil
}

// Info is what legacy_ports_info reports about events.
type Info struct {
	Source string // StateEBPF, StatePoll or StateOff
	// Reason says why eBPF is not in use; "" when it is.
	Reason string
	// Dropped counts events the capture could not deliver (the kernel's
	// ring buffer was full). Rows the store let go are counted apart, in
	// Store: they were delivered, then aged out.
	Dropped uint64
	Store   StoreStats
}

// Manager runs one capture in the background, records what it emits in a
// Store with the process details read on arrival, and streams it to
// subscribers.
type Manager struct {
	cfg    Config
	store  *Store
	enrich *Enricher

	reg atomic.Pointer[registry.Registry] // the registry the capture watches

	mu      sync.Mutex
	capture Capture
	info    Info
	dropped uint64 // from captures given up
	done    chan struct{}
	err     error

	subMu sync.RWMutex
	subs  map[*Subscription]struct{}
}

// NewManager checks c and returns a manager that has not started.
func NewManager(c Config) (*Manager, error) {
	switch c.Mode {
	case "":
		c.Mode = ModeAuto
	case ModeAuto, ModePoll, ModeOff:
	default:
		return nil, fmt.Errorf("unknown events mode %q (want %s, %s or %s)", c.Mode, ModeAuto, ModePoll, ModeOff)
	}
	if c.Source == nil || c.Registry == nil {
		return nil, errors.New("events: Config needs a Source and a Registry")
	}
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Warn == nil {
		c.Warn = io.Discard
	}
	return &Manager{
		cfg:    c,
		store:  NewStore(StoreConfig{Expiry: c.Expiry, Max: c.Max, Now: c.Now}),
		enrich: NewEnricher(c.Source, c.Now, nil),
		info:   Info{Source: StateOff},
		subs:   map[*Subscription]struct{}{},
	}, nil
}

// Start chooses the capture, tells it the registry's ports and runs it in
// the background until ctx is done; Wait waits for that. With ModeAuto,
// eBPF is tried first; when it cannot open, or fails while running, the
// poll capture takes over and Info says why. Start is called once.
func (m *Manager) Start(ctx context.Context) {
	m.reg.Store(m.cfg.Registry())
	c, reason := m.choose()
	m.use(c, reason)
	done := make(chan struct{})
	m.mu.Lock()
	m.done = done
	m.mu.Unlock()
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		wg.Go(func() { m.refreshLoop(ctx) })
		err := m.run(ctx, c)
		wg.Wait()
		m.mu.Lock()
		m.err = err
		m.mu.Unlock()
	}()
}

// Wait blocks until the capture started by Start has returned, after its
// context is done, and returns its error.
func (m *Manager) Wait() error {
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done == nil {
		return nil
	}
	<-done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *Manager) choose() (Capture, string) {
	switch {
	case m.cfg.Mode == ModeOff:
		return nil, "events are turned off"
	case m.cfg.Mode == ModePoll:
		return m.poll(), "the poll source was asked for"
	case m.cfg.OpenEBPF == nil:
		return m.poll(), "eBPF capture is not available on this platform"
	}
	c, err := m.cfg.OpenEBPF()
	switch {
	case err != nil:
		return m.poll(), "eBPF: " + err.Error()
	case c == nil:
		return m.poll(), "eBPF: no capture was opened"
	}
	return c, ""
}

func (m *Manager) poll() Capture {
	return NewPoll(m.cfg.Source, m.cfg.PollInterval, m.cfg.Now, m.cfg.Warn)
}

// run runs c until ctx is done. An eBPF capture that stops early gives way
// to the poll capture, which runs until ctx is done.
func (m *Manager) run(ctx context.Context, c Capture) error {
	if c == nil {
		return nil
	}
	emit := func(ev Event) { m.record(ctx, ev) }
	err := c.Run(ctx, emit)
	if ctx.Err() != nil || m.Info().Source != StateEBPF {
		return err
	}
	if err == nil {
		err = errors.New("it stopped by itself")
	}
	fmt.Fprintf(m.cfg.Warn, "legacy_port_events: the eBPF capture failed, polling instead: %v\n", err)
	p := m.poll()
	m.use(p, "eBPF failed: "+err.Error())
	return p.Run(ctx, emit)
}

// use makes c the capture and gives it the registry's ports: an eBPF capture
// when reason is "", else the poll capture, or none when c is nil.
func (m *Manager) use(c Capture, reason string) {
	state := StateOff
	switch {
	case c != nil && reason == "":
		state = StateEBPF
	case c != nil:
		state = StatePoll
	}
	m.mu.Lock()
	if m.capture != nil {
		m.dropped += m.capture.Dropped()
	}
	m.capture = c
	m.info.Source, m.info.Reason = state, reason
	m.mu.Unlock()
	if c != nil {
		if err := c.SetPorts(PortsOf(m.reg.Load())); err != nil {
			fmt.Fprintf(m.cfg.Warn, "legacy_port_events: %s: ports not applied: %v\n", state, err)
		}
	}
}

// refreshLoop tells the capture the new ports when the registry changes.
func (m *Manager) refreshLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.refresh()
		}
	}
}

// refresh asks for the registry in force and, when it changed, gives the
// capture its ports. It returns the registry.
func (m *Manager) refresh() *registry.Registry {
	reg := m.cfg.Registry()
	if old := m.reg.Swap(reg); old == reg {
		return reg
	}
	m.mu.Lock()
	c := m.capture
	m.mu.Unlock()
	if c != nil {
		if err := c.SetPorts(PortsOf(reg)); err != nil {
			fmt.Fprintf(m.cfg.Warn, "legacy_port_events: new registry ports not applied: %v\n", err)
		}
	}
	return reg
}

// record is the capture's emit: it classifies the event against the
// registry the capture watches, describes its process, stores it and
// streams it. It runs on the capture's goroutine, so it never blocks on a
// subscriber.
func (m *Manager) record(ctx context.Context, ev Event) {
	reg := m.reg.Load()
	port, dir, ok := Classify(ev, reg)
	if !ok {
		return
	}
	eid := m.store.Add(ev, m.enrich.Describe(ctx, ev), port, dir)
	m.subMu.RLock()
	defer m.subMu.RUnlock()
	if len(m.subs) == 0 {
		return
	}
	row, ok := m.store.Row(eid)
	if !ok {
		return
	}
	rows := Judge([]Row{row}, reg, nil)
	if len(rows) == 0 {
		return
	}
	for s := range m.subs {
		select {
		case s.ch <- rows[0]:
		default:
			s.dropped.Add(1)
		}
	}
}

// Query returns the stored rows that match q, judged against the registry
// in force now (asking for it also notices a changed registry).
func (m *Manager) Query(q Query) []Row {
	return Judge(m.store.Query(q), m.refresh(), q.RPCPrograms)
}

// Info reports the capture in use, why eBPF is not, and the counters.
func (m *Manager) Info() Info {
	m.mu.Lock()
	info := m.info
	info.Dropped = m.dropped
	if m.capture != nil {
		info.Dropped += m.capture.Dropped()
	}
	m.mu.Unlock()
	info.Store = m.store.Stats()
	return info
}

// Subscription receives events as they are recorded, each as the row it
// went into (Count is that row's count so far). Events that find the
// channel full are dropped and counted: a slow reader never holds up the
// capture.
type Subscription struct {
	C       <-chan Row
	ch      chan Row
	dropped atomic.Uint64
	m       *Manager
}

// Subscribe starts a subscription whose channel holds up to buffer rows
// (at least 1).
func (m *Manager) Subscribe(buffer int) *Subscription {
	ch := make(chan Row, max(1, buffer))
	s := &Subscription{C: ch, ch: ch, m: m}
	m.subMu.Lock()
	m.subs[s] = struct{}{}
	m.subMu.Unlock()
	return s
}

// Dropped counts the events this subscriber missed because its channel was
// full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C. It may be called more than once.
func (s *Subscription) Close() {
	s.m.subMu.Lock()
	defer s.m.subMu.Unlock()
	if _, ok := s.m.subs[s]; ok {
		delete(s.m.subs, s)
		close(s.ch)
	}
}
