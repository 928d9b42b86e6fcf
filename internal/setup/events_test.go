package setup

import (
	"context"
	"io"
	"testing"

	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/sockets/sockettest"
)

// TestLazyEventsStartsOnFirstQuery checks that nothing runs until the
// events table is queried, and that Stop waits for the capture.
func TestLazyEventsStartsOnFirstQuery(t *testing.T) {
	opts, err := Options(io.Discard, "")
	if err != nil {
		t.Fatal(err)
	}
	opts.Source = &sockettest.Static{}
	m, err := Events(opts, EventsConfig{Mode: events.ModePoll}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	lazy := NewLazyEvents(context.Background(), m)
	if info := lazy.Info(); info.Source != events.StateOff || info.Reason != NotStarted {
		t.Errorf("before the first query: %+v, want off, %q", info, NotStarted)
	}
	if info := m.Info(); info.Source != events.StateOff {
		t.Errorf("the manager started before the first query: %+v", info)
	}
	opts.Events = lazy
	for _, d := range table.Definitions(opts) {
		if d.Name == table.PortEvents {
			if _, err := d.Generate(t.Context(), table.Request{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if info := lazy.Info(); info.Source != events.StatePoll {
		t.Errorf("after the first query: %+v, want poll", info)
	}
	if err := lazy.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestLazyEventsStopBeforeAnyQuery(t *testing.T) {
	opts, err := Options(io.Discard, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Events(opts, EventsConfig{Mode: events.ModePoll}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	lazy := NewLazyEvents(context.Background(), m)
	if err := lazy.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	lazy.Query(events.Query{})
	if info := m.Info(); info.Source != events.StateOff {
		t.Errorf("a query after Stop started the capture: %+v", info)
	}
}
