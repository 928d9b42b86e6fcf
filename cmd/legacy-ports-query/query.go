package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/term"

	"github.com/legacy-ports/legacy-ports/internal/buildinfo"
	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/internal/queryfile"
	"github.com/legacy-ports/legacy-ports/internal/render"
	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/vtab"
)

const queryUsage = `usage:
  legacy-ports query [--format F] SQL
  legacy-ports query [--format F] --file FILE
  legacy-ports query                      (a shell on a terminal; otherwise SQL read from stdin)

SQL runs on SQLite over legacy_ports, legacy_port_registry, legacy_ports_info and
legacy_port_events, the tables the osquery extension serves, answered by the
same code.

FILE is a .sql file, an osquery pack or configuration (.conf, .json) or a Fleet
YAML file (.yml, .yaml: a list of queries or policies, a GitOps file, or
'apiVersion: v1' documents). Every query in it runs; each result is headed by
its name. A query that uses one of osquery's own tables (listening_ports,
processes, osquery_extensions, ...) cannot run here: its SQL is checked against
osquery's columns for those tables and it is reported as needing osquery.

Exit status: 0 when every statement ran (or, in a file or on stdin, needs
osquery and checks out); 2 on bad SQL, an unknown table or column, or any
other error, with nothing printed on stdout. A single statement given on the
command line that needs osquery is an error.

flags:
`

// tablesFunc builds the tables; warn receives the tables' partial failures.
type tablesFunc func(adminPath string, warn io.Writer) ([]table.Definition, error)

func runQuery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// legacy_port_events starts its capture on its first query, and the
	// capture stops, releasing every eBPF program, before the command exits.
	var lazy *setup.LazyEvents
	defer func() {
		if lazy != nil {
			if err := lazy.Stop(); err != nil {
				fmt.Fprintf(stderr, "legacy-ports query: events capture: %v\n", err)
			}
		}
	}()
	return queryCommand(ctx, args, stdin, stdout, stderr, func(adminPath string, warn io.Writer) ([]table.Definition, error) {
		opts, err := setup.Options(warn, adminPath)
		if err != nil {
			return nil, err
		}
		m, err := setup.Events(opts, setup.EventsConfig{}, warn)
		if err != nil {
			return nil, err
		}
		lazy = setup.NewLazyEvents(ctx, m)
		opts.Events = lazy
		return table.Definitions(opts), nil
	})
}

func queryCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, tables tablesFunc) int {
	fs := cli.NewFlags("query", stderr)
	file := fs.String("file", "", "run every query in `FILE`: .sql, an osquery pack or config (.conf, .json), or Fleet YAML (.yml, .yaml)")
	format := fs.String("format", "table", "output format: table, json, csv or line")
	adminFile := cli.RegistryFileFlag(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, queryUsage)
		fs.PrintDefaults()
	}
	sqlArgs, code, stop := parseInterleaved(fs, args)
	if stop {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "legacy-ports query: "+format+"\n", a...)
		return cli.ExitError
	}
	if err := render.CheckFormat(*format); err != nil {
		return fail("--format: %v", err)
	}
	switch {
	case len(sqlArgs) > 1:
		return fail("give the SQL as one argument, in quotes (got %d arguments: %q)", len(sqlArgs), sqlArgs)
	case len(sqlArgs) == 1 && *file != "":
		return fail("give either SQL or --file %s, not both", *file)
	}

	var queries []queryfile.Query
	var tty *os.File
	fromFile := true
	switch {
	case *file != "":
		qs, err := queryfile.Load(*file)
		if err != nil {
			return fail("%v", err)
		}
		queries = qs
	case len(sqlArgs) == 1:
		queries, fromFile = commandLineQueries(sqlArgs[0]), false
	case isTerminal(stdin):
		tty = stdin.(*os.File)
	default:
		data, err := io.ReadAll(stdin)
		if err != nil {
			return fail("reading stdin: %v", err)
		}
		queries = queryfile.SQL("stdin", data)
		if len(queries) == 0 {
			return fail("no SQL: give a statement, --file FILE, or SQL on stdin")
		}
	}

	// On a terminal the shell writes in raw mode, where a line feed alone
	// does not return the carriage: warnings then need "\r\n".
	warn := &crlfWriter{w: stderr}
	defs, err := tables(*adminFile, warn)
	if err != nil {
		return fail("%v", err)
	}
	prepare(ctx, defs, queries)
	db, err := openDB(ctx, defs)
	if err != nil {
		return fail("%v", err)
	}
	defer db.Close()

	if tty != nil {
		return terminalShell(ctx, db, tty, stdout, warn, *format)
	}
	return runQueries(ctx, db, queries, fromFile, *format, stdout, stderr)
}

