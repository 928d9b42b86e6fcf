package table

import "slices"

// ColumnType is a column's SQL type, spelled as osquery spells it.
type ColumnType string

// The column types our tables use.
const (
	Text    ColumnType = "TEXT"
	Integer ColumnType = "INTEGER"
	BigInt  ColumnType = "BIGINT"
)

// Column is one column of a table. Index columns receive equality and IN
// constraints (osquery's INDEX and OPTIMIZED options), so that an IN list
// arrives in one generate call; every other constraint is left to SQLite.
type Column struct {
	Name        string
	Type        ColumnType
	Index       bool
	Description string
}

// Column names of legacy_ports.
const (
	ColPID           = "pid"
	ColProcessName   = "process_name"
	ColProcessPath   = "process_path"
	ColCmdline       = "cmdline"
	ColUID           = "uid"
	ColUsername      = "username"
	ColFD            = "fd"
	ColSocket        = "socket"
	ColFamily        = "family"
	ColProtocol      = "protocol"
	ColTransport     = "transport"
	ColLocalAddress  = "local_address"
	ColLocalPort     = "local_port"
	ColRemoteAddress = "remote_address"
	ColRemotePort    = "remote_port"
	ColState         = "state"
	ColPort          = "port"
	ColDirection     = "direction"
	ColExposure      = "exposure"
	ColNetNamespace  = "net_namespace"
	ColService       = "service"
	ColDescription   = "description"
	ColCategory      = "category"
	ColRetired       = "retired"
	ColReplacedBy    = "replaced_by"
	ColConfidence    = "confidence"
	ColReference     = "reference"
	ColVerdict       = "verdict"
	ColReason        = "reason"
)

// Extra column names of legacy_port_registry.
const (
	ColNote   = "note"
	ColSource = "source"
)

// Column names of legacy_ports_info.
const (
	ColVersion             = "version"
	ColRegistryEntries     = "registry_entries"
	ColRegistryDate        = "registry_date"
	ColCustomRegistry      = "custom_registry"
	ColErrors              = "errors"
	ColNamespacesSupported = "namespaces_supported"
	ColPIDAttribution      = "pid_attribution"
	ColEventsSource        = "events_source"
	ColEventsReason        = "events_reason"
	ColEventsDropped       = "events_dropped"
	ColEventsEvicted       = "events_evicted"
)

// Extra column names of legacy_port_events.
const (
	ColTime   = "time"
	ColTimeNS = "time_ns"
	ColEID    = "eid"
	ColAction = "action"
	ColCount  = "count"
	ColCgroup = "cgroup"
)

// Table names.
const (
	LegacyPorts    = "legacy_ports"
	PortRegistry   = "legacy_port_registry"
	LegacyPortInfo = "legacy_ports_info"
	PortEvents     = "legacy_port_events"
)

// registryColumns are shared by legacy_ports and legacy_port_registry, so
// that the two describe a registry entry with the same words.
var registryColumns = []Column{
	{Name: ColService, Type: Text, Description: "IANA service name registered on the port"},
	{Name: ColDescription, Type: Text, Description: "What the registered protocol or product was"},
	{Name: ColCategory, Type: Text, Description: "historic-rfc, dead-protocol, dead-product or insecure-legacy"},
	{Name: ColRetired, Type: Integer, Description: "Year the protocol or product died; NULL when unknown"},
	{Name: ColReplacedBy, Type: Text, Description: "What replaced it, or none"},
	{Name: ColConfidence, Type: Text, Description: "How well its death is documented: high, medium or low"},
	{Name: ColReference, Type: Text, Description: "Where the facts are written down; several are separated by '; '"},
}

var legacyPortsColumns = slices.Concat([]Column{
	{Name: ColPID, Type: Integer, Index: true, Description: "Process holding the socket; -1 when unknown (no privilege, or a kernel socket)"},
	{Name: ColProcessName, Type: Text, Description: "Process name"},
	{Name: ColProcessPath, Type: Text, Description: "Path of the process's executable"},
	{Name: ColCmdline, Type: Text, Description: "Process command line"},
	{Name: ColUID, Type: BigInt, Description: "User of the process, or of the socket when no process is known; -1 when unknown"},
	{Name: ColUsername, Type: Text, Description: "Name of uid"},
	{Name: ColFD, Type: BigInt, Description: "Descriptor number in the process; -1 when unknown (always on Windows)"},
	{Name: ColSocket, Type: BigInt, Description: "Socket inode (Linux); -1 elsewhere"},
	{Name: ColFamily, Type: Integer, Description: "Address family: 2 (IPv4) or 10 (IPv6, on every platform)"},
	{Name: ColProtocol, Type: Integer, Index: true, Description: "IPPROTO number: 6 (TCP) or 17 (UDP)"},
	{Name: ColTransport, Type: Text, Description: "tcp or udp"},
	{Name: ColLocalAddress, Type: Text, Description: "Local address, without brackets; an IPv4-mapped address stays ::ffff:a.b.c.d"},
	{Name: ColLocalPort, Type: Integer, Index: true, Description: "Local port"},
	{Name: ColRemoteAddress, Type: Text, Description: "Remote address, without brackets; an IPv4-mapped address stays ::ffff:a.b.c.d"},
	{Name: ColRemotePort, Type: Integer, Index: true, Description: "Remote port; 0 when not connected"},
	{Name: ColState, Type: Text, Description: "TCP state (LISTEN, ESTABLISHED, ...); empty for UDP, as in osquery"},
	{Name: ColPort, Type: Integer, Index: true, Description: "The registry port the socket touches"},
	{Name: ColDirection, Type: Text, Index: true, Description: "listen (TCP LISTEN, or UDP bound and not connected), inbound (a connection on a local registry port) or outbound (to a remote registry port)"},
	{Name: ColExposure, Type: Text, Description: "Local bind: loopback, wildcard (0.0.0.0, ::) or address"},
	{Name: ColNetNamespace, Type: Text, Description: "Network namespace inode (Linux); empty elsewhere"},
}, registryColumns, []Column{
	{Name: ColVerdict, Type: Text, Description: "ghost, insecure, rpc-dynamic, expected or allowed"},
	{Name: ColReason, Type: Text, Description: "Why, in words"},
})

