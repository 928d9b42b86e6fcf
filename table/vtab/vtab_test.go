package vtab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/sockets"
	"github.com/legacy-ports/legacy-ports/table/sockets/sockettest"
	"github.com/legacy-ports/legacy-ports/table/tabletest"
)

// entry is a registry entry for a test; the facts a table shows are made up.
type entry struct {
	port                         int
	transport, service, category string
	retired                      string
}

// registryYAML writes entries as a registry data file.
func registryYAML(entries ...entry) string {
	var b strings.Builder
	b.WriteString("updated: 2026-01-02\nentries:\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "  - {port: %d, transport: %s, service: %s, category: %s, retired: %s, description: A test port., replaced_by: none, confidence: high, references: [test]}\n",
			e.port, e.transport, e.service, e.category, e.retired)
	}
	return b.String()
}

var testRegistry = registryYAML(
	entry{23, "tcp", "telnet", "insecure-legacy", "unknown"},
	entry{609, "[tcp, udp]", "npmp-trap", "dead-product", "unknown"},
	entry{611, "[tcp, udp]", "npmp-gui", "dead-product", "unknown"},
	entry{5190, "tcp", "aol", "dead-product", "2017"},
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// fakeHost has a listener shared by two processes, a UDP socket, an
// accepted connection, an outbound client, an owner-less telnet listener and
// a socket on a port the registry does not know.
func fakeHost() *sockettest.Static {
	return &sockettest.Static{
		Socks: []sockets.Socket{
			{Family: 2, Protocol: 6, Local: ap("0.0.0.0:609"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 101},
			{Family: 10, Protocol: 17, Local: ap("[::1]:611"), Remote: ap("[::]:0"), Inode: 102},
			{Family: 2, Protocol: 6, Local: ap("10.0.0.5:609"), Remote: ap("10.0.0.9:40000"), State: "ESTABLISHED", Inode: 103},
			{Family: 2, Protocol: 6, Local: ap("192.168.1.2:45678"), Remote: ap("198.51.100.7:5190"), State: "ESTABLISHED", Inode: 104, UID: 1000},
			{Family: 10, Protocol: 6, Local: ap("[::]:23"), Remote: ap("[::]:0"), State: "LISTEN", Inode: 106},
			{Family: 2, Protocol: 6, Local: ap("0.0.0.0:8080"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 108},
		},
		Owned: map[uint64][]sockets.Owner{
			101: {{PID: 10, FD: 3}, {PID: 11, FD: 3}},
			102: {{PID: 20, FD: 7}},
			103: {{PID: 10, FD: 5}},
			104: {{PID: 30, FD: 21}},
			108: {{PID: 50, FD: 3}},
		},
		Procs: map[int32]sockets.Process{
			10: {Name: "ghostd", Path: "/usr/sbin/ghostd", UID: 0, Username: "root"},
			11: {Name: "ghostd", Path: "/usr/sbin/ghostd", UID: 0, Username: "root"},
			20: {Name: "rpc.statd", Path: "/usr/sbin/rpc.statd", UID: 0, Username: "root"},
			30: {Name: "pidgin", Path: "/usr/bin/pidgin", UID: 1000, Username: "alice"},
		},
		Caps: sockets.Capabilities{Namespaces: true, Attribution: sockets.Full},
	}
}

func definitions(t *testing.T, src sockets.Source, regText string) []table.Definition {
	t.Helper()
	reg := tabletest.Registry(t, regText)
	return table.Definitions(table.Options{
		Source:  src,
		State:   func() table.State { return table.State{Registry: reg, Custom: "none"} },
		Version: "1.2.3",
	})
}

func openDB(t *testing.T, defs []table.Definition, opts ...Option) *DB {
	t.Helper()
	db, err := Open(t.Context(), defs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// flat renders rows as "a|b|c" lines, in the order of cols.
func flat(cols []string, rows []map[string]string) string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		vals := make([]string, len(cols))
		for j, c := range cols {
			vals[j] = r[c]
		}
		lines[i] = strings.Join(vals, "|")
	}
	return strings.Join(lines, "\n")
}

// queryTest is a statement and its rows as flat writes them.
type queryTest struct {
	name, sql, want string
}

func runQueries(t *testing.T, db *DB, tests []queryTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols, rows, err := db.Query(t.Context(), tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(cols, rows); got != tt.want {
				t.Errorf("%s\ngot:\n%s\nwant:\n%s", tt.sql, got, tt.want)
			}
		})
	}
}

func TestQueries(t *testing.T) {
	db := openDB(t, definitions(t, fakeHost(), testRegistry))
	runQueries(t, db, []queryTest{
		{"every row", "SELECT port, pid, direction, transport, verdict FROM legacy_ports ORDER BY port, pid, direction",
			"23|-1|listen|tcp|insecure\n609|10|inbound|tcp|ghost\n609|10|listen|tcp|ghost\n609|11|listen|tcp|ghost\n611|20|listen|udp|rpc-dynamic\n5190|30|outbound|tcp|ghost"},
		{"indexed column", "SELECT port, pid, direction FROM legacy_ports WHERE port = 609 ORDER BY pid, direction",
			"609|10|inbound\n609|10|listen\n609|11|listen"},
		{"indexed column, text value", "SELECT pid FROM legacy_ports WHERE port = '5190'", "30"},
		{"indexed text column", "SELECT port, pid FROM legacy_ports WHERE direction = 'outbound'", "5190|30"},
		{"non-indexed column", "SELECT port, pid, direction FROM legacy_ports WHERE process_name = 'ghostd' ORDER BY pid, direction",
			"609|10|inbound\n609|10|listen\n609|11|listen"},
		{"IN list", "SELECT port, pid FROM legacy_ports WHERE port IN (23, 5190) ORDER BY port", "23|-1\n5190|30"},
		{"IN list on pid", "SELECT port, pid FROM legacy_ports WHERE pid IN (20, 30) ORDER BY pid", "611|20\n5190|30"},
		{"IN from a subquery", "SELECT pid FROM legacy_ports WHERE port IN (SELECT port FROM legacy_port_registry WHERE service = 'aol')", "30"},
		{"range is filtered by SQLite", "SELECT port, pid FROM legacy_ports WHERE port > 600 AND port < 1000 AND direction = 'listen' ORDER BY pid", "609|10\n609|11\n611|20"},
		{"LIKE is filtered by SQLite", "SELECT count(*) FROM legacy_ports WHERE direction LIKE 'L%'", "4"},
		{"NOCASE equality is not lost", "SELECT count(*) FROM legacy_ports WHERE direction = 'LISTEN' COLLATE NOCASE", "4"},
		{"a value that cannot match", "SELECT count(*) FROM legacy_ports WHERE port = 'abc'", "0"},
		{"join", "SELECT lp.port, lp.pid, r.service, r.category FROM legacy_ports lp JOIN legacy_port_registry r ON r.port = lp.port AND r.protocol = lp.protocol WHERE r.category = 'dead-product' ORDER BY lp.port, lp.pid, lp.direction",
			"609|10|npmp-trap|dead-product\n609|10|npmp-trap|dead-product\n609|11|npmp-trap|dead-product\n611|20|npmp-gui|dead-product\n5190|30|aol|dead-product"},
		{"join from the registry", "SELECT r.port, r.transport, count(lp.pid) FROM legacy_port_registry r LEFT JOIN legacy_ports lp ON lp.port = r.port AND lp.transport = r.transport GROUP BY r.port, r.transport ORDER BY r.port, r.transport",
			"23|tcp|1\n609|tcp|3\n609|udp|0\n611|tcp|0\n611|udp|1\n5190|tcp|1"},
		{"group by", "SELECT port, count(*) AS n FROM legacy_ports GROUP BY port ORDER BY n DESC, port", "609|3\n23|1\n611|1\n5190|1"},
		{"integer columns are integers", "SELECT typeof(pid), typeof(port), typeof(uid), typeof(process_name) FROM legacy_ports WHERE pid = -1", "integer|integer|integer|text"},
		{"empty integer cells are NULL", "SELECT count(*) FROM legacy_port_registry WHERE retired IS NULL", "5"},
		{"info", "SELECT version, registry_entries, namespaces_supported FROM legacy_ports_info", "1.2.3|4|1"},
	})
}

// call is one Generate call as a test sees it: the EQUALS expressions per
// column, and the columns used.
type call struct {
	eq   string
	used []string
}

// recorder wraps each definition's Generate and keeps what it received.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]table.Request
}