// openDB serves the tables over SQLite, with osquery's own tables as
// stand-ins that a query needing osquery is checked against.
func openDB(ctx context.Context, defs []table.Definition) (*vtab.DB, error) {
	return vtab.Open(ctx, defs, vtab.StandIns(queryfile.StandIns()))
}

// prepare starts the tables' Prepare for each table the queries name, to run
// while SQLite is set up: legacy_ports takes its socket snapshot, which the
// statement then finds ready. Opening SQLite costs a cold process about
// 3 ms of CPU, so this saves that much on a host with two CPUs or more. It
// returns the names of the tables it started.
func prepare(ctx context.Context, defs []table.Definition, queries []queryfile.Query) []string {
	var started []string
	for _, d := range defs {
		if d.Prepare != nil && slices.ContainsFunc(queries, func(q queryfile.Query) bool { return mentions(q.SQL, d.Name) }) {
			go d.Prepare(ctx)
			started = append(started, d.Name)
		}
	}
	return started
}

// mentions reports whether sql has name as a word of its own, in any case:
// a table named in a query, quoted or not, or by chance in a string or a
// comment, which only costs a snapshot taken for nothing.
func mentions(sql, name string) bool {
	isIdent := func(b byte) bool {
		return b == '_' || b == '$' || '0' <= b && b <= '9' || 'a' <= b|0x20 && b|0x20 <= 'z' || b >= 0x80
	}
	lower := strings.ToLower(sql)
	for from := 0; ; {
		i := strings.Index(lower[from:], name)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(name)
		if (start == 0 || !isIdent(lower[start-1])) && (end == len(lower) || !isIdent(lower[end])) {
			return true
		}
		from = start + 1
	}
}

// parseInterleaved parses flags given before and after the SQL, as users
// write `query "SELECT ..." --format json`; after "--" all is SQL.
func parseInterleaved(fs *flag.FlagSet, args []string) (positional []string, code int, stop bool) {
	for {
		if code, stop := cli.ParseFlags(fs, args); stop {
			return nil, code, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, 0, false
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), 0, false
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func commandLineQueries(sql string) []queryfile.Query {
	stmts := queryfile.Split(sql)
	if len(stmts) <= 1 {
		// An empty statement still runs, so that SQLite says what is wrong.
		return []queryfile.Query{{SQL: sql}}
	}
	qs := make([]queryfile.Query, len(stmts))
	for i, s := range stmts {
		qs[i] = queryfile.Query{Name: "statement " + strconv.Itoa(i+1), SQL: s.SQL}
	}
	return qs
}

// result is what a query returned, ready to print.
type result struct {
	name string
	cols []string
	rows []map[string]string
}

// runQueries runs every query, then prints all results, or nothing when one
// failed: a script reading stdout never sees half an answer. Every failure
// is reported, so one run shows all that is wrong with a file.
func runQueries(ctx context.Context, db *vtab.DB, queries []queryfile.Query, fromFile bool, format string, stdout, stderr io.Writer) int {
	var results []result
	failed := false
	for _, q := range queries {
		cols, rows, err := db.Query(ctx, q.SQL)
		if err == nil {
			results = append(results, result{q.Name, cols, rows})
			continue
		}
		prefix := "legacy-ports query: "
		switch q.Where {
		case "":
		case q.Name:
			prefix += q.Where + ": "
		default:
			prefix += q.Where + ": " + q.Name + ": "
		}
		name, err := needsOsquery(ctx, db, q.SQL, err)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "%s%v\n", prefix, err)
			failed = true
		case fromFile:
			fmt.Fprintf(stderr, "%snot run: needs osquery (no such table %s here); its SQL checks out against osquery's columns\n", prefix, name)
		default:
			fmt.Fprintf(stderr, "%sno such table: %s: it is one of osquery's own tables, which this engine does not have; run the query in osqueryi (its SQL checks out against osquery's columns)\n", prefix, name)
			failed = true
		}
	}
	if failed {
		return cli.ExitError
	}
	var out bytes.Buffer
	if err := writeResults(&out, format, results); err != nil {
		fmt.Fprintf(stderr, "legacy-ports query: %v\n", err)
		return cli.ExitError
	}
	if _, err := out.WriteTo(stdout); err != nil {
		fmt.Fprintf(stderr, "legacy-ports query: %v\n", err)
		return cli.ExitError
	}
	return cli.ExitClean
}