var portRegistryColumns = slices.Concat([]Column{
	{Name: ColPort, Type: Integer, Index: true, Description: "Port number"},
	{Name: ColTransport, Type: Text, Description: "tcp or udp"},
	{Name: ColProtocol, Type: Integer, Description: "IPPROTO number: 6 (TCP) or 17 (UDP)"},
}, registryColumns, []Column{
	{Name: ColNote, Type: Text, Description: "What an analyst should know"},
	{Name: ColSource, Type: Text, Description: "builtin, or the admin file that added or changed the entry"},
})

var infoColumns = []Column{
	{Name: ColVersion, Type: Text, Description: "legacy-ports version"},
	{Name: ColRegistryEntries, Type: Integer, Description: "Entries in the registry in use"},
	{Name: ColRegistryDate, Type: Text, Description: "Date of the newest registry data"},
	{Name: ColCustomRegistry, Type: Text, Description: "The admin's registry file and its state"},
	{Name: ColErrors, Type: Text, Description: "Configuration errors; empty when there are none"},
	{Name: ColNamespacesSupported, Type: Integer, Description: "1 when sockets of every network namespace are listed"},
	{Name: ColPIDAttribution, Type: Text, Description: "full, partial or none: how completely sockets are tied to processes"},
	{Name: ColEventsSource, Type: Text, Description: "Where legacy_port_events comes from: ebpf (every event, in the kernel), poll (sockets alive at a poll of the socket source; short ones are missed) or off"},
	{Name: ColEventsReason, Type: Text, Description: "Why eBPF is not in use (not root, no BTF, events turned off, ...); empty when it is"},
	{Name: ColEventsDropped, Type: BigInt, Description: "Events the capture could not deliver (the kernel's ring buffer was full): they happened and are not in legacy_port_events"},
	{Name: ColEventsEvicted, Type: BigInt, Description: "Oldest rows dropped from legacy_port_events to stay within --events_max (rows past --events_expiry are not counted)"},
}

var eventsColumns = slices.Concat([]Column{
	{Name: ColTime, Type: BigInt, Index: true, Description: "When the event happened, in unix seconds; =, >, >=, < and <= narrow the search"},
	{Name: ColTimeNS, Type: BigInt, Description: "The same time in unix nanoseconds"},
	{Name: ColEID, Type: Text, Description: "Event id: unique, and increasing in the order events were recorded"},
	{Name: ColAction, Type: Text, Index: true, Description: "bind, listen, connect, accept, send (a UDP datagram to a registry port without connect) or close"},
	{Name: ColPID, Type: Integer, Index: true, Description: "Process that made the event; -1 when unknown"},
	{Name: ColProcessName, Type: Text, Description: "Process name, read when the event arrived (the kernel's comm when the process was already gone)"},
	{Name: ColProcessPath, Type: Text, Description: "Path of the process's executable, read when the event arrived; empty when the process was already gone"},
	{Name: ColCmdline, Type: Text, Description: "Process command line, read when the event arrived"},
	{Name: ColUID, Type: BigInt, Description: "User of the process; -1 when unknown"},
	{Name: ColUsername, Type: Text, Description: "Name of uid"},
	{Name: ColFamily, Type: Integer, Description: "Address family: 2 (IPv4) or 10 (IPv6)"},
	{Name: ColProtocol, Type: Integer, Description: "IPPROTO number: 6 (TCP) or 17 (UDP)"},
	{Name: ColTransport, Type: Text, Description: "tcp or udp"},
	{Name: ColLocalAddress, Type: Text, Description: "Local address, without brackets; empty when the event has none (connect, send)"},
	{Name: ColLocalPort, Type: Integer, Description: "Local port; 0 when the event has none"},
	{Name: ColRemoteAddress, Type: Text, Description: "Remote address, without brackets; empty when the event has none (bind, listen)"},
	{Name: ColRemotePort, Type: Integer, Description: "Remote port; 0 when the event has none"},
	{Name: ColPort, Type: Integer, Index: true, Description: "The registry port the event touches"},
	{Name: ColDirection, Type: Text, Description: "listen (bind, listen), inbound (accept on a local registry port) or outbound (connect or send to a remote one), as in legacy_ports"},
	{Name: ColNetNamespace, Type: Text, Description: "Network namespace inode; empty when unknown"},
	{Name: ColCgroup, Type: Text, Description: "cgroup v2 path of the process (Linux, eBPF), which tells containers apart; empty when unknown"},
}, registryColumns, []Column{
	{Name: ColVerdict, Type: Text, Description: "ghost, insecure, rpc-dynamic, expected or allowed, judged by the registry in force at query time"},
	{Name: ColReason, Type: Text, Description: "Why, in words"},
	{Name: ColSource, Type: Text, Description: "ebpf or poll: the capture that saw the event"},
	{Name: ColCount, Type: Integer, Description: "Identical events (same pid, action, protocol, addresses, namespace and source) within one second of this row's first are folded into it; this counts them, at least 1"},
})