func (r *recorder) wrap(defs []table.Definition) []table.Definition {
	r.calls = map[string][]table.Request{}
	out := slices.Clone(defs)
	for i := range out {
		name, gen := out[i].Name, out[i].Generate
		out[i].Generate = func(ctx context.Context, req table.Request) ([]table.Row, error) {
			r.mu.Lock()
			r.calls[name] = append(r.calls[name], req)
			r.mu.Unlock()
			return gen(ctx, req)
		}
	}
	return out
}

// take returns and forgets the calls of a table.
func (r *recorder) take(name string) []table.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls[name]
	delete(r.calls, name)
	return c
}

// describe writes the constraints of a request as "col=v1,v2 col2>v3", in
// column order, failing on a constraint on a column that is not Index.
func describe(t *testing.T, def table.Definition, req table.Request) string {
	t.Helper()
	var parts []string
	seen := 0
	for _, col := range def.Columns {
		list := req.Constraints[col.Name]
		if len(list) == 0 {
			continue
		}
		seen++
		if !col.Index {
			t.Errorf("column %s is not Index but received %v", col.Name, list)
		}
		byOp := map[table.Operator][]string{}
		var ops []table.Operator
		for _, c := range list {
			if byOp[c.Op] == nil {
				ops = append(ops, c.Op)
			}
			byOp[c.Op] = append(byOp[c.Op], c.Expr)
		}
		for _, op := range ops {
			parts = append(parts, col.Name+op.String()+strings.Join(byOp[op], ","))
		}
	}
	if seen != len(req.Constraints) {
		t.Errorf("constraints on columns the table does not have: %v", req.Constraints)
	}
	return strings.Join(parts, " ")
}

