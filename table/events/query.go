package events

import (
	"math"
	"net/netip"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
)

// Op is a comparison on the time column, as osquery passes constraints.
type Op uint8

// The operators that narrow a time range.
const (
	OpEq Op = iota + 1
	OpGt
	OpGe
	OpLt
	OpLe
)

// TimeBound is one constraint on the time column (unix seconds).
type TimeBound struct {
	Op  Op
	Sec int64
}

// Query selects rows. Every field narrows the result; a nil set means any
// value, an empty non-nil set means none (a constraint that cannot match).
type Query struct {
	Time    []TimeBound // all must hold
	Ports   []uint16    // the registry port (column port)
	PIDs    []int32
	Actions []Action
	// RPCPrograms, when set, tells which Sun RPC programs rpcbind maps to a
	// port; it is asked only where that could change a verdict.
	RPCPrograms func(port uint16, proto uint8) []string
}

// Row is one row of legacy_port_events.
type Row struct {
	EID         string // FormatEID
	Time        int64  // unix seconds
	TimeNS      int64  // unix nanoseconds (the whole time, not the fraction)
	Count       uint32 // identical events folded into this row; at least 1
	Action      Action
	PID         int32 // -1 when unknown
	ProcessName string
	ProcessPath string
	Cmdline     string
	UID         int64 // -1 when unknown
	Username    string
	Family      uint8
	Protocol    uint8
	Local       netip.AddrPort
	Remote      netip.AddrPort
	Port        uint16 // the registry port the event touches
	Direction   string // registry.Listen, Inbound or Outbound
	NetNS       uint64 // 0 when unknown
	Cgroup      string
	Source      string // SourceEBPF or SourcePoll

	// Set by Judge.
	Entry   *registry.Entry
	Verdict registry.Verdict
	Reason  string
}

// nsRange turns the time bounds into an inclusive range of nanoseconds.
func (q Query) nsRange() (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	for _, b := range q.Time {
		start, next := secNS(b.Sec), secNS(b.Sec+1) // [start, next) is second Sec
		switch b.Op {
		case OpEq:
			lo, hi = max(lo, start), min(hi, next-1)
		case OpGt:
			lo = max(lo, next)
		case OpGe:
			lo = max(lo, start)
		case OpLt:
			hi = min(hi, start-1)
		case OpLe:
			hi = min(hi, next-1)
		}
	}
	return lo, hi
}

// secNS converts unix seconds to nanoseconds, saturating far outside the
// years an int64 of nanoseconds can hold.
func secNS(sec int64) int64 {
	const limit = math.MaxInt64/int64(time.Second) - 1
	return int64(time.Second) * max(-limit, min(limit, sec))
}

// Judge fills each row's registry entry and verdict from reg, the registry
// in force now, and drops rows whose port has left the registry (the
// admin disabled it since). Judging at query time, not at arrival, means
// that an admin's allow rule or correction applies to past events too, as
// it does to legacy_ports.
func Judge(rows []Row, reg *registry.Registry, rpc func(port uint16, proto uint8) []string) []Row {
	type judged struct {
		entry   *registry.Entry
		verdict registry.Verdict
		reason  string
	}
	type memoKey struct {
		port                  uint16
		proto                 uint8
		pid                   int32
		direction, name, path string
		username              string
		local, remote         netip.Addr
	}
	memo := map[memoKey]judged{} // many rows share a process and port
	out := rows[:0]
	for _, r := range rows {
		e, ok := reg.Lookup(r.Port, r.Protocol)
		if !ok {
			continue
		}
		// The expected-owner rules look at the pid (System is pid 4) and at
		// the address on the port's side (sshd's X11 displays on loopback),
		// as they do for legacy_ports rows.
		obs := registry.Observation{
			Port: r.Port, Proto: r.Protocol, Direction: r.Direction,
			LocalAddr: r.Local.Addr(), RemoteAddr: r.Remote.Addr(), PID: r.PID,
			ProcessName: r.ProcessName, ProcessPath: r.ProcessPath, Username: r.Username,
		}
		k := memoKey{r.Port, r.Protocol, r.PID, r.Direction, r.ProcessName, r.ProcessPath, r.Username, r.Local.Addr(), r.Remote.Addr()}
		j, ok := memo[k]
		if !ok {
			if rpc != nil && registry.MayBeRPC(obs) {
				obs.RPCPrograms = rpc(r.Port, r.Protocol)
			}
			j.entry = e
			j.verdict, j.reason = reg.Judge(e, obs)
			memo[k] = j
		}
		r.Entry, r.Verdict, r.Reason = j.entry, j.verdict, j.reason
		out = append(out, r)
	}
	return out
}