// needsOsquery tells a statement that fails only because it uses osquery's
// own tables: it returns the table, or the error that stands. The statement
// is checked against empty stand-ins with osquery's columns, never run.
func needsOsquery(ctx context.Context, db *vtab.DB, sql string, err error) (string, error) {
	name, ok := vtab.MissingTable(err)
	if !ok || !queryfile.IsOsqueryTable(name) {
		return "", err
	}
	if err := db.Check(ctx, sql); err != nil {
		return "", err
	}
	return name, nil
}

// writeResults prints results as render.Write does; several results are
// each headed by their name, or in JSON an array of {"name", "rows"}.
func writeResults(w io.Writer, format string, results []result) error {
	if len(results) == 1 && results[0].name == "" {
		return writeResult(w, format, results[0])
	}
	if format == "json" {
		var b bytes.Buffer
		b.WriteString("[")
		for i, r := range results {
			if i > 0 {
				b.WriteString(",")
			}
			name, _ := json.Marshal(r.name)
			fmt.Fprintf(&b, "\n{\"name\": %s, \"rows\": ", name)
			if err := render.Write(&b, format, r.cols, r.rows); err != nil {
				return err
			}
			b.Truncate(b.Len() - 1) // render ends the array with a newline
			b.WriteString("}")
		}
		b.WriteString("\n]\n")
		_, err := b.WriteTo(w)
		return err
	}
	for i, r := range results {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "-- %s\n", r.name)
		if err := writeResult(w, format, r); err != nil {
			return err
		}
	}
	return nil
}

func writeResult(w io.Writer, format string, r result) error {
	if len(r.cols) == 0 {
		return nil // a statement without result columns prints nothing
	}
	return render.Write(w, format, r.cols, r.rows)
}

// crlfWriter writes "\r\n" for "\n" once raw is set: a terminal in raw mode
// does not return the carriage by itself.
type crlfWriter struct {
	w   io.Writer
	raw atomic.Bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	if !c.raw.Load() {
		return c.w.Write(p)
	}
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// lineReader is what the shell needs of golang.org/x/term's Terminal.
type lineReader interface {
	ReadLine() (string, error)
	SetPrompt(prompt string)
}

const (
	shellPrompt = "legacy-ports> "
	morePrompt  = "         ...> "
)

// terminalShell runs the shell on a real terminal: raw mode, so that the
// Terminal edits lines and keeps their history.
func terminalShell(ctx context.Context, db *vtab.DB, in *os.File, stdout io.Writer, warn *crlfWriter, format string) int {
	fd := int(in.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		fmt.Fprintf(warn, "legacy-ports query: %v\n", err)
		return cli.ExitError
	}
	defer func() {
		if err := term.Restore(fd, old); err != nil {
			fmt.Fprintf(warn, "legacy-ports query: restoring the terminal: %v\n", err)
		}
	}()
	warn.raw.Store(true)
	defer warn.raw.Store(false)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, stdout}, shellPrompt)
	if w, h, err := term.GetSize(fd); err == nil {
		_ = t.SetSize(w, h)
	}
	return shell(ctx, db, t, t, format)
}