func TestConstraintsReachGenerate(t *testing.T) {
	var rec recorder
	defs := rec.wrap(definitions(t, fakeHost(), testRegistry))
	db := openDB(t, defs)
	ports := defs[0]
	all := make([]string, len(ports.Columns))
	for i, c := range ports.Columns {
		all[i] = c.Name
	}
	tests := []struct {
		name, sql string
		want      []call // the calls of legacy_ports' Generate, in order
	}{
		{"equality", "SELECT * FROM legacy_ports WHERE port = 611", []call{{"port=611", all}}},
		{"IN list: one call per value", "SELECT * FROM legacy_ports WHERE port IN (609, 611, 23)",
			[]call{{"port=23", all}, {"port=609", all}, {"port=611", all}}},
		{"two indexed columns", "SELECT * FROM legacy_ports WHERE port = 609 AND pid = 10", []call{{"pid=10 port=609", all}}},
		{"text value as given", "SELECT * FROM legacy_ports WHERE port = '611'", []call{{"port=611", all}}},
		{"real value as SQLite writes it", "SELECT * FROM legacy_ports WHERE port = 611.0", []call{{"port=611.0", all}}},
		{"indexed text column", "SELECT * FROM legacy_ports WHERE direction = 'listen'", []call{{"direction=listen", all}}},
		{"non-indexed column is not handed over", "SELECT * FROM legacy_ports WHERE process_name = 'ghostd'", []call{{"", all}}},
		{"greater than", "SELECT * FROM legacy_ports WHERE port > 600", []call{{"port>600", all}}},
		{"a range", "SELECT * FROM legacy_ports WHERE port >= 600 AND port < 700", []call{{"port>=600 port<700", all}}},
		// SQLite adds the range its LIKE optimisation derives, wide enough
		// for either case.
		{"LIKE", "SELECT * FROM legacy_ports WHERE direction LIKE 'listen'", []call{{"direction>=LISTEN direction<listeo directionLIKElisten", all}}},
		{"inequality", "SELECT * FROM legacy_ports WHERE port != 611", []call{{"port!=611", all}}},
		{"IS", "SELECT * FROM legacy_ports WHERE port IS 611", []call{{"portIS611", all}}},
		{"IS NULL", "SELECT * FROM legacy_ports WHERE pid IS NULL", []call{{"pidIS NULL", all}}},
		{"IS NOT with NULL", "SELECT * FROM legacy_ports WHERE pid IS NOT NULL", []call{{"pidIS NOT NULL", all}}},
		{"every operator of a mix, on Index columns only", "SELECT * FROM legacy_ports WHERE port = 609 AND pid > 5 AND process_name LIKE 'g%'", []call{{"pid>5 port=609", all}}},
		{"a collation keeps text values back", "SELECT * FROM legacy_ports WHERE direction = 'LISTEN' COLLATE NOCASE AND port = 609",
			[]call{{"port=609", all}}},
		{"colUsed: selected and filtered columns", "SELECT port, pid FROM legacy_ports WHERE verdict = 'ghost'",
			[]call{{"", []string{"pid", "port", "verdict"}}}},
		{"colUsed: none for count(*)", "SELECT count(*) FROM legacy_ports", []call{{"", []string{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := db.Query(t.Context(), tt.sql); err != nil {
				t.Fatal(err)
			}
			var got []call
			for _, req := range rec.take(table.LegacyPorts) {
				used := slices.Clone(req.ColsUsed)
				if used == nil {
					t.Error("ColsUsed is nil: SQLite's colUsed did not reach Generate")
				}
				slices.Sort(used)
				got = append(got, call{describe(t, ports, req), used})
			}
			// The order in which SQLite walks an IN list is its own business.
			slices.SortFunc(got, func(a, b call) int { return strings.Compare(a.eq, b.eq) })
			want := slices.Clone(tt.want)
			for i := range want {
				want[i].used = slices.Sorted(slices.Values(want[i].used))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s\ngot  %v\nwant %v", tt.sql, got, want)
			}
		})
	}
}

// TestPushdownNarrowsWork checks that what reaches Generate changes the work
// done: the pid walk and the process lookups.
func TestPushdownNarrowsWork(t *testing.T) {
	tests := []struct {
		name, sql     string
		ownerPIDs     []int32 // pids the walk of descriptors was limited to
		processLookup bool
	}{
		{"pid equality limits the walk", "SELECT port FROM legacy_ports WHERE pid = 20", []int32{20}, false},
		{"no process column, no process lookup", "SELECT port, pid FROM legacy_ports", nil, false},
		{"process column, process lookup", "SELECT process_name FROM legacy_ports", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fakeHost()
			db := openDB(t, definitions(t, src, testRegistry))
			if _, _, err := db.Query(t.Context(), tt.sql); err != nil {
				t.Fatal(err)
			}
			calls := src.OwnerCalls()
			if len(calls) != 1 {
				t.Fatalf("Owners called %d times, want 1", len(calls))
			}
			if !slices.Equal(calls[0].PIDs, tt.ownerPIDs) {
				t.Errorf("Owners limited to pids %v, want %v", calls[0].PIDs, tt.ownerPIDs)
			}
			if got := src.ProcessCalls() > 0; got != tt.processLookup {
				t.Errorf("processes looked up: %v, want %v", got, tt.processLookup)
			}
		})
	}
}

func TestCellConversion(t *testing.T) {
	def := table.Definition{
		Name: "cells",
		Columns: []table.Column{
			{Name: "id", Type: table.Integer},
			{Name: "n", Type: table.Integer},
			{Name: "big", Type: table.BigInt},
			{Name: "s", Type: table.Text},
		},
		Generate: func(context.Context, table.Request) ([]table.Row, error) {
			return []table.Row{
				{"id": table.IntValue(1), "n": table.IntValue(12), "big": table.IntValue(int64(9007199254740993)), "s": table.TextValue("x")},
				{"id": table.IntValue(2), "n": table.Value{}, "big": table.Value{}, "s": table.TextValue("")},
				{"id": table.IntValue(3), "s": table.Value{}},
			}, nil
		},
	}
	db := openDB(t, []table.Definition{def})
	cols, rows, err := db.Query(t.Context(), "SELECT id, typeof(n), n, typeof(big), big, typeof(s), s FROM cells ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	want := "1|integer|12|integer|9007199254740993|text|x\n" +
		"2|null||null||text|\n" +
		"3|null||null||null|"
	if got := flat(cols, rows); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestResultValues(t *testing.T) {
	db := openDB(t, definitions(t, fakeHost(), testRegistry))
	cols, rows, err := db.Query(t.Context(), "SELECT 1 AS i, 1.0 AS r, 2.5 AS h, 1e20 AS e, NULL AS n, x'41' AS b, 'a' AS i")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"i", "r", "h", "e", "n", "b"}; !slices.Equal(cols, want) {
		t.Errorf("columns %v, want %v (a repeated name once)", cols, want)
	}
	if got, want := flat(cols, rows), "a|1.0|2.5|1.0e+20||A"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	failing := table.Definition{
		Name:    "failing",
		Columns: []table.Column{{Name: "a", Type: table.Text}},
		Generate: func(context.Context, table.Request) ([]table.Row, error) {
			return nil, errors.New("the source broke")
		},
	}
	db := openDB(t, append(definitions(t, fakeHost(), testRegistry), failing))
	tests := []struct {
		name, sql, want string
	}{
		{"syntax", "SELEC port FROM legacy_ports", `near "SELEC": syntax error`},
		{"unknown table", "SELECT * FROM legacy_portz", "no such table: legacy_portz"},
		{"unknown column", "SELECT nope FROM legacy_ports", "no such column: nope"},
		{"write", "INSERT INTO legacy_ports(port) VALUES (1)", "not authorized: this engine only reads"},
		{"schema change", "CREATE TABLE t(a)", "not authorized"},
		{"attach creates no file", "ATTACH '" + filepath.Join(dir, "a.db") + "' AS a", "not authorized"},
		{"vacuum into creates no file", "VACUUM INTO '" + filepath.Join(dir, "v.db") + "'", "authorization denied"},
		{"two statements", "SELECT 1; SELECT 2", "2 statements where one was expected"},
		{"nothing", " -- only a comment\n", "empty statement"},
		{"generate fails", "SELECT * FROM failing", "the source broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols, rows, err := db.Query(t.Context(), tt.sql)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%s: error %v, want one containing %q", tt.sql, err, tt.want)
			}
			if cols != nil || rows != nil {
				t.Errorf("%s: got columns %v and rows %v with the error", tt.sql, cols, rows)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("statements created files: %v", entries)
	}
}

func TestCancelled(t *testing.T) {
	db := openDB(t, definitions(t, fakeHost(), testRegistry))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := db.Query(ctx, "SELECT * FROM legacy_ports"); err == nil {
		t.Error("a cancelled query succeeded")
	}
}

func TestConcurrentQueries(t *testing.T) {
	db := openDB(t, definitions(t, fakeHost(), testRegistry))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, rows, err := db.Query(t.Context(), "SELECT * FROM legacy_ports WHERE port IN (609, 611)")
			if err != nil || len(rows) != 4 {
				t.Errorf("got %d rows, error %v; want 4 rows", len(rows), err)
			}
		})
	}
	wg.Wait()
}

