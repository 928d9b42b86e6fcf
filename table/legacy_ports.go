package table

import (
	"cmp"
	"context"
	"log/slog"
	"net/netip"
	"os/user"
	"sort"
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/rpcbind"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// portsTable generates legacy_ports: the host's sockets on registry ports,
// one row per owning process, judged against the registry.
type portsTable struct {
	state func() State
	snap  *snapshot
	src   sockets.Source
	log   *slog.Logger // where partial failures are reported; the rows still go out
	rpc   *rpcCache
}

// match is a socket that touches a registry port, before owners are known.
type match struct {
	sock      *sockets.Socket
	port      uint16
	direction string
	entry     *registry.Entry
}

// generate returns one row for each (socket, owner) on a registry port that
// the constraints allow. Constraints narrow the work: ports and directions
// decide which sockets need owners at all, and a pid list limits the walk of
// process descriptors to those processes. The result is a superset of what
// the WHERE clause asks; SQLite filters it again.
func (t *portsTable) generate(ctx context.Context, req Request) ([]Row, error) {
	f := parsePortsFilter(req)
	if f.empty() {
		return nil, nil
	}
	reg := t.state().Registry
	v, err := t.snap.sockets(ctx, reg)
	if err != nil {
		return nil, err
	}
	if v.err != nil {
		t.log.Warn("some sockets could not be read", "table", LegacyPorts, "error", v.err)
	}

	var matches []match
	inodes := map[uint64]struct{}{}
	for i := range v.socks {
		m, ok := classify(&v.socks[i], reg, v.listeners)
		if !ok || !f.allowsSocket(m) {
			continue
		}
		matches = append(matches, m)
		if m.sock.NeedsOwners() {
			inodes[m.sock.Inode] = struct{}{}
		}
	}
	if len(matches) == 0 {
		return nil, nil
	}
	owners, err := t.snap.ownersOf(ctx, inodes, f.pidList())
	if err != nil {
		return nil, err
	}

	procs := newProcessCache(t.src, req.Uses(ColProcessName, ColProcessPath, ColCmdline, ColUID, ColUsername, ColVerdict, ColReason))
	var rows []Row
	for _, m := range matches {
		for _, o := range m.sock.Holders(owners) {
			if !f.pid.allows(o.PID) {
				continue
			}
			rows = append(rows, t.row(ctx, reg, m, o, procs))
		}
	}
	sortRows(rows, ColPort, ColDirection, ColNetNamespace, ColLocalAddress, ColLocalPort, ColRemoteAddress, ColRemotePort, ColPID, ColFD)
	return rows, nil
}

// prepare takes the socket snapshot that the generate calls of the next
// second share.
func (t *portsTable) prepare(ctx context.Context) {
	_, _ = t.snap.sockets(ctx, t.state().Registry)
}

// classify finds the registry port a socket touches and in which direction.
// A connected TCP socket is the server's side when a listener holds its
// local port, and then only that port counts: the remote port is the
// client's ephemeral one. Otherwise it is a client, which may have drawn a
// registry number as its own ephemeral port by chance: only the remote port
// counts.
func classify(s *sockets.Socket, reg *registry.Registry, listeners map[listenerKey]bool) (match, bool) {
	local, remote := s.Local.Port(), s.Remote.Port()
	lookup := func(port uint16, direction string) (match, bool) {
		if e, ok := reg.Lookup(port, s.Protocol); ok {
			return match{s, port, direction, e}, true
		}
		return match{}, false
	}
	switch {
	case s.State == "LISTEN" || (s.Protocol == registry.UDP && remote == 0):
		return lookup(local, registry.Listen)
	case s.Protocol == registry.TCP && listeners[listenerKey{s.NetNS, local}]:
		return lookup(local, registry.Inbound)
	case s.Protocol == registry.UDP:
		if m, ok := lookup(local, registry.Inbound); ok {
			return m, true
		}
	}
	return lookup(remote, registry.Outbound)
}

func (f portsFilter) allowsSocket(m match) bool {
	return f.port.allows(m.port) &&
		f.localPort.allows(m.sock.Local.Port()) &&
		f.remotePort.allows(m.sock.Remote.Port()) &&
		f.protocol.allows(m.sock.Protocol) &&
		f.direction.allows(m.direction)
}

func (t *portsTable) row(ctx context.Context, reg *registry.Registry, m match, o sockets.Owner, procs *processCache) Row {
	s := m.sock
	p := procs.get(ctx, o.PID)
	uid := p.UID
	username := p.Username
	if uid < 0 && s.UID >= 0 {
		uid = s.UID
		username = procs.username(uid)
	}
	obs := registry.Observation{
		Port: m.port, Proto: s.Protocol, Direction: m.direction,
		LocalAddr: s.Local.Addr(), RemoteAddr: s.Remote.Addr(), PID: o.PID,
		ProcessName: p.Name, ProcessPath: p.Path, Username: username,
	}
	if registry.MayBeRPC(obs) {
		obs.RPCPrograms = t.rpc.programs(ctx, t.log)[rpcbind.Key{Port: m.port, Protocol: s.Protocol}]
	}
	verdict, reason := reg.Judge(m.entry, obs)
	r := Row{
		ColPID:           IntValue(o.PID),
		ColProcessName:   TextValue(p.Name),
		ColProcessPath:   TextValue(p.Path),
		ColCmdline:       TextValue(p.Cmdline),
		ColUID:           IntValue(uid),
		ColUsername:      TextValue(username),
		ColFD:            IntValue(o.FD),
		ColSocket:        IntValue(-1),
		ColFamily:        IntValue(s.Family),
		ColProtocol:      IntValue(s.Protocol),
		ColTransport:     TextValue(registry.TransportName(s.Protocol)),
		ColLocalAddress:  TextValue(s.Local.Addr().String()),
		ColLocalPort:     IntValue(s.Local.Port()),
		ColRemoteAddress: TextValue(s.Remote.Addr().String()),
		ColRemotePort:    IntValue(s.Remote.Port()),
		ColState:         TextValue(s.State),
		ColPort:          IntValue(m.port),
		ColDirection:     TextValue(m.direction),
		ColExposure:      TextValue(exposure(s.Local.Addr())),
		ColNetNamespace:  TextValue(""),
		ColVerdict:       TextValue(string(verdict)),
		ColReason:        TextValue(reason),
	}
	if s.Inode != 0 {
		r[ColSocket] = IntValue(s.Inode)
	}
	if s.NetNS != 0 {
		r[ColNetNamespace] = TextValue(strconv.FormatUint(s.NetNS, 10))
	}
	putEntry(r, m.entry)
	return r
}

// putEntry fills the columns that describe a registry entry.
func putEntry(r Row, e *registry.Entry) {
	r[ColService] = TextValue(e.Service)
	r[ColDescription] = TextValue(e.Description)
	r[ColCategory] = TextValue(string(e.Category))
	r[ColRetired] = Value{} // NULL: the year is unknown
	if e.Retired != 0 {
		r[ColRetired] = IntValue(e.Retired)
	}
	r[ColReplacedBy] = TextValue(e.ReplacedBy)
	r[ColConfidence] = TextValue(string(e.Confidence))
	r[ColReference] = TextValue(strings.Join(e.References, "; "))
}

func exposure(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "wildcard"
	}
	return "address"
}

