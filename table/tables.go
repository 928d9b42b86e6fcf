// Package table defines legacy-ports' three tables once, for both front
// ends: the osquery extension (Plugins) and the SQLite virtual tables of the
// command-line tool (Definitions).
//
// legacy_ports pushes down equality and IN constraints on pid, protocol,
// local_port, remote_port, port and direction; every other constraint, and
// every other operator, is left to SQLite, which applies the whole WHERE
// clause again to the rows returned. A value that cannot match (port = 'abc')
// gives no rows, not an error.
package table

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/rpcbind"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Row is one row: column name to value, every value a string as osquery
// wants it. An empty value in an INTEGER column is NULL.
type Row = map[string]string

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
	// Warnings receives partial failures that do not fail a query.
	Warnings io.Writer
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
	Now         func() time.Time
}

// Defaults for Options fields left zero.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultMaxConcurrent = 4
	DefaultSnapshotTTL   = time.Second
)

// Definition is one table: its name, columns and guarded generate function.
type Definition struct {
	Name        string
	Description string
	Columns     []Column
	Examples    []string
	Generate    func(context.Context, Request) ([]Row, error)
}

// Definitions returns the three tables. Each generate call is guarded: it
// runs under Options.Timeout, a panic becomes an error, and at most
// Options.MaxConcurrent run at once.
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
	if o.Warnings == nil {
		o.Warnings = io.Discard
	}
	g := newGuard(o.Timeout, o.MaxConcurrent)
	ports := &portsTable{state: o.State, snap: newSnapshot(o.Source, o.SnapshotTTL, o.Now), src: o.Source, warn: o.Warnings,
		rpc: &rpcCache{ask: o.RPCPrograms, ttl: o.SnapshotTTL, now: o.Now}}
	return []Definition{
		{
			Name:        LegacyPorts,
			Description: "Live TCP and UDP sockets on obsolete (ghost) ports, with the process behind each and a verdict.",
			Columns:     legacyPortsColumns,
			Examples: []string{
				"SELECT pid, process_name, local_address, port, transport, service, verdict, reason FROM legacy_ports;",
				"SELECT * FROM legacy_ports WHERE direction = 'listen' AND verdict = 'ghost';",
			},
			Generate: g.wrap(LegacyPorts, ports.generate),
		},
		{
			Name:        PortRegistry,
			Description: "The registry of obsolete ports in force: one row per port and transport.",
			Columns:     portRegistryColumns,
			Examples: []string{
				"SELECT lp.pid, lp.port, r.service FROM listening_ports lp JOIN legacy_port_registry r ON lp.port = r.port AND lp.protocol = r.protocol;",
			},
			Generate: g.wrap(PortRegistry, func(context.Context, Request) ([]Row, error) {
				return registryRows(o.State().Registry), nil
			}),
		},
		{
			Name:        LegacyPortInfo,
			Description: "One row: version, registry state, configuration errors and what this host lets legacy-ports see.",
			Columns:     infoColumns,
			Examples:    []string{"SELECT version, registry_entries, errors FROM legacy_ports_info;"},
			Generate: g.wrap(LegacyPortInfo, func(context.Context, Request) ([]Row, error) {
				return []Row{infoRow(o.Version, o.State(), o.Source.Capabilities())}, nil
			}),
		},
	}
}

func registryRows(reg *registry.Registry) []Row {
	rows := make([]Row, 0, reg.Pairs())
	reg.Each(func(port uint16, proto uint8, e *registry.Entry) {
		r := Row{
			ColPort:      strconv.Itoa(int(port)),
			ColTransport: registry.TransportName(proto),
			ColProtocol:  strconv.Itoa(int(proto)),
			ColNote:      e.Note,
			ColSource:    e.Source,
		}
		putEntry(r, e)
		rows = append(rows, r)
	})
	return rows
}

func infoRow(version string, st State, caps sockets.Capabilities) Row {
	ns := "0"
	if caps.Namespaces {
		ns = "1"
	}
	return Row{
		ColVersion:             version,
		ColRegistryEntries:     strconv.Itoa(st.Registry.Len()),
		ColRegistryDate:        st.Registry.Date(),
		ColCustomRegistry:      st.Custom,
		ColErrors:              strings.Join(st.Errors, "; "),
		ColNamespacesSupported: ns,
		ColPIDAttribution:      string(caps.Attribution),
	}
}