// standIns are two of osquery's tables, with some of their columns.
var standIns = map[string]string{
	"listening_ports":      "pid INTEGER, port INTEGER, protocol INTEGER, address TEXT, socket BIGINT",
	"process_open_sockets": "pid INTEGER, socket BIGINT, remote_port INTEGER",
}

func TestCheckStandIns(t *testing.T) {
	db := openDB(t, definitions(t, fakeHost(), testRegistry), StandIns(standIns))
	tests := []struct {
		name, sql string
		missing   string // the table Query reports missing
		checkErr  string // "" when Check accepts the statement
	}{
		{"join with a stand-in", "SELECT lp.pid, lp.port, r.service FROM listening_ports lp JOIN legacy_port_registry r ON lp.port = r.port AND lp.protocol = r.protocol",
			"listening_ports", ""},
		{"two stand-ins and a table", "SELECT s.remote_port FROM process_open_sockets s JOIN listening_ports p USING (pid) JOIN legacy_ports l ON l.socket = s.socket",
			"process_open_sockets", ""},
		{"wrong column of a stand-in", "SELECT nope FROM listening_ports", "listening_ports", "no such column: nope"},
		{"a table that is no stand-in", "SELECT * FROM listening_portz", "listening_portz", "no such table: listening_portz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := db.Query(t.Context(), tt.sql)
			name, ok := MissingTable(err)
			if !ok || name != tt.missing {
				t.Fatalf("Query error %v: missing table %q, want %q", err, name, tt.missing)
			}
			err = db.Check(t.Context(), tt.sql)
			if tt.checkErr == "" && err != nil {
				t.Errorf("Check: %v", err)
			}
			if tt.checkErr != "" && (err == nil || !strings.Contains(err.Error(), tt.checkErr)) {
				t.Errorf("Check error %v, want one containing %q", err, tt.checkErr)
			}
		})
	}
	// The stand-ins live apart: they never answer a query.
	if _, _, err := db.Query(t.Context(), "SELECT * FROM listening_ports"); err == nil {
		t.Error("listening_ports answered a query after Check")
	}
	if err := db.Check(t.Context(), "SELECT 1; SELECT 2"); err == nil || !strings.Contains(err.Error(), "2 statements") {
		t.Errorf("Check of two statements: %v", err)
	}
}

