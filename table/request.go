package table

import (
	"slices"
	"strconv"
)

// Operator is the comparison of a constraint. Every operator a front end
// can express is kept, so that a table may narrow on ranges and patterns
// (time > X) as well as on equality.
type Operator uint8

// The operators, as SQLite offers them to a virtual table.
const (
	Equals Operator = iota + 1
	NotEquals
	GreaterThan
	GreaterOrEqual
	LessThan
	LessOrEqual
	Like
	Glob
	Regexp
	Match
	Is        // IS, which is = that also matches NULL to NULL
	IsNot     // IS NOT
	IsNull    // IS NULL: no expression
	IsNotNull // IS NOT NULL: no expression
)

var operatorNames = [...]string{
	Equals: "=", NotEquals: "!=", GreaterThan: ">", GreaterOrEqual: ">=", LessThan: "<", LessOrEqual: "<=",
	Like: "LIKE", Glob: "GLOB", Regexp: "REGEXP", Match: "MATCH",
	Is: "IS", IsNot: "IS NOT", IsNull: "IS NULL", IsNotNull: "IS NOT NULL",
}

// String is the operator as SQL writes it.
func (o Operator) String() string {
	if int(o) < len(operatorNames) && operatorNames[o] != "" {
		return operatorNames[o]
	}
	return "operator " + strconv.Itoa(int(o))
}

// Constraint is one condition on a column: Op Expr. Expr is the value as
// text, the way osquery passes it and SQLite writes it (611, 611.0, abc);
// it may be anything, since `port = 'abc'` is valid SQL.
type Constraint struct {
	Op   Operator
	Expr string
}

// Request is what a generate call receives: every constraint the caller
// handed over, per column, and the columns the query uses (nil when the
// caller did not say, meaning all). Constraints are hints: the caller's SQL
// engine applies the whole WHERE clause again to the rows returned, so a
// table may ignore any of them and must return a superset.
type Request struct {
	Constraints map[string][]Constraint
	ColsUsed    []string
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

// Add appends a constraint on col.
func (r *Request) Add(col string, op Operator, expr string) {
	if r.Constraints == nil {
		r.Constraints = map[string][]Constraint{}
	}
	r.Constraints[col] = append(r.Constraints[col], Constraint{Op: op, Expr: expr})
}

// Equalities returns the expressions of the Equals constraints on col; ok
// is false when there is none.
func (r Request) Equalities(col string) (exprs []string, ok bool) {
	for _, c := range r.Constraints[col] {
		if c.Op == Equals {
			exprs = append(exprs, c.Expr)
		}
	}
	return exprs, len(exprs) > 0
}
