// Package table defines legacy-ports' tables once, in the project's own
// types, for every front end: the osquery extension (table/osqplugin) and the
// SQLite virtual tables of the command-line tool (table/vtab) are adapters
// over Definitions, and neither is known here.
//
// A table is a Definition: a name, its columns and a generate function that
// turns a Request (the constraints per column, with their operators, and the
// columns used) into typed rows. To add one, write its columns and a
// constructor, and list the constructor in tables below; the guard, both
// adapters, --spec and the README's column tables pick it up.
//
// legacy_ports pushes down equality and IN constraints on pid, protocol,
// local_port, remote_port, port and direction; every other constraint, and
// every other operator, is left to SQLite, which applies the whole WHERE
// clause again to the rows returned. A value that cannot match (port = 'abc')
// gives no rows, not an error.
package table

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/rpcbind"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// State is the registry in force and what is known of its configuration. It
// may change between calls, when the admin's file is edited.
type State struct {
	Registry *registry.Registry
	Custom   string   // the admin's file and its state, or "none"
	Errors   []string // configuration errors, for legacy_ports_info
}

// Options configure the tables.
type Options struct {
	Source  sockets.Source
	State   func() State
	Version string
	// Log receives partial failures that do not fail a query, and the stack
	// of a generate call that panicked; nil discards them.
	Log *slog.Logger
	// Timeout bounds each generate call; osquery's own limit is 300 s.
	Timeout time.Duration
	// MaxConcurrent caps generate calls running at once.
	MaxConcurrent int
	// SnapshotTTL is how long one socket enumeration serves repeated calls.
	SnapshotTTL time.Duration
	// RPCPrograms asks rpcbind which Sun RPC programs hold which ports, to
	// tell an RPC service that took a registry port by chance when no
	// process name says so (kernel lockd and nfsd have no process). It is
	// called only when such a socket is found; nil never asks.
	RPCPrograms func(context.Context) (map[rpcbind.Key][]string, error)
	// Events feeds legacy_port_events and the events_* columns of
	// legacy_ports_info; nil leaves the table empty and events off.
	Events EventSource
	Now    func() time.Time
}

// Defaults for Options fields left zero.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultMaxConcurrent = 4
	DefaultSnapshotTTL   = time.Second
)

// Definition is one table: its name, columns and generate function.
type Definition struct {
	Name        string
	Description string
	Columns     []Column
	Examples    []string
	Generate    func(context.Context, Request) ([]Row, error)
	// Prepare, when set, does ahead of time the work every generate of the
	// table begins with (legacy_ports: the socket snapshot), so that a front
	// end that knows a query is coming can overlap it with its own set-up.
	// Its result waits in the table; errors come out of the generate.
	Prepare func(context.Context)
}

// tables lists the constructors of every table, in the order the front ends
// show them. A constructor returns its table's Definition with an unguarded
// Generate; Definitions adds the guard.
var tables = []func(*Options) Definition{
	legacyPortsTable,
	portRegistryTable,
	infoTable,
	eventsTableDef,
}

