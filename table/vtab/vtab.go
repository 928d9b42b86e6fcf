// Package vtab serves table definitions as SQLite virtual tables, so that
// `legacy-ports query` answers SQL with the same generate functions the
// osquery extension serves, on the engine osquery itself is built on.
//
// Rows are not copied into plain tables: each scan of a table calls its
// Generate with a table.Request. Every constraint on a column a definition
// marks Index is handed over with its operator (=, >, LIKE, IS NULL, ...),
// and so is the set of columns the query reads (SQLite's colUsed);
// constraints on other columns are left to SQLite, which also checks again
// the constraints it handed over, so a generate function may always return
// a superset. Text constraints are kept back when the statement names a
// collation: SQLite does not say which collation a comparison uses.
//
// IN lists: SQLite can give a virtual table a whole IN list in one call only
// through sqlite3_vtab_in, which modernc.org/sqlite's vtab API (v1.61.1)
// does not expose. SQLite therefore calls Filter once per value of the list,
// and `port IN (609, 611)` reaches Generate as two calls, each with one
// Equals: the shape osquery uses for a column that is INDEX but not
// OPTIMIZED. The rows are the same; the tables' socket snapshot makes the
// second call cheap.
package vtab

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/legacy-ports/legacy-ports/internal/queryfile"
	"github.com/legacy-ports/legacy-ports/table"
)

// moduleName is the SQLite module behind every table; its one argument is
// the id of the DB the table belongs to.
const moduleName = "legacy_ports_definition"

// engine is a driver of our own, so the module reaches only the connections
// we open. It is made once: modernc.org/sqlite never forgets a driver it has
// seen, so a driver per Open would leak.
var engine = sync.OnceValues(func() (*sqlite.Driver, error) {
	d := &sqlite.Driver{}
	return d, d.RegisterModule(moduleName, module{})
})

// open maps ids to the DBs the module serves.
var open = struct {
	sync.Mutex
	next uint64
	dbs  map[uint64]*DB
}{dbs: map[uint64]*DB{}}

// DB is an in-memory SQLite database whose tables are table definitions.
// It runs one statement at a time.
type DB struct {
	id   uint64
	defs []table.Definition
	sql  *sql.DB
	conn *sql.Conn

	mu sync.Mutex // held while a statement runs
	// stmt is what the virtual tables need of the statement running:
	// SQLite's callbacks carry no context of their own.
	stmt atomic.Pointer[statement]

	standIns map[string]string // name to column definitions, for Check
	check    *sql.Conn         // plain tables and stand-ins, made by the first Check
}

// Option configures Open.
type Option func(*DB)

// StandIns gives Check empty tables that the database does not serve, by
// name, with their columns as SQL column definitions ("pid INTEGER, ...");
// a statement using them can be checked, never run.
func StandIns(tables map[string]string) Option {
	return func(d *DB) { d.standIns = tables }
}

type statement struct {
	ctx context.Context
	// text is false when the statement names a collation: SQLite does not
	// tell a virtual table which collation an equality uses, and a TEXT
	// value pushed down under NOCASE could lose rows.
	text bool
}

// connector opens a fresh in-memory database on our driver.
type connector struct{ d *sqlite.Driver }

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(":memory:") }
func (c connector) Driver() driver.Driver                        { return c.d }

// lazyRegexp compiles expr on first use, so that a program that links this
// package but never opens a database (legacy-ports scan) does not pay for it
// at start.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

var identifier = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open creates a database with one virtual table per definition.
func Open(ctx context.Context, defs []table.Definition, opts ...Option) (*DB, error) {
	if err := validate(defs); err != nil {
		return nil, err
	}
	drv, err := engine()
	if err != nil {
		return nil, fmt.Errorf("vtab: registering the SQLite module: %w", err)
	}
	d := &DB{defs: defs, sql: sql.OpenDB(connector{drv})}
	for _, o := range opts {
		o(d)
	}
	open.Lock()
	open.next++
	d.id = open.next
	open.dbs[d.id] = d
	open.Unlock()

	// Each connection is its own in-memory database: keep one.
	if d.conn, err = d.sql.Conn(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("vtab: %w", err)
	}
	for _, def := range defs {
		q := fmt.Sprintf("CREATE VIRTUAL TABLE %s USING %s(%d)", def.Name, moduleName, d.id)
		if _, err := d.conn.ExecContext(ctx, q); err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("vtab: creating table %s: %w", def.Name, sqliteError(err))
		}
	}
	if err := readOnly(d.conn); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

