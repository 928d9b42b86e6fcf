package table

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/registry"
)

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

// intSet parses the EQUALS values of an integer column. A value that is not
// an integer in [lo, hi] can match no row (`port = 'abc'`), so it is dropped;
// if every value is dropped the set is empty and the query has no rows.
func intSet[T ~int32 | ~uint16 | ~uint8](req Request, col string, lo, hi int64) valueSet[T] {
	exprs, ok := req.Equalities(col)
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
func textSet(req Request, col string, valid ...string) valueSet[string] {
	exprs, ok := req.Equalities(col)
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

func parsePortsFilter(req Request) portsFilter {
	return portsFilter{
		port:       intSet[uint16](req, ColPort, 0, math.MaxUint16),
		localPort:  intSet[uint16](req, ColLocalPort, 0, math.MaxUint16),
		remotePort: intSet[uint16](req, ColRemotePort, 0, math.MaxUint16),
		pid:        intSet[int32](req, ColPID, -1, math.MaxInt32),
		protocol:   intSet[uint8](req, ColProtocol, 0, math.MaxUint8),
		direction:  textSet(req, ColDirection, registry.Listen, registry.Inbound, registry.Outbound),
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
