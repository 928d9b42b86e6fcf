// Package tabletest helps the tests of the tables and of their front ends.
package tabletest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Registry parses and loads a registry data file given as text.
func Registry(t testing.TB, text string) *registry.Registry {
	t.Helper()
	f, err := registry.Parse("test.yml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// Events is an event source for the tables' tests: a real events.Store,
// judged against Registry, that records the queries it is asked.
type Events struct {
	Registry *registry.Registry
	Store    *events.Store
	State    events.Info

	mu      sync.Mutex
	queries []events.Query
}

// NewEvents returns an empty source whose store's clock is now.
func NewEvents(reg *registry.Registry, now func() time.Time) *Events {
	return &Events{Registry: reg, Store: events.NewStore(events.StoreConfig{Now: now}),
		State: events.Info{Source: events.StateEBPF}}
}

// Add records ev, made by process p, as the manager would: classified
// against the registry. It fails the test when ev touches no registry port.
func (e *Events) Add(t testing.TB, ev events.Event, p sockets.Process) {
	t.Helper()
	port, dir, ok := events.Classify(ev, e.Registry)
	if !ok {
		t.Fatalf("event %+v touches no registry port", ev)
	}
	e.Store.Add(ev, p, port, dir)
}

// Query answers from the store and records q.
func (e *Events) Query(q events.Query) []events.Row {
	e.mu.Lock()
	e.queries = append(e.queries, q)
	e.mu.Unlock()
	return events.Judge(e.Store.Query(q), e.Registry, q.RPCPrograms)
}

// Info returns State with the store's counters.
func (e *Events) Info() events.Info {
	info := e.State
	info.Store = e.Store.Stats()
	return info
}

// Queries returns the queries asked so far.
func (e *Events) Queries() []events.Query {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.queries)
}