// Definitions returns the tables. Each generate call is guarded: it runs
// under Options.Timeout, a panic becomes an error (its stack goes to
// Options.Log), and at most Options.MaxConcurrent run at once.
func Definitions(o Options) []Definition {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.SnapshotTTL <= 0 {
		o.SnapshotTTL = DefaultSnapshotTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	g := newGuard(o.Timeout, o.MaxConcurrent, o.Log)
	defs := make([]Definition, len(tables))
	for i, newTable := range tables {
		d := newTable(&o)
		d.Generate = g.wrap(d.Name, d.Generate)
		if prepare := d.Prepare; prepare != nil {
			guarded := g.wrap(d.Name, func(ctx context.Context, _ Request) ([]Row, error) {
				prepare(ctx)
				return nil, nil
			})
			d.Prepare = func(ctx context.Context) { _, _ = guarded(ctx, Request{}) }
		}
		defs[i] = d
	}
	return defs
}

// Schemas returns the tables' names, descriptions, columns and examples,
// without generate functions: what --spec and the documentation need,
// built without touching the host.
func Schemas() []Definition {
	defs := make([]Definition, len(tables))
	for i, newTable := range tables {
		defs[i] = newTable(&Options{})
		defs[i].Generate, defs[i].Prepare = nil, nil
	}
	return defs
}

func legacyPortsTable(o *Options) Definition {
	ports := &portsTable{state: o.State, snap: newSnapshot(o.Source, o.SnapshotTTL, o.Now), src: o.Source, log: o.Log,
		rpc: &rpcCache{ask: o.RPCPrograms, ttl: o.SnapshotTTL, now: o.Now}}
	return Definition{
		Name:        LegacyPorts,
		Description: "Live TCP and UDP sockets on obsolete (ghost) ports, with the process behind each and a verdict.",
		Columns:     legacyPortsColumns,
		Examples: []string{
			"SELECT pid, process_name, local_address, port, transport, service, verdict, reason FROM legacy_ports;",
			"SELECT * FROM legacy_ports WHERE direction = 'listen' AND verdict = 'ghost';",
		},
		Generate: ports.generate,
		Prepare:  ports.prepare,
	}
}

func portRegistryTable(o *Options) Definition {
	return Definition{
		Name:        PortRegistry,
		Description: "The registry of obsolete ports in force: one row per port and transport.",
		Columns:     portRegistryColumns,
		Examples: []string{
			"SELECT lp.pid, lp.port, r.service FROM listening_ports lp JOIN legacy_port_registry r ON lp.port = r.port AND lp.protocol = r.protocol;",
		},
		Generate: func(_ context.Context, req Request) ([]Row, error) {
			return registryRows(o.State().Registry, intSet[uint16](req, ColPort, 0, math.MaxUint16)), nil
		},
	}
}

func infoTable(o *Options) Definition {
	return Definition{
		Name:        LegacyPortInfo,
		Description: "One row: version, registry state, configuration errors and what this host lets legacy-ports see.",
		Columns:     infoColumns,
		Examples:    []string{"SELECT version, registry_entries, errors FROM legacy_ports_info;"},
		Generate: func(context.Context, Request) ([]Row, error) {
			return []Row{infoRow(o.Version, o.State(), o.Source.Capabilities(), eventsInfo(o.Events))}, nil
		},
	}
}

func eventsTableDef(o *Options) Definition {
	t := &eventsTable{src: o.Events, o: o, rpc: &rpcCache{ask: o.RPCPrograms, ttl: o.SnapshotTTL, now: o.Now}}
	return Definition{
		Name: PortEvents,
		Description: "Every bind, listen, connect, accept, send and close on a registry port since the capture started, " +
			"kept for --events_expiry seconds and at most --events_max rows, judged like legacy_ports rows.",
		Columns: eventsColumns,
		Examples: []string{
			"SELECT time, action, pid, process_name, remote_address, port, service, verdict FROM legacy_port_events WHERE time > (strftime('%s','now') - 3600);",
			"SELECT process_name, port, COUNT(*) AS rows, SUM(count) AS events FROM legacy_port_events WHERE direction = 'outbound' GROUP BY 1, 2;",
		},
		Generate: t.generate,
	}
}

// eventsInfo is the state of the events capture; off without a source.
func eventsInfo(src EventSource) events.Info {
	if src == nil {
		return events.Info{Source: events.StateOff, Reason: "this program records no events"}
	}
	return src.Info()
}

// registryRows returns the registry's rows, in port order, TCP before UDP;
// only those of ports when the query names some (registry show 609 builds
// two rows, not eight hundred).
func registryRows(reg *registry.Registry, ports valueSet[uint16]) []Row {
	var rows []Row
	add := func(port uint16, proto uint8, e *registry.Entry) {
		r := Row{
			ColPort:      IntValue(port),
			ColTransport: TextValue(registry.TransportName(proto)),
			ColProtocol:  IntValue(proto),
			ColNote:      TextValue(e.Note),
			ColSource:    TextValue(e.Source),
		}
		putEntry(r, e)
		rows = append(rows, r)
	}
	if ports == nil {
		rows = make([]Row, 0, reg.Pairs())
		reg.Each(add)
		return rows
	}
	for _, port := range slices.Sorted(maps.Keys(ports)) {
		for _, proto := range []uint8{registry.TCP, registry.UDP} {
			if e, ok := reg.Lookup(port, proto); ok {
				add(port, proto, e)
			}
		}
	}
	return rows
}

func infoRow(version string, st State, caps sockets.Capabilities, ev events.Info) Row {
	ns := 0
	if caps.Namespaces {
		ns = 1
	}
	return Row{
		ColVersion:             TextValue(version),
		ColRegistryEntries:     IntValue(st.Registry.Len()),
		ColRegistryDate:        TextValue(st.Registry.Date()),
		ColCustomRegistry:      TextValue(st.Custom),
		ColErrors:              TextValue(strings.Join(st.Errors, "; ")),
		ColNamespacesSupported: IntValue(ns),
		ColPIDAttribution:      TextValue(string(caps.Attribution)),
		ColEventsSource:        TextValue(ev.Source),
		ColEventsReason:        TextValue(ev.Reason),
		ColEventsDropped:       IntValue(ev.Dropped),
		ColEventsEvicted:       IntValue(ev.Store.Evicted),
	}
}
