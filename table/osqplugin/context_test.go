package osqplugin

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	genosquery "github.com/osquery/osquery-go/gen/osquery"

	"github.com/legacy-ports/legacy-ports/internal/osqtest"
	"github.com/legacy-ports/legacy-ports/table"
)

func TestParseContext(t *testing.T) {
	tests := []struct {
		name, json string
		want       string // the request as describe writes it
		wantErr    string
	}{
		{"every column listed, one constrained",
			`{"constraints":[{"name":"port","list":[{"op":2,"expr":"611"}],"affinity":"INTEGER"},{"name":"pid","list":[],"affinity":"INTEGER"}],"colsUsed":["port","verdict"],"colsUsedBitset":1}`,
			"port=611 used=[port verdict]", ""},
		{"an IN list on an optimized column", `{"constraints":[{"name":"port","list":[{"op":2,"expr":"609"},{"op":2,"expr":"611"}]}]}`,
			"port=609 port=611 used=all", ""},
		{"every operator", `{"constraints":[{"name":"time","list":[` +
			`{"op":4,"expr":"1"},{"op":8,"expr":"2"},{"op":16,"expr":"3"},{"op":32,"expr":"4"},{"op":64,"expr":"m"},{"op":65,"expr":"l%"},` +
			`{"op":66,"expr":"g*"},{"op":67,"expr":"r"},{"op":68,"expr":"5"},{"op":69,"expr":"6"},{"op":70,"expr":""},{"op":71,"expr":""},{"op":72,"expr":"7"}]}]}`,
			"time>1 time<=2 time<3 time>=4 timeMATCHm timeLIKEl% timeGLOBg* timeREGEXPr time!=5 timeIS NOT6 timeIS NOT NULL timeIS NULL timeIS7 used=all", ""},
		{"an operator we do not know is left out", `{"constraints":[{"name":"port","list":[{"op":73,"expr":"10"},{"op":2,"expr":"23"}]}]}`,
			"port=23 used=all", ""},
		{"osquery before 3.0: string op, empty list as a string", `{"constraints":[{"name":"port","list":[{"op":"2","expr":"611"}]},{"name":"pid","list":""}]}`,
			"port=611 used=all", ""},
		{"no list at all", `{"constraints":[{"name":"pid"}]}`, "used=all", ""},
		{"colsUsed empty: no column used", `{"constraints":[],"colsUsed":[]}`, "used=[]", ""},
		{"empty object", `{}`, "used=all", ""},
		{"not JSON", `{"constraints":`, "", "unmarshaling context JSON"},
		{"operator not a number", `{"constraints":[{"name":"port","list":[{"op":"eq","expr":"1"}]}]}`, "", `column "port": operator`},
		{"operator a fraction", `{"constraints":[{"name":"port","list":[{"op":2.5,"expr":"1"}]}]}`, "", `operator "2.5" is not an integer`},
		{"expression a number", `{"constraints":[{"name":"port","list":[{"op":2,"expr":611}]}]}`, "", `column "port"`},
		{"expression missing", `{"constraints":[{"name":"port","list":[{"op":2}]}]}`, "", "expr should be a string"},
		{"list an object", `{"constraints":[{"name":"port","list":{"op":2}}]}`, "", "unexpected constraint list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseContext(tt.json)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(r); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// describe writes a request as "col<op>expr ... used=[...]", columns sorted.
func describe(r table.Request) string {
	var parts []string
	for _, col := range slices.Sorted(maps.Keys(r.Constraints)) {
		for _, c := range r.Constraints[col] {
			parts = append(parts, col+c.Op.String()+c.Expr)
		}
	}
	if r.ColsUsed == nil {
		parts = append(parts, "used=all")
	} else {
		parts = append(parts, fmt.Sprintf("used=%v", r.ColsUsed))
	}
	return strings.Join(parts, " ")
}

// FuzzParseContext feeds osquery's context JSON, as osquery or anything
// else could send it, to the parser and to legacy_ports behind the plugin:
// nothing may panic; a request that parses must survive a round trip
// through osquery's encoding; and the rows generated under its constraints
// must include every row of the unconstrained table that satisfies them
// (on the columns the query uses),
// since osquery's SQLite filters what we return but cannot bring back what
// we left out.
func FuzzParseContext(f *testing.F) {
	for _, seed := range []string{
		`{"constraints":[{"name":"port","list":[{"op":2,"expr":"611"}],"affinity":"INTEGER"},{"name":"pid","list":[],"affinity":"INTEGER"}],"colsUsed":["port","verdict"],"colsUsedBitset":1}`,
		`{"constraints":[{"name":"port","list":[{"op":2,"expr":"609"},{"op":2,"expr":"5190"}]}]}`,
		`{"constraints":[{"name":"pid","list":[{"op":2,"expr":"-1"}]},{"name":"direction","list":[{"op":2,"expr":"listen"}]}]}`,
		`{"constraints":[{"name":"local_port","list":[{"op":2,"expr":"611.0"}]},{"name":"protocol","list":[{"op":"2","expr":" 17 "}]}]}`,
		`{"constraints":[{"name":"remote_port","list":[{"op":4,"expr":"100"},{"op":16,"expr":"abc"}]},{"name":"port","list":""}]}`,
		`{"constraints":[{"name":"port","list":[{"op":68,"expr":"611"},{"op":71,"expr":""},{"op":65,"expr":"6%"}]}],"colsUsed":[]}`,
		`{"constraints":[{"name":"port","list":[{"op":2,"expr":"abc"}]}]}`,
		`{}`, `{"constraints":`, `[]`, `{"constraints":[{"name":"port","list":[{"op":2}]}]}`,
	} {
		f.Add(seed)
	}
	src := fakeHost()
	ports := portsPlugin(f, src)
	all := ports.Call(f.Context(), genosquery.ExtensionPluginRequest{"action": "generate", "context": "{}"})
	if all.Status.Code != 0 || len(all.Response) == 0 {
		f.Fatalf("unconstrained generate: %v, %d rows", all.Status, len(all.Response))
	}
	f.Fuzz(func(t *testing.T, ctxJSON string) {
		r, err := ParseContext(ctxJSON)
		resp := ports.Call(t.Context(), genosquery.ExtensionPluginRequest{"action": "generate", "context": ctxJSON})
		if err != nil {
			if resp.Status.Code != 1 {
				t.Fatalf("context %q does not parse (%v) but generate answered %v", ctxJSON, err, resp.Status)
			}
			return
		}
		again, err := ParseContext(osqtest.Context(nil, r))
		if err != nil || describe(again) != describe(r) {
			t.Fatalf("round trip of %q:\n got  %s (%v)\n want %s", ctxJSON, describe(again), err, describe(r))
		}
		if resp.Status.Code != 0 {
			t.Fatalf("generate failed on a context that parses: %v", resp.Status)
		}
		// Columns the query does not use may be left empty: compare the
		// others.
		used := func(row map[string]string) map[string]string {
			if r.ColsUsed == nil {
				return row
			}
			out := map[string]string{}
			for _, c := range r.ColsUsed {
				out[c] = row[c]
			}
			return out
		}
		for _, row := range all.Response {
			want := used(row)
			if satisfies(ports.def.Columns, row, r) && !slices.ContainsFunc(resp.Response, func(got map[string]string) bool { return maps.Equal(used(got), want) }) {
				t.Fatalf("context %q: row %v satisfies the constraints but was not returned", ctxJSON, row)
			}
		}
	})
}

// satisfies reports whether a row can satisfy r, reading several Equals on
// one column as an IN list (osquery's shape for OPTIMIZED columns, and the
// looser of the two readings). Comparisons follow SQLite: an INTEGER column
// converts an expression that reads as an integer; one that does not stays
// text, and every integer sorts before every text. Patterns (LIKE, GLOB,
// REGEXP, MATCH) count as satisfied: no table narrows on them.
func satisfies(cols []table.Column, row map[string]string, r table.Request) bool {
	for _, col := range cols {
		var eq []bool
		for _, c := range r.Constraints[col.Name] {
			ok := holds(col.Type, row[col.Name], c)
			if c.Op == table.Equals {
				eq = append(eq, ok)
			} else if !ok {
				return false
			}
		}
		if eq != nil && !slices.Contains(eq, true) {
			return false
		}
	}
	return true
}

func holds(t table.ColumnType, cell string, c table.Constraint) bool {
	null := t != table.Text && cell == ""
	switch c.Op {
	case table.IsNull:
		return null
	case table.IsNotNull:
		return !null
	case table.Like, table.Glob, table.Regexp, table.Match:
		return true
	}
	if null {
		return c.Op == table.IsNot
	}
	var order int
	if t == table.Text {
		order = strings.Compare(cell, c.Expr)
	} else if v, ok := table.ParseValue(t, c.Expr); ok {
		n, _ := v.Int()
		m, _ := strconv.ParseInt(cell, 10, 64)
		order = cmp.Compare(m, n)
	} else {
		order = -1 // an integer against text
	}
	switch c.Op {
	case table.Equals, table.Is:
		return order == 0
	case table.NotEquals, table.IsNot:
		return order != 0
	case table.GreaterThan:
		return order > 0
	case table.GreaterOrEqual:
		return order >= 0
	case table.LessThan:
		return order < 0
	case table.LessOrEqual:
		return order <= 0
	}
	return true
}