func TestTablesAndSchema(t *testing.T) {
	db := openDB(t, definitions(t, fakeHost(), testRegistry))
	if got, want := db.Tables(), []string{table.LegacyPorts, table.PortRegistry, table.LegacyPortInfo, table.PortEvents}; !slices.Equal(got, want) {
		t.Errorf("Tables() = %v, want %v", got, want)
	}
	s, ok := db.Schema(table.LegacyPortInfo)
	want := "CREATE TABLE legacy_ports_info(`version` TEXT, `registry_entries` INTEGER, `registry_date` TEXT, `custom_registry` TEXT, `errors` TEXT, `namespaces_supported` INTEGER, `pid_attribution` TEXT, `events_source` TEXT, `events_reason` TEXT, `events_dropped` BIGINT, `events_evicted` BIGINT);"
	if !ok || s != want {
		t.Errorf("Schema = %q, %v\nwant %q", s, ok, want)
	}
	if _, ok := db.Schema("nope"); ok {
		t.Error("Schema of an unknown table")
	}
	// The declared schema is what SQLite sees.
	cols, rows, err := db.Query(t.Context(), "PRAGMA table_info(legacy_ports_info)")
	if err != nil {
		t.Fatal(err)
	}
	if got := flat(cols[1:3], rows[:2]); got != "version|TEXT\nregistry_entries|INTEGER" {
		t.Errorf("table_info: %s", got)
	}
}