const shellHelp = `.help             this text
.tables           list the tables
.schema [TABLE]   show the columns of a table, or of every table
.mode [MODE]      show or set the output: table, json, csv or line
.quit, .exit      leave (so do Ctrl-D on an empty line and Ctrl-C)
SQL ends with ';' and may span lines; up and down arrows recall earlier lines.
`

// shell reads statements and dot commands until .quit or the end of input,
// and prints each answer. Errors are printed and the shell goes on.
func shell(ctx context.Context, db *vtab.DB, in lineReader, out io.Writer, format string) int {
	fmt.Fprintf(out, "legacy-ports %s: SQL over %s. Enter \".help\" for help.\n", buildinfo.Version, strings.Join(db.Tables(), ", "))
	mode := format
	var pending strings.Builder
	for ctx.Err() == nil {
		if pending.Len() == 0 {
			in.SetPrompt(shellPrompt)
		} else {
			in.SetPrompt(morePrompt)
		}
		line, err := in.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				fmt.Fprintln(out) // leave the prompt's line
				return cli.ExitClean
			}
			fmt.Fprintf(out, "Error: %v\n", err)
			return cli.ExitError
		}
		if pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ".") {
			if quit := dotCommand(db, strings.Fields(line), &mode, out); quit {
				return cli.ExitClean
			}
			continue
		}
		pending.WriteString(line + "\n")
		text := pending.String()
		if !queryfile.Complete(text) {
			if len(queryfile.Split(text)) == 0 && !strings.Contains(text, "/*") {
				pending.Reset() // blank lines and comments
			}
			continue
		}
		pending.Reset()
		for _, st := range queryfile.Split(text) {
			shellQuery(ctx, db, st.SQL, mode, out)
		}
	}
	return cli.ExitClean
}

func shellQuery(ctx context.Context, db *vtab.DB, sql, mode string, out io.Writer) {
	cols, rows, err := db.Query(ctx, sql)
	if err != nil {
		if name, err2 := needsOsquery(ctx, db, sql, err); err2 == nil {
			err = fmt.Errorf("no such table: %s: it is one of osquery's own tables, which this engine does not have (run the query in osqueryi)", name)
		}
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	if err := writeResult(out, mode, result{cols: cols, rows: rows}); err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
	}
}

// dotCommand runs a shell command; it reports whether to leave.
func dotCommand(db *vtab.DB, args []string, mode *string, out io.Writer) bool {
	switch args[0] {
	case ".quit", ".exit":
		return true
	case ".help":
		fmt.Fprint(out, shellHelp)
	case ".tables":
		for _, t := range db.Tables() {
			fmt.Fprintf(out, "  => %s\n", t)
		}
	case ".schema":
		names := args[1:]
		if len(names) == 0 {
			names = db.Tables()
		}
		for _, n := range names {
			if s, ok := db.Schema(n); ok {
				fmt.Fprintln(out, s)
			} else if queryfile.IsOsqueryTable(n) {
				fmt.Fprintf(out, "Error: %s is one of osquery's own tables, which this engine does not have\n", n)
			} else {
				fmt.Fprintf(out, "Error: no such table: %s\n", n)
			}
		}
	case ".mode":
		switch {
		case len(args) == 1:
			fmt.Fprintf(out, "current output mode: %s\n", *mode)
		case render.CheckFormat(args[1]) != nil:
			fmt.Fprintf(out, "Error: %v\n", render.CheckFormat(args[1]))
		default:
			*mode = args[1]
		}
	default:
		fmt.Fprintf(out, "Error: unknown command %q. Enter \".help\" for help\n", args[0])
	}
	return false
}