func validate(defs []table.Definition) error {
	seen := map[string]bool{}
	for _, def := range defs {
		if !identifier().MatchString(def.Name) || seen[def.Name] {
			return fmt.Errorf("vtab: table name %q is not a plain identifier or is used twice", def.Name)
		}
		seen[def.Name] = true
		if len(def.Columns) == 0 || def.Generate == nil {
			return fmt.Errorf("vtab: table %s has no columns or no generate function", def.Name)
		}
		for _, c := range def.Columns {
			if !identifier().MatchString(c.Name) {
				return fmt.Errorf("vtab: table %s: column name %q is not a plain identifier", def.Name, c.Name)
			}
			if c.Type != table.Text && c.Type != table.Integer && c.Type != table.BigInt {
				return fmt.Errorf("vtab: table %s: column %s has type %q (want TEXT, INTEGER or BIGINT)", def.Name, c.Name, c.Type)
			}
		}
	}
	return nil
}

// readOnly lets statements read and nothing else: no ATTACH (which creates
// files), no writes, no schema changes. The tables are the host's state, not
// a database to edit.
func readOnly(c *sql.Conn) error {
	return c.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("vtab: the SQLite driver has no authorizer")
		}
		return r.RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, arg1, _, _, _ string) sqlite.AuthorizerReturnCode {
			switch action {
			case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthFunction, sqlite.AuthRecursive:
				return sqlite.AuthorizerOK
			case sqlite.AuthPragma:
				// Reading a table's columns is how tools discover a schema;
				// arg2 is the table named, not a value to set.
				if arg1 == "table_info" || arg1 == "table_xinfo" || arg1 == "table_list" {
					return sqlite.AuthorizerOK
				}
			}
			return sqlite.AuthorizerDeny
		})
	})
}

// Close releases the database.
func (d *DB) Close() error {
	open.Lock()
	delete(open.dbs, d.id)
	open.Unlock()
	var errs []error
	for _, c := range []*sql.Conn{d.conn, d.check} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	errs = append(errs, d.sql.Close())
	return errors.Join(errs...)
}

// Tables returns the names of the tables, in the order they were given.
func (d *DB) Tables() []string {
	names := make([]string, len(d.defs))
	for i, def := range d.defs {
		names[i] = def.Name
	}
	return names
}

// Schema returns the CREATE TABLE statement of a table, as osqueryi's
// .schema prints it.
func (d *DB) Schema(name string) (string, bool) {
	for _, def := range d.defs {
		if def.Name == name {
			return createTable(def.Name, def.Columns) + ";", true
		}
	}
	return "", false
}

func createTable(name string, cols []table.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("`%s` %s", c.Name, c.Type)
	}
	return fmt.Sprintf("CREATE TABLE %s(%s)", name, strings.Join(parts, ", "))
}

var collate = lazyRegexp(`(?i)\bcollate\b`)

