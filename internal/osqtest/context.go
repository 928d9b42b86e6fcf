package osqtest

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/legacy-ports/legacy-ports/table"
)

// operatorCodes are the codes osquery sends for each operator: SQLite's
// SQLITE_INDEX_CONSTRAINT_* values (osquery/core/tables.h). They are written
// out here, apart from the adapter's own table, so that tests check the
// adapter against them.
var operatorCodes = map[table.Operator]int{
	table.Equals: 2, table.GreaterThan: 4, table.LessOrEqual: 8, table.LessThan: 16, table.GreaterOrEqual: 32,
	table.Match: 64, table.Like: 65, table.Glob: 66, table.Regexp: 67, table.NotEquals: 68,
	table.IsNot: 69, table.IsNotNull: 70, table.IsNull: 71, table.Is: 72,
}

// Context writes a generate context as osquery serialises one
// (osquery/core/tables.cpp, TablePlugin::setRequestFromContext): every
// column of cols listed with its affinity, with an empty list when
// unconstrained, then the constrained columns cols does not name, in name
// order; colsUsed and its bitset unless r.ColsUsed is nil.
func Context(cols []table.Column, r table.Request) string {
	type item struct {
		Op   int    `json:"op"`
		Expr string `json:"expr"`
	}
	type list struct {
		Name     string `json:"name"`
		List     []item `json:"list"`
		Affinity string `json:"affinity,omitempty"`
	}
	var ctx struct {
		Constraints []list    `json:"constraints"`
		ColsUsed    *[]string `json:"colsUsed,omitempty"`
		Bitset      *uint64   `json:"colsUsedBitset,omitempty"`
	}
	ctx.Constraints = []list{}
	add := func(name string, affinity table.ColumnType) {
		l := list{Name: name, List: []item{}, Affinity: string(affinity)}
		for _, c := range r.Constraints[name] {
			l.List = append(l.List, item{Op: operatorCodes[c.Op], Expr: c.Expr})
		}
		ctx.Constraints = append(ctx.Constraints, l)
	}
	var bitset uint64
	for i, c := range cols {
		add(c.Name, c.Type)
		if slices.Contains(r.ColsUsed, c.Name) {
			bitset |= 1 << min(i, 63)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.Constraints)) {
		if !slices.ContainsFunc(cols, func(c table.Column) bool { return c.Name == name }) {
			add(name, "")
		}
	}
	if r.ColsUsed != nil {
		ctx.ColsUsed, ctx.Bitset = &r.ColsUsed, &bitset
	}
	b, err := json.Marshal(ctx)
	if err != nil {
		panic(err) // only strings and numbers: cannot happen
	}
	return string(b)
}
