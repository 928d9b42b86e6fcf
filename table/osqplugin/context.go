package osqplugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/legacy-ports/legacy-ports/table"
)

// osqueryOperators maps the operator codes osquery sends (SQLite's
// SQLITE_INDEX_CONSTRAINT_* values, which osquery passes through) to ours.
// osquery's own UNIQUE (1) and IN (3) never travel; LIMIT and OFFSET are not
// conditions on a column.
var osqueryOperators = map[int]table.Operator{
	2:  table.Equals,
	4:  table.GreaterThan,
	8:  table.LessOrEqual,
	16: table.LessThan,
	32: table.GreaterOrEqual,
	64: table.Match,
	65: table.Like,
	66: table.Glob,
	67: table.Regexp,
	68: table.NotEquals,
	69: table.IsNot,
	70: table.IsNotNull,
	71: table.IsNull,
	72: table.Is,
}

// queryContext is osquery's generate context (osquery/core/tables.cpp,
// TablePlugin::setRequestFromContext):
//
//	{"constraints":[{"name":"port","list":[{"op":2,"expr":"611"}],"affinity":"INTEGER"}, ...],
//	 "colsUsed":["port", ...], "colsUsedBitset":N}
//
// osquery before 3.0 sent op as a string and an empty list as "".
type queryContext struct {
	Constraints []struct {
		Name string          `json:"name"`
		List json.RawMessage `json:"list"`
	} `json:"constraints"`
	ColsUsed []string `json:"colsUsed"`
}

type constraintJSON struct {
	Op   json.RawMessage `json:"op"`
	Expr *string         `json:"expr"`
}

// ParseContext translates osquery's context JSON into a table.Request:
// every constraint with an operator we know, per column, and colsUsed (nil
// when osquery did not send it, meaning every column). A constraint with an
// operator we do not know is left out: it could only narrow the rows, and
// osquery's SQLite applies the WHERE clause again anyway. Malformed JSON, an
// operator that is not a number or an expression that is not a string is an
// error.
func ParseContext(ctxJSON string) (table.Request, error) {
	var qc queryContext
	if err := json.Unmarshal([]byte(ctxJSON), &qc); err != nil {
		return table.Request{}, fmt.Errorf("unmarshaling context JSON: %w", err)
	}
	r := table.Request{ColsUsed: qc.ColsUsed}
	for _, cl := range qc.Constraints {
		list, err := constraintList(cl.List)
		if err != nil {
			return table.Request{}, fmt.Errorf("column %q: %w", cl.Name, err)
		}
		for _, c := range list {
			code, err := operatorCode(c.Op)
			if err != nil {
				return table.Request{}, fmt.Errorf("column %q: %w", cl.Name, err)
			}
			if c.Expr == nil {
				return table.Request{}, fmt.Errorf("column %q: expr should be a string", cl.Name)
			}
			if op, ok := osqueryOperators[code]; ok {
				r.Add(cl.Name, op, *c.Expr)
			}
		}
	}
	return r, nil
}

// constraintList reads a column's list: an array, or the empty string (and
// null) that mean no constraint.
func constraintList(raw json.RawMessage) ([]constraintJSON, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return nil, nil
	}
	var list []constraintJSON
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("unexpected constraint list %.40s: %w", raw, err)
	}
	return list, nil
}

// operatorCode reads op: a number, or a number in a string.
func operatorCode(raw json.RawMessage) (int, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("operator %.20s is not a number", raw)
	}
	code, err := strconv.Atoi(n.String())
	if err != nil {
		return 0, errors.New("operator " + strconv.Quote(n.String()) + " is not an integer")
	}
	return code, nil
}