// Query runs one SQL statement and returns its column names and rows. Every
// value is a string, as osquery returns them; NULL is the empty string. When
// two result columns have the same name the later one wins, as in osquery's
// rows.
func (d *DB) Query(ctx context.Context, sqlText string) (cols []string, rows []map[string]string, err error) {
	switch n := len(queryfile.Split(sqlText)); {
	case n == 0:
		return nil, nil, errors.New("empty statement")
	case n > 1:
		return nil, nil, fmt.Errorf("%d statements where one was expected", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stmt.Store(&statement{ctx: ctx, text: !collate().MatchString(sqlText)})
	defer d.stmt.Store(nil)

	rs, err := d.conn.QueryContext(ctx, sqlText)
	if err != nil {
		err = sqliteError(err)
		if m := err.Error(); m == "not authorized" || m == "authorization denied" {
			err = fmt.Errorf("%s: this engine only reads (SELECT); it writes nothing and opens no file", m)
		}
		return nil, nil, err
	}
	defer rs.Close()
	if cols, err = rs.Columns(); err != nil {
		return nil, nil, sqliteError(err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, nil, sqliteError(err)
		}
		row := make(map[string]string, len(cols))
		for i, c := range cols {
			row[c] = toText(vals[i])
		}
		rows = append(rows, row)
	}
	if err := rs.Err(); err != nil {
		return nil, nil, sqliteError(err)
	}
	return uniq(cols), rows, nil
}

func uniq(cols []string) []string {
	var out []string
	for _, c := range cols {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// toText renders a value the way SQLite's own text conversion does.
func toText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatReal(x)
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// formatReal formats a REAL as SQLite does: 611.0, not 611.
func formatReal(f float64) string {
	s := strconv.FormatFloat(f, 'g', 15, 64)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return s
	}
	mant, exp, hasExp := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	if hasExp {
		return mant + "e" + exp
	}
	return mant
}

var sqliteMessage = lazyRegexp(`^(?:[^:]*: )?(.*) \(\d+\)$`)

// sqliteError keeps SQLite's own message: modernc.org/sqlite wraps it as
// "SQL logic error: MESSAGE (1)".
func sqliteError(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	if m := sqliteMessage().FindStringSubmatch(se.Error()); m != nil {
		return errors.New(m[1])
	}
	return err
}

// module creates the virtual tables; the argument in CREATE VIRTUAL TABLE
// says which DB a table belongs to.
type module struct{}

func (module) Create(c sqlvtab.Context, args []string) (sqlvtab.Table, error) {
	return module{}.Connect(c, args)
}

// Connect receives the module name, the schema name, the table name and
// the DB id, and declares the table's columns.
func (module) Connect(c sqlvtab.Context, args []string) (sqlvtab.Table, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("vtab: want one argument, the DB id, got %q", args)
	}
	id, err := strconv.ParseUint(args[3], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("vtab: DB id %q: %w", args[3], err)
	}
	open.Lock()
	d := open.dbs[id]
	open.Unlock()
	if d == nil {
		return nil, fmt.Errorf("vtab: no open DB %d", id)
	}
	for _, def := range d.defs {
		if def.Name == args[2] {
			if err := c.Declare(createTable(def.Name, def.Columns)); err != nil {
				return nil, err
			}
			return &vtable{db: d, def: def}, nil
		}
	}
	return nil, fmt.Errorf("vtab: no definition for table %s", args[2])
}

// vtable is one table of one DB.
type vtable struct {
	db  *DB
	def table.Definition
}

// Costs that make SQLite prefer handing constraints over: a scan runs
// Generate with no constraint at all.
const (
	scanCost    = 1e6
	narrowCost  = 1e5 // a range or pattern on an Index column
	indexedCost = 10  // an equality on an Index column
)

// operators maps SQLite's constraint operators to ours. LIMIT, OFFSET and
// function constraints are not conditions on a column.
var operators = map[sqlvtab.ConstraintOp]table.Operator{
	sqlvtab.OpEQ: table.Equals, sqlvtab.OpNE: table.NotEquals,
	sqlvtab.OpGT: table.GreaterThan, sqlvtab.OpGE: table.GreaterOrEqual,
	sqlvtab.OpLT: table.LessThan, sqlvtab.OpLE: table.LessOrEqual,
	sqlvtab.OpLIKE: table.Like, sqlvtab.OpGLOB: table.Glob, sqlvtab.OpREGEXP: table.Regexp, sqlvtab.OpMATCH: table.Match,
	sqlvtab.OpIS: table.Is, sqlvtab.OpISNOT: table.IsNot, sqlvtab.OpISNULL: table.IsNull, sqlvtab.OpISNOTNULL: table.IsNotNull,
}

// BestIndex takes every usable constraint on an Index column, whatever its
// operator. Their values reach Filter in argv; idxStr tells Filter which
// column and operator each argument is for, and carries colUsed.
// Constraints are never marked Omit: SQLite checks every one again on the
// rows returned.
func (t *vtable) BestIndex(info *sqlvtab.IndexInfo) error {
	st := t.db.stmt.Load()
	var b strings.Builder
	b.WriteString(strconv.FormatUint(info.ColUsed, 16))
	argc := 0
	cost := float64(scanCost)
	for i := range info.Constraints {
		c := &info.Constraints[i]
		op, known := operators[c.Op]
		if !c.Usable || !known || c.Column < 0 || c.Column >= len(t.def.Columns) {
			continue
		}
		col := t.def.Columns[c.Column]
		if !col.Index || (col.Type == table.Text && (st == nil || !st.text)) {
			continue
		}
		c.ArgIndex = argc
		argc++
		fmt.Fprintf(&b, ",%d:%d", c.Column, op)
		if op == table.Equals || op == table.Is {
			cost = min(cost, indexedCost)
		} else {
			cost = min(cost, narrowCost)
		}
	}
	info.IdxNum = int64(argc)
	info.IdxStr = b.String()
	info.EstimatedCost = cost
	return nil
}

func (t *vtable) Open() (sqlvtab.Cursor, error) { return &cursor{t: t}, nil }
func (t *vtable) Disconnect() error             { return nil }
func (t *vtable) Destroy() error                { return nil }

// cursor holds the rows of one Generate call.
type cursor struct {
	t    *vtable
	rows []table.Row
	pos  int
}

// Filter calls Generate with the constraints BestIndex chose.
func (c *cursor) Filter(_ int, idxStr string, vals []sqlvtab.Value) error {
	c.rows, c.pos = nil, 0
	fields := strings.Split(idxStr, ",")
	mask, err := strconv.ParseUint(fields[0], 16, 64)
	if err != nil || len(fields)-1 != len(vals) {
		return fmt.Errorf("vtab: %s: bad index string %q for %d values", c.t.def.Name, idxStr, len(vals))
	}
	cols := c.t.def.Columns
	req := table.Request{ColsUsed: usedColumns(cols, mask)}
	for i, f := range fields[1:] {
		colText, opText, _ := strings.Cut(f, ":")
		n, err1 := strconv.Atoi(colText)
		op, err2 := strconv.Atoi(opText)
		if err1 != nil || err2 != nil || n < 0 || n >= len(cols) {
			return fmt.Errorf("vtab: %s: bad constraint %q in index string %q", c.t.def.Name, f, idxStr)
		}
		cons, ok := constraint(table.Operator(op), vals[i])
		if !ok {
			return nil // a comparison with NULL is never true: no row can match
		}
		req.Add(cols[n].Name, cons.Op, cons.Expr)
	}
	ctx := context.Background()
	if st := c.t.db.stmt.Load(); st != nil {
		ctx = st.ctx
	}
	rows, err := c.t.def.Generate(ctx, req)
	if err != nil {
		return err
	}
	c.rows = rows
	return nil
}

// constraint is a constraint as osquery passes it: the operator, and
// SQLite's text of the value. A NULL value turns IS into IS NULL and IS NOT
// into IS NOT NULL; with any other comparison ok is false, since it is never
// true.
func constraint(op table.Operator, v sqlvtab.Value) (table.Constraint, bool) {
	switch {
	case op == table.IsNull || op == table.IsNotNull:
		return table.Constraint{Op: op}, true
	case v != nil:
		return table.Constraint{Op: op, Expr: toText(v)}, true
	case op == table.Is:
		return table.Constraint{Op: table.IsNull}, true
	case op == table.IsNot:
		return table.Constraint{Op: table.IsNotNull}, true
	}
	return table.Constraint{}, false
}

// usedColumns reads SQLite's colUsed: bit N is column N, and bit 63 stands
// for every column from the 64th on.
func usedColumns(cols []table.Column, mask uint64) []string {
	used := []string{}
	for i, c := range cols {
		if mask&(1<<min(i, 63)) != 0 {
			used = append(used, c.Name)
		}
	}
	return used
}

func (c *cursor) Next() error           { c.pos++; return nil }
func (c *cursor) Eof() bool             { return c.pos >= len(c.rows) }
func (c *cursor) Rowid() (int64, error) { return int64(c.pos), nil }
func (c *cursor) Close() error          { return nil }

// Column returns a cell as SQLite's value: an integer, text or NULL. A
// missing cell is NULL.
func (c *cursor) Column(i int) (sqlvtab.Value, error) {
	if i < 0 || i >= len(c.t.def.Columns) || c.pos >= len(c.rows) {
		return nil, fmt.Errorf("vtab: %s: no column %d in row %d", c.t.def.Name, i, c.pos)
	}
	v := c.rows[c.pos][c.t.def.Columns[i].Name]
	switch v.Kind() {
	case table.Int:
		n, _ := v.Int()
		return n, nil
	case table.Str:
		return v.Text(), nil
	}
	return nil, nil
}
