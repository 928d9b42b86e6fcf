package table

import (
	"context"
	"math"
	"net/netip"
	"strconv"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/rpcbind"
)

// EventSource is what legacy_port_events and legacy_ports_info read: the
// events recorded so far and the state of their capture. events.Manager is
// one; the command-line tool wraps it to start the capture on first use.
type EventSource interface {
	Query(q events.Query) []events.Row
	Info() events.Info
}

// eventsTable generates legacy_port_events from Options.Events.
type eventsTable struct {
	src EventSource
	rpc *rpcCache
	o   *Options
}

// generate narrows on time (=, >, >=, <, <=), port, pid and action; the
// store answers a time range by binary search. A value that cannot match
// (port = 'abc', action = 'open') gives no rows.
func (t *eventsTable) generate(ctx context.Context, req Request) ([]Row, error) {
	if t.src == nil {
		return nil, nil
	}
	q, ok := eventsQuery(req)
	if !ok {
		return nil, nil
	}
	q.RPCPrograms = func(port uint16, proto uint8) []string {
		return t.rpc.programs(ctx, t.o.Log)[rpcbind.Key{Port: port, Protocol: proto}]
	}
	evs := t.src.Query(q)
	rows := make([]Row, len(evs))
	for i := range evs {
		rows[i] = EventRow(&evs[i])
	}
	return rows, nil
}

// eventsQuery translates the constraints; ok is false when none can match.
func eventsQuery(req Request) (events.Query, bool) {
	var q events.Query
	ops := map[Operator]events.Op{
		Equals: events.OpEq, GreaterThan: events.OpGt, GreaterOrEqual: events.OpGe,
		LessThan: events.OpLt, LessOrEqual: events.OpLe,
	}
	for _, c := range req.Constraints[ColTime] {
		op, ok := ops[c.Op]
		if !ok {
			continue
		}
		n, ok := parseInteger(c.Expr)
		switch {
		case ok:
			q.Time = append(q.Time, events.TimeBound{Op: op, Sec: n})
		case c.Op == Equals:
			return q, false // time = 'abc' or 1.5: no event has that time
		}
		// A range bound that is not an integer (time > 1.5) is left to SQLite.
	}
	if s := intSet[uint16](req, ColPort, 0, math.MaxUint16); s != nil {
		q.Ports = setKeys(s)
	}
	if s := intSet[int32](req, ColPID, -1, math.MaxInt32); s != nil {
		q.PIDs = setKeys(s)
	}
	if s := textSet(req, ColAction, actionNames...); s != nil {
		q.Actions = make([]events.Action, 0, len(s))
		for a := range s {
			q.Actions = append(q.Actions, events.Action(a))
		}
	}
	empty := q.Ports != nil && len(q.Ports) == 0 || q.PIDs != nil && len(q.PIDs) == 0 ||
		q.Actions != nil && len(q.Actions) == 0
	return q, !empty
}

var actionNames = []string{
	string(events.Bind), string(events.Listen), string(events.Connect),
	string(events.Accept), string(events.Send), string(events.Close),
}

// setKeys lists a constrained set; never nil, so that an empty set still
// means "none".
func setKeys[T comparable](s valueSet[T]) []T {
	out := make([]T, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	return out
}

// EventRow is an event as a row of legacy_port_events, for the tables and for
// `legacy-ports watch`, which prints the rows a Subscription streams.
func EventRow(e *events.Row) Row {
	ns := ""
	if e.NetNS != 0 {
		ns = strconv.FormatUint(e.NetNS, 10)
	}
	r := Row{
		ColTime:          IntValue(e.Time),
		ColTimeNS:        IntValue(e.TimeNS),
		ColEID:           TextValue(e.EID),
		ColAction:        TextValue(string(e.Action)),
		ColCount:         IntValue(e.Count),
		ColPID:           IntValue(e.PID),
		ColProcessName:   TextValue(e.ProcessName),
		ColProcessPath:   TextValue(e.ProcessPath),
		ColCmdline:       TextValue(e.Cmdline),
		ColUID:           IntValue(e.UID),
		ColUsername:      TextValue(e.Username),
		ColFamily:        IntValue(e.Family),
		ColProtocol:      IntValue(e.Protocol),
		ColTransport:     TextValue(registry.TransportName(e.Protocol)),
		ColLocalAddress:  TextValue(addrText(e.Local)),
		ColLocalPort:     IntValue(e.Local.Port()),
		ColRemoteAddress: TextValue(addrText(e.Remote)),
		ColRemotePort:    IntValue(e.Remote.Port()),
		ColPort:          IntValue(e.Port),
		ColDirection:     TextValue(e.Direction),
		ColNetNamespace:  TextValue(ns),
		ColCgroup:        TextValue(e.Cgroup),
		ColVerdict:       TextValue(string(e.Verdict)),
		ColReason:        TextValue(e.Reason),
		ColSource:        TextValue(e.Source),
	}
	putEntry(r, e.Entry)
	return r
}

// addrText writes an address without brackets. A side the event does not
// have (connect has no local address yet, bind and listen no peer) gives "":
// eBPF leaves it unset, the poll source reports a listener's peer as 0.0.0.0:0.
func addrText(a netip.AddrPort) string {
	if !a.Addr().IsValid() || a.Addr().IsUnspecified() && a.Port() == 0 {
		return ""
	}
	return a.Addr().String()
}