func TestOpenRejects(t *testing.T) {
	gen := func(context.Context, table.Request) ([]table.Row, error) { return nil, nil }
	col := []table.Column{{Name: "a", Type: table.Text}}
	tests := []struct {
		name string
		defs []table.Definition
		want string
	}{
		{"same name twice", []table.Definition{{Name: "t", Columns: col, Generate: gen}, {Name: "t", Columns: col, Generate: gen}}, `table name "t"`},
		{"odd table name", []table.Definition{{Name: "t; DROP", Columns: col, Generate: gen}}, `table name "t; DROP"`},
		{"no columns", []table.Definition{{Name: "t", Generate: gen}}, "table t has no columns"},
		{"odd column name", []table.Definition{{Name: "t", Columns: []table.Column{{Name: "a b", Type: table.Text}}, Generate: gen}}, `column name "a b"`},
		{"unknown type", []table.Definition{{Name: "t", Columns: []table.Column{{Name: "a", Type: "DOUBLE"}}, Generate: gen}}, `type "DOUBLE"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.Context(), tt.defs)
			if err == nil {
				_ = db.Close()
				t.Fatal("Open accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSeveralDatabases(t *testing.T) {
	a := openDB(t, definitions(t, fakeHost(), testRegistry))
	b := openDB(t, definitions(t, &sockettest.Static{}, testRegistry))
	for _, tt := range []struct {
		db   *DB
		want int
	}{{a, 6}, {b, 0}} {
		_, rows, err := tt.db.Query(t.Context(), "SELECT * FROM legacy_ports")
		if err != nil || len(rows) != tt.want {
			t.Errorf("got %d rows, error %v; want %d rows", len(rows), err, tt.want)
		}
	}
}

// TestEventTimeConstraintReachesTheTable checks that SQLite hands the range
// on time to legacy_port_events, which answers only the later events.
func TestEventTimeConstraintReachesTheTable(t *testing.T) {
	reg := tabletest.Registry(t, testRegistry)
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	src := tabletest.NewEvents(reg, func() time.Time { return t0.Add(time.Minute) })
	for i := range 3 {
		src.Add(t, events.Event{Time: t0.Add(time.Duration(i) * time.Second), Action: events.Connect, PID: int32(100 + i),
			UID: -1, Family: 2, Protocol: 6, Remote: netip.MustParseAddrPort("127.0.0.1:609"), Source: events.SourcePoll},
			sockets.Process{UID: -1})
	}
	db := openDB(t, table.Definitions(table.Options{
		Source: &sockettest.Static{}, Version: "1.2.3", Events: src,
		State: func() table.State { return table.State{Registry: reg, Custom: "none"} },
	}))
	_, rows, err := db.Query(t.Context(), fmt.Sprintf("SELECT pid FROM legacy_port_events WHERE time > %d", t0.Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0]["pid"] != "101" || rows[1]["pid"] != "102" {
		t.Errorf("rows %v, want pids 101 and 102", rows)
	}
	qs := src.Queries()
	if len(qs) != 1 || len(qs[0].Time) != 1 || qs[0].Time[0] != (events.TimeBound{Op: events.OpGt, Sec: t0.Unix()}) {
		t.Errorf("the table was asked %+v, want one query with time > %d", qs, t0.Unix())
	}
}
