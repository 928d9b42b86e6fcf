package table

import (
	"math"
	"slices"
	"strconv"
	"strings"

	osqtable "github.com/osquery/osquery-go/plugin/table"

	"github.com/legacy-ports/legacy-ports/registry"
)

// Request is what a generate call receives: osquery's query context, and the
// columns the query uses (nil when the caller did not say, meaning all).
// The SQLite virtual tables of the command-line tool build the same shape.
type Request struct {
	Context  osqtable.QueryContext
	ColsUsed []string
}

// Uses reports whether the query reads any of cols.
func (r Request) Uses(cols ...string) bool {
	if r.ColsUsed == nil {
		return true
	}
	for _, c := range cols {
		if slices.Contains(r.ColsUsed, c) {
			return true
		}
	}
	return false
}

// valueSet is the set of values an indexed column may take, from EQUALS
// constraints. A nil set means the column is unconstrained.
//
// osquery sends an IN list on an OPTIMIZED column as several EQUALS on one
// column, and `a = 1 AND a = 2` looks the same; treating every EQUALS as an
// alternative gives the union, a superset of either reading, and SQLite
// applies the WHERE clause again to what we return. Other operators (<, LIKE,
// ...) narrow nothing: they are left to SQLite.
type valueSet[T comparable] map[T]struct{}

func (s valueSet[T]) allows(v T) bool {
	if s == nil {
		return true
	}
	_, ok := s[v]
	return ok
}

// equalities collects the EQUALS expressions on col; ok is false when the
// column has none.
func equalities(qc osqtable.QueryContext, col string) (exprs []string, ok bool) {
	list, found := qc.Constraints[col]
	if !found {
		return nil, false
	}
	for _, c := range list.Constraints {
		if c.Operator == osqtable.OperatorEquals {
			exprs = append(exprs, c.Expression)
		}
	}
	return exprs, len(exprs) > 0
}

// intSet parses the EQUALS values of an integer column. A value that is not
// an integer in [lo, hi] can match no row (`port = 'abc'`), so it is dropped;
// if every value is dropped the set is empty and the query has no rows.
func intSet[T ~int32 | ~uint16 | ~uint8](qc osqtable.QueryContext, col string, lo, hi int64) valueSet[T] {
	exprs, ok := equalities(qc, col)
	if !ok {
		return nil
	}
	set := valueSet[T]{}
	for _, e := range exprs {
		if n, ok := parseInteger(e); ok && n >= lo && n <= hi {
			set[T(n)] = struct{}{}
		}
	}
	return set
}

// parseInteger reads an expression the way SQLite's INTEGER affinity would
// compare it: "611", " 611 " and "611.0" are 611.
func parseInteger(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// textSet parses the EQUALS values of a text column that can only hold one
// of valid; other values can match no row.
func textSet(qc osqtable.QueryContext, col string, valid ...string) valueSet[string] {
	exprs, ok := equalities(qc, col)
	if !ok {
		return nil
	}
	set := valueSet[string]{}
	for _, e := range exprs {
		if slices.Contains(valid, e) {
			set[e] = struct{}{}
		}
	}
	return set
}

// portsFilter is what the constraints on legacy_ports' indexed columns allow.
type portsFilter struct {
	port, localPort, remotePort valueSet[uint16]
	pid                         valueSet[int32]
	protocol                    valueSet[uint8]
	direction                   valueSet[string]
}

func parsePortsFilter(qc osqtable.QueryContext) portsFilter {
	return portsFilter{
		port:       intSet[uint16](qc, ColPort, 0, math.MaxUint16),
		localPort:  intSet[uint16](qc, ColLocalPort, 0, math.MaxUint16),
		remotePort: intSet[uint16](qc, ColRemotePort, 0, math.MaxUint16),
		pid:        intSet[int32](qc, ColPID, -1, math.MaxInt32),
		protocol:   intSet[uint8](qc, ColProtocol, 0, math.MaxUint8),
		direction:  textSet(qc, ColDirection, registry.Listen, registry.Inbound, registry.Outbound),
	}
}

// empty reports whether no row can satisfy the constraints.
func (f portsFilter) empty() bool {
	for _, n := range []int{lenOrAny(f.port), lenOrAny(f.localPort), lenOrAny(f.remotePort),
		lenOrAny(f.pid), lenOrAny(f.protocol), lenOrAny(f.direction)} {
		if n == 0 {
			return true
		}
	}
	return false
}

// lenOrAny is the size of a constrained set, or -1 for an unconstrained one.
func lenOrAny[T comparable](s valueSet[T]) int {
	if s == nil {
		return -1
	}
	return len(s)
}

// pidList returns the pids a walk of process descriptors may be limited to,
// or nil when every process must be examined: to know that a socket has no
// owner (pid -1), every process has to be looked at.
func (f portsFilter) pidList() []int32 {
	if f.pid == nil || f.pid.allows(-1) {
		return nil
	}
	pids := make([]int32, 0, len(f.pid))
	for p := range f.pid {
		pids = append(pids, p)
	}
	return pids
}