// processCache describes each process once per generate call. When the
// query uses no process column, nothing is read.
type processCache struct {
	src   sockets.Source
	want  bool
	procs map[int32]sockets.Process
	users map[int64]string
}

func newProcessCache(src sockets.Source, want bool) *processCache {
	return &processCache{src: src, want: want, procs: map[int32]sockets.Process{}, users: map[int64]string{}}
}

func (c *processCache) get(ctx context.Context, pid int32) sockets.Process {
	if pid < 0 || !c.want {
		return sockets.Process{UID: -1}
	}
	if p, ok := c.procs[pid]; ok {
		return p
	}
	// A process that exits between the socket walk and now keeps its pid in
	// the row with empty details, as osquery does.
	p, err := c.src.Process(ctx, pid)
	if err != nil && p.Name == "" {
		p = sockets.Process{UID: -1}
	}
	c.procs[pid] = p
	return p
}

func (c *processCache) username(uid int64) string {
	if !c.want {
		return ""
	}
	if name, ok := c.users[uid]; ok {
		return name
	}
	name := ""
	if u, err := user.LookupId(strconv.FormatInt(uid, 10)); err == nil {
		name = u.Username
	}
	c.users[uid] = name
	return name
}

// sortRows orders rows by the given columns, integers by value and text as
// bytes, so that output is stable for people and golden files.
func sortRows(rows []Row, keys ...string) {
	sort.SliceStable(rows, func(i, j int) bool {
		for _, k := range keys {
			if c := compareValues(rows[i][k], rows[j][k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// compareValues orders NULL first, then integers, then text.
func compareValues(a, b Value) int {
	if a.kind != b.kind {
		return cmp.Compare(a.kind, b.kind)
	}
	if a.kind == Int {
		return cmp.Compare(a.n, b.n)
	}
	return strings.Compare(a.s, b.s)
}
