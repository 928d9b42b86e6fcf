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
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/legacy-ports/legacy-ports/internal/buildinfo"
	"github.com/legacy-ports/legacy-ports/internal/render"
	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/vtab"
)

const queryUsage = `usage:
  legacy-ports query [--format F] SQL
  legacy-ports query [--format F] --file FILE
  legacy-ports query                      (a shell on a terminal; otherwise SQL read from stdin)

SQL runs on SQLite over legacy_ports, legacy_port_registry and legacy_ports_info,
the tables the osquery extension serves, answered by the same code.

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

func hostTables(adminPath string, warn io.Writer) ([]table.Definition, error) {
	opts, err := setup.Options(warn, adminPath)
	if err != nil {
		return nil, err
	}
	return table.Definitions(opts), nil
}

func runQuery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return queryCommand(ctx, args, stdin, stdout, stderr, hostTables)
}

func queryCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, tables tablesFunc) int {
	fs := newFlags("query", stderr)
	file := fs.String("file", "", "run every query in `FILE`: .sql, an osquery pack or config (.conf, .json), or Fleet YAML (.yml, .yaml)")
	format := fs.String("format", "table", "output format: table, json, csv or line")
	adminFile := registryFileFlag(fs)
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
		return exitError
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

	var queries []query
	var tty *os.File
	fromFile := true
	switch {
	case *file != "":
		qs, err := loadQueries(*file)
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
		queries = sqlQueries("stdin", data)
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
	db, err := vtab.Open(ctx, defs)
	if err != nil {
		return fail("%v", err)
	}
	defer db.Close()

	if tty != nil {
		return terminalShell(ctx, db, tty, stdout, warn, *format)
	}
	return runQueries(ctx, db, queries, fromFile, *format, stdout, stderr)
}

// parseInterleaved parses flags given before and after the SQL, as users
// write `query "SELECT ..." --format json`; after "--" all is SQL.
func parseInterleaved(fs *flag.FlagSet, args []string) (positional []string, code int, stop bool) {
	for {
		if code, stop := parseFlags(fs, args); stop {
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

// query is one statement to run and where it comes from.
type query struct {
	name  string // heads its result; "" for a lone statement on the command line
	where string // FILE:LINE for messages; "" on the command line
	sql   string
}

func commandLineQueries(sql string) []query {
	stmts := vtab.Split(sql)
	if len(stmts) <= 1 {
		// An empty statement still runs, so that SQLite says what is wrong.
		return []query{{sql: sql}}
	}
	qs := make([]query, len(stmts))
	for i, s := range stmts {
		qs[i] = query{name: "statement " + strconv.Itoa(i+1), sql: s.SQL}
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
func runQueries(ctx context.Context, db *vtab.DB, queries []query, fromFile bool, format string, stdout, stderr io.Writer) int {
	var results []result
	failed := false
	for _, q := range queries {
		cols, rows, err := db.Query(ctx, q.sql)
		if err == nil {
			results = append(results, result{q.name, cols, rows})
			continue
		}
		prefix := "legacy-ports query: "
		switch q.where {
		case "":
		case q.name:
			prefix += q.where + ": "
		default:
			prefix += q.where + ": " + q.name + ": "
		}
		name, err := needsOsquery(ctx, db, q.sql, err)
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
		return exitError
	}
	var out bytes.Buffer
	if err := writeResults(&out, format, results); err != nil {
		fmt.Fprintf(stderr, "legacy-ports query: %v\n", err)
		return exitError
	}
	if _, err := out.WriteTo(stdout); err != nil {
		fmt.Fprintf(stderr, "legacy-ports query: %v\n", err)
		return exitError
	}
	return exitClean
}

// needsOsquery tells a statement that fails only because it uses osquery's
// own tables: it returns the table, or the error that stands. The statement
// is checked against empty stand-ins with osquery's columns, never run.
func needsOsquery(ctx context.Context, db *vtab.DB, sql string, err error) (string, error) {
	name, ok := vtab.MissingTable(err)
	if !ok || !vtab.IsOsqueryTable(name) {
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

// loadQueries reads every query of a file; a file without any is an error.
func loadQueries(path string) ([]query, error) {
	qs, err := readQueries(path)
	if err == nil && len(qs) == 0 {
		err = fmt.Errorf("%s: no queries in it", path)
	}
	return qs, err
}

// readQueries reads every query of a file, by its kind.
func readQueries(path string) ([]query, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".sql":
		return sqlQueries(path, data), nil
	case ".conf", ".json":
		return packQueries(path, data)
	case ".yml", ".yaml":
		return fleetQueries(path, data, 0)
	default:
		return nil, fmt.Errorf("%s: unknown kind of file %q (want .sql, an osquery pack or config .conf/.json, or Fleet YAML .yml/.yaml)", path, ext)
	}
}

// sqlQueries cuts a SQL script into statements, named by where they start.
func sqlQueries(path string, data []byte) []query {
	var qs []query
	for _, s := range vtab.Split(string(data)) {
		where := fmt.Sprintf("%s:%d", path, s.Line)
		qs = append(qs, query{name: where, where: where, sql: s.SQL})
	}
	return qs
}

// named turns the SQL of one named query of a pack or Fleet file into
// queries: it may hold several statements, and must hold one.
func named(name, where, sql string) ([]query, error) {
	stmts := vtab.Split(sql)
	switch len(stmts) {
	case 0:
		return nil, fmt.Errorf("%s: %s: the query is empty", where, name)
	case 1:
		return []query{{name: name, where: where, sql: stmts[0].SQL}}, nil
	}
	qs := make([]query, len(stmts))
	for i, s := range stmts {
		qs[i] = query{name: fmt.Sprintf("%s (statement %d)", name, i+1), where: where, sql: s.SQL}
	}
	return qs, nil
}

// jsonFile is an osquery pack or configuration, read in file order with the
// line of each key, which encoding/json's maps do not keep.
type jsonFile struct {
	path string
	data []byte
}

// jsonValue is a raw value and where it starts in the file.
type jsonValue struct {
	raw json.RawMessage
	off int
}

type jsonMember struct {
	key string
	val jsonValue
}

func (f *jsonFile) where(off int) string {
	return fmt.Sprintf("%s:%d", f.path, bytes.Count(f.data[:off], []byte("\n"))+1)
}

// elements reads an object's members (keys set) or an array's elements.
func (f *jsonFile) elements(v jsonValue) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(v.raw))
	open, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.where(v.off), err)
	}
	isObject := open == json.Delim('{')
	var out []jsonMember
	for dec.More() {
		var m jsonMember
		if isObject {
			k, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.where(v.off), err)
			}
			m.key, _ = k.(string)
		}
		if err := dec.Decode(&m.val.raw); err != nil {
			return nil, fmt.Errorf("%s: %w", f.where(v.off), err)
		}
		m.val.off = v.off + int(dec.InputOffset()) - len(m.val.raw)
		out = append(out, m)
	}
	return out, nil
}

// kind names a JSON value's type for messages.
func (v jsonValue) kind() byte {
	for _, c := range v.raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

func (f *jsonFile) object(v jsonValue, what string) ([]jsonMember, error) {
	if v.kind() != '{' {
		return nil, fmt.Errorf("%s: %s: want an object", f.where(v.off), what)
	}
	return f.elements(v)
}

func (f *jsonFile) array(v jsonValue, what string) ([]jsonMember, error) {
	if v.kind() != '[' {
		return nil, fmt.Errorf("%s: %s: want a list", f.where(v.off), what)
	}
	return f.elements(v)
}

func (f *jsonFile) str(v jsonValue, what string) (string, error) {
	var s string
	if err := json.Unmarshal(v.raw, &s); err != nil {
		return "", fmt.Errorf("%s: %s: want a string, got %s", f.where(v.off), what, v.raw)
	}
	return s, nil
}

// packQueries reads an osquery pack ("queries", "discovery") or an osquery
// configuration ("schedule", "packs", "decorators"). Like osquery, it
// ignores whole lines that are # or // comments.
func packQueries(path string, data []byte) ([]query, error) {
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		// Blanked, not removed, so that offsets keep their line.
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			body := strings.TrimSuffix(l, "\n")
			lines[i] = strings.Repeat(" ", len(body)) + l[len(body):]
		}
	}
	data = []byte(strings.Join(lines, ""))
	var syntax any
	if err := json.Unmarshal(data, &syntax); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: %w", (&jsonFile{path, data}).where(int(se.Offset)), err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := &jsonFile{path: path, data: data}
	return f.pack(jsonValue{raw: data}, "", 0)
}

// pack reads the queries of one pack or configuration; prefix names the
// pack inside a configuration.
func (f *jsonFile) pack(v jsonValue, prefix string, depth int) ([]query, error) {
	top, err := f.object(v, "the file")
	if err != nil {
		return nil, err
	}
	var qs []query
	add := func(name string, sql jsonValue) error {
		s, err := f.str(sql, name)
		if err != nil {
			return err
		}
		more, err := named(prefix+name, f.where(sql.off), s)
		qs = append(qs, more...)
		return err
	}
	for _, m := range top {
		switch m.key {
		case "queries", "schedule":
			entries, err := f.object(m.val, m.key)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				fields, err := f.object(e.val, m.key+"."+e.key)
				if err != nil {
					return nil, err
				}
				var sql *jsonValue
				for _, fl := range fields {
					if fl.key == "query" {
						sql = &fl.val
					}
				}
				if sql == nil {
					return nil, fmt.Errorf("%s: %s.%s: no \"query\"", f.where(e.val.off), m.key, e.key)
				}
				if err := add(e.key, *sql); err != nil {
					return nil, err
				}
			}
		case "discovery":
			list, err := f.array(m.val, m.key)
			if err != nil {
				return nil, err
			}
			for i, e := range list {
				if err := add(fmt.Sprintf("discovery %d", i+1), e.val); err != nil {
					return nil, err
				}
			}
		case "packs":
			packs, err := f.object(m.val, m.key)
			if err != nil {
				return nil, err
			}
			for _, p := range packs {
				more, err := f.packRef(p, depth)
				if err != nil {
					return nil, err
				}
				qs = append(qs, more...)
			}
		case "decorators":
			more, err := f.decorators(m.val, prefix)
			if err != nil {
				return nil, err
			}
			qs = append(qs, more...)
		}
	}
	return qs, nil
}

// packRef reads a pack of a configuration: inline, or a path to a pack file.
func (f *jsonFile) packRef(p jsonMember, depth int) ([]query, error) {
	if p.val.kind() == '{' {
		return f.pack(p.val, p.key+"/", depth+1)
	}
	ref, err := f.str(p.val, "packs."+p.key)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(ref) {
		ref = filepath.Join(filepath.Dir(f.path), ref)
	}
	if depth > 0 {
		return nil, fmt.Errorf("%s: packs.%s: a pack inside a pack", f.where(p.val.off), p.key)
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: packs.%s: %w", f.where(p.val.off), p.key, err)
	}
	qs, err := packQueries(ref, data)
	for i := range qs {
		qs[i].name = p.key + "/" + qs[i].name
	}
	return qs, err
}

// decorators reads osquery's decorator queries: "load" and "always" lists,
// and "interval", lists by period.
func (f *jsonFile) decorators(v jsonValue, prefix string) ([]query, error) {
	kinds, err := f.object(v, "decorators")
	if err != nil {
		return nil, err
	}
	var qs []query
	list := func(name string, l jsonValue) error {
		items, err := f.array(l, name)
		if err != nil {
			return err
		}
		for i, it := range items {
			s, err := f.str(it.val, name)
			if err != nil {
				return err
			}
			more, err := named(fmt.Sprintf("%s%s %d", prefix, name, i+1), f.where(it.val.off), s)
			if err != nil {
				return err
			}
			qs = append(qs, more...)
		}
		return nil
	}
	for _, k := range kinds {
		switch k.key {
		case "load", "always":
			err = list("decorators."+k.key, k.val)
		case "interval":
			var periods []jsonMember
			if periods, err = f.object(k.val, "decorators.interval"); err == nil {
				for _, p := range periods {
					if err = list("decorators.interval."+p.key, p.val); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return qs, nil
}

// maxYAMLDepth bounds `path:` references from one Fleet file to another.
const maxYAMLDepth = 8

// fleetQueries reads a Fleet YAML file: a list of {name, query} (or
// {path} references to such lists), a GitOps file with policies:, queries:
// and labels: lists, or 'apiVersion: v1' documents of kind query, policy or
// label. Other keys and kinds hold no SQL and are skipped.
func fleetQueries(path string, data []byte, depth int) ([]query, error) {
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("%s: more than %d levels of path: references (a loop?)", path, maxYAMLDepth)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var qs []query
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return qs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		var more []query
		switch {
		case root.Kind == yaml.SequenceNode:
			more, err = fleetList(path, root, depth)
		case root.Kind == yaml.MappingNode && yamlKey(root, "apiVersion") != nil:
			more, err = fleetDocument(path, root, depth)
		case root.Kind == yaml.MappingNode:
			for _, key := range []string{"policies", "queries", "labels"} {
				if v := yamlKey(root, key); v != nil && v.Tag != "!!null" {
					var items []query
					items, err = fleetList(path, v, depth)
					more = append(more, items...)
					if err != nil {
						break
					}
				}
			}
		default:
			err = fmt.Errorf("%s:%d: want a list of queries or a mapping", path, root.Line)
		}
		if err != nil {
			return nil, err
		}
		qs = append(qs, more...)
	}
}

// fleetDocument reads one 'apiVersion: v1' document.
func fleetDocument(path string, root *yaml.Node, depth int) ([]query, error) {
	kind := yamlKey(root, "kind")
	if kind == nil || (kind.Value != "query" && kind.Value != "policy" && kind.Value != "label") {
		return nil, nil
	}
	spec := yamlKey(root, "spec")
	if spec == nil {
		return nil, fmt.Errorf("%s:%d: kind %s without spec", path, kind.Line, kind.Value)
	}
	return fleetItem(path, spec, depth)
}

func fleetList(path string, n *yaml.Node, depth int) ([]query, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: want a list", path, n.Line)
	}
	var qs []query
	for _, it := range n.Content {
		more, err := fleetItem(path, it, depth)
		if err != nil {
			return nil, err
		}
		qs = append(qs, more...)
	}
	return qs, nil
}

// fleetItem reads {name, query}, or {path}: a file that is itself a list.
func fleetItem(path string, n *yaml.Node, depth int) ([]query, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping with name and query", path, n.Line)
	}
	if ref := yamlKey(n, "path"); ref != nil {
		file := ref.Value
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: path: %w", path, ref.Line, err)
		}
		return fleetQueries(file, data, depth+1)
	}
	sql := yamlKey(n, "query")
	if sql == nil || sql.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("%s:%d: no query (want name: and query:, or path:)", path, n.Line)
	}
	name := fmt.Sprintf("%s:%d", path, n.Line)
	if v := yamlKey(n, "name"); v != nil && v.Value != "" {
		name = v.Value
	}
	return named(name, fmt.Sprintf("%s:%d", path, sql.Line), sql.Value)
}

func yamlKey(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

// deref follows a YAML alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
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
		return exitError
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
				return exitClean
			}
			fmt.Fprintf(out, "Error: %v\n", err)
			return exitError
		}
		if pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ".") {
			if quit := dotCommand(db, strings.Fields(line), &mode, out); quit {
				return exitClean
			}
			continue
		}
		pending.WriteString(line + "\n")
		text := pending.String()
		if !vtab.Complete(text) {
			if len(vtab.Split(text)) == 0 && !strings.Contains(text, "/*") {
				pending.Reset() // blank lines and comments
			}
			continue
		}
		pending.Reset()
		for _, st := range vtab.Split(text) {
			shellQuery(ctx, db, st.SQL, mode, out)
		}
	}
	return exitClean
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
			} else if vtab.IsOsqueryTable(n) {
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
