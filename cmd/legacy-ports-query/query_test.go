package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/term"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/internal/logging"
	"github.com/legacy-ports/legacy-ports/internal/queryfile"
	"github.com/legacy-ports/legacy-ports/internal/render"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/sockets"
	"github.com/legacy-ports/legacy-ports/table/sockets/sockettest"
	"github.com/legacy-ports/legacy-ports/table/vtab"
)

// fakeTables serves the built-in registry over a fake host: a ghost on 609
// held by pid 10, a telnet listener without a known owner, and a client of
// AOL's dead service.
func fakeTables(_ string, warn io.Writer) ([]table.Definition, error) {
	reg, err := registry.Builtin()
	if err != nil {
		return nil, err
	}
	ap := netip.MustParseAddrPort
	src := &sockettest.Static{
		Socks: []sockets.Socket{
			{Family: 2, Protocol: 6, Local: ap("0.0.0.0:609"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 1},
			{Family: 10, Protocol: 6, Local: ap("[::]:23"), Remote: ap("[::]:0"), State: "LISTEN", Inode: 2},
			{Family: 2, Protocol: 6, Local: ap("192.168.1.2:45678"), Remote: ap("198.51.100.7:5190"), State: "ESTABLISHED", Inode: 3},
		},
		Owned: map[uint64][]sockets.Owner{1: {{PID: 10, FD: 3}}, 3: {{PID: 30, FD: 9}}},
		Procs: map[int32]sockets.Process{
			10: {Name: "ghostd", Path: "/usr/sbin/ghostd", Username: "root"},
			30: {Name: "pidgin", Path: "/usr/bin/pidgin", UID: 1000, Username: "alice"},
		},
		Caps: sockets.Capabilities{Namespaces: true, Attribution: sockets.Full},
	}
	return table.Definitions(table.Options{
		Source:  src,
		State:   func() table.State { return table.State{Registry: reg, Custom: "none"} },
		Version: "9.9.9",
		Log:     logging.New(warn, slog.LevelWarn),
	}), nil
}

// openFakeDB opens the fake host's tables, closed when the test ends.
func openFakeDB(t *testing.T) *vtab.DB {
	t.Helper()
	defs, err := fakeTables("", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(t.Context(), defs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func runQueryCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = queryCommand(t.Context(), args, strings.NewReader(stdin), &out, &errOut, fakeTables)
	return code, out.String(), errOut.String()
}

func TestQueryCommand(t *testing.T) {
	const ports = "SELECT port, pid, direction FROM legacy_ports ORDER BY port"
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // exact
		stderr string // contained
	}{
		{"table", "", []string{ports}, cli.ExitClean,
			"port  pid  direction\n----  ---  ---------\n23    -1   listen\n609   10   listen\n5190  30   outbound\n", ""},
		{"flags after the SQL", "", []string{ports, "--format", "csv"}, cli.ExitClean,
			"port,pid,direction\n23,-1,listen\n609,10,listen\n5190,30,outbound\n", ""},
		{"json", "", []string{"--format", "json", "SELECT service FROM legacy_ports WHERE pid = 30"}, cli.ExitClean,
			"[\n  {\"service\": \"aol\"}\n]\n", ""},
		{"line", "", []string{"--format=line", "SELECT port, verdict FROM legacy_ports WHERE port = 23"}, cli.ExitClean,
			"   port = 23\nverdict = insecure\n", ""},
		{"join and group", "", []string{"SELECT r.category, count(*) AS n FROM legacy_ports lp JOIN legacy_port_registry r ON r.port = lp.port AND r.protocol = lp.protocol GROUP BY r.category ORDER BY r.category"}, cli.ExitClean,
			"category         n\n---------------  -\ndead-product     2\ninsecure-legacy  1\n", ""},
		{"several statements are headed", "", []string{"SELECT 1 AS a; SELECT 2 AS b"}, cli.ExitClean,
			"-- statement 1\na\n-\n1\n\n-- statement 2\nb\n-\n2\n", ""},
		{"SQL after --", "", []string{"--", "SELECT 3 AS c"}, cli.ExitClean, "c\n-\n3\n", ""},
		{"SQL on stdin", "SELECT version FROM legacy_ports_info;\n", nil, cli.ExitClean,
			"-- stdin:1\nversion\n-------\n9.9.9\n", ""},
		{"stdin needing osquery is checked, not run", "SELECT 1 FROM osquery_extensions WHERE name = 'legacy_ports';\nSELECT 4 AS d;", nil, cli.ExitClean,
			"-- stdin:2\nd\n-\n4\n", "stdin:1: not run: needs osquery (no such table osquery_extensions here)"},
		{"bad SQL", "", []string{"SELEC port FROM legacy_ports"}, cli.ExitError, "", `legacy-ports query: near "SELEC": syntax error`},
		{"unknown table", "", []string{"SELECT * FROM legacy_portz"}, cli.ExitError, "", "legacy-ports query: no such table: legacy_portz"},
		{"unknown column", "", []string{"SELECT colour FROM legacy_ports"}, cli.ExitError, "", "legacy-ports query: no such column: colour"},
		{"one bad statement of several prints nothing", "", []string{"SELECT 1; SELECT nope FROM legacy_ports"}, cli.ExitError, "", "no such column: nope"},
		{"osquery's table on the command line", "", []string{"SELECT * FROM listening_ports"}, cli.ExitError, "",
			"no such table: listening_ports: it is one of osquery's own tables"},
		{"osquery's table with a wrong column", "", []string{"SELECT colour FROM listening_ports"}, cli.ExitError, "", "no such column: colour"},
		{"writes are refused", "", []string{"DELETE FROM legacy_ports"}, cli.ExitError, "", "not authorized"},
		{"empty SQL", "", []string{" "}, cli.ExitError, "", "empty statement"},
		{"nothing on stdin", "", nil, cli.ExitError, "", "no SQL: give a statement, --file FILE, or SQL on stdin"},
		{"two arguments", "", []string{"SELECT", "1"}, cli.ExitError, "", "give the SQL as one argument, in quotes"},
		{"SQL and a file", "", []string{"--file", "x.sql", "SELECT 1"}, cli.ExitError, "", "give either SQL or --file x.sql, not both"},
		{"bad format", "", []string{"--format", "xml", "SELECT 1"}, cli.ExitError, "", `--format: unknown format "xml"`},
		{"bad flag", "", []string{"--colour", "SELECT 1"}, cli.ExitError, "", "flag provided but not defined: -colour"},
		{"help", "", []string{"-h"}, cli.ExitClean, "", "legacy-ports query [--format F] SQL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runQueryCLI(t, tt.stdin, tt.args...)
			if code != tt.code || stdout != tt.stdout || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("query %q: exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant it to contain: %s",
					tt.args, code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
			}
		})
	}
}

// TestQueryRendersLikeScan checks that a query prints a table's rows exactly
// as scan does: the same generate function, the same rendering.
func TestQueryRendersLikeScan(t *testing.T) {
	defs, err := fakeTables("", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := defs[0].Generate(t.Context(), table.Request{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range render.Formats {
		t.Run(format, func(t *testing.T) {
			var want bytes.Buffer
			if err := render.Write(&want, format, cli.ColumnNames(defs[0].Columns), cli.TextRows(rows)); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runQueryCLI(t, "", "--format", format, "SELECT * FROM legacy_ports")
			if code != cli.ExitClean || stdout != want.String() {
				t.Errorf("exit %d, %s\ngot:\n%s\nwant:\n%s", code, stderr, stdout, want.String())
			}
		})
	}
}

// writeFiles creates files under dir; names may have directories.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// goodFiles holds good files of every kind --file reads, the readers' own
// fixtures.
var goodFiles = filepath.Join("..", "..", "internal", "queryfile", "testdata", "good")

func TestQueryFiles(t *testing.T) {
	p := func(name string) string { return filepath.Join(goodFiles, name) }
	tests := []struct {
		file     string
		format   string
		headings []string // the names heading the results, in order
		stdout   []string // also printed
		stderr   []string // notes on queries that need osquery
	}{
		{"checks.sql", "table", []string{p("checks.sql") + ":2", p("checks.sql") + ":5"}, []string{"ghosts\n------\n2\n", "9.9.9"}, nil},
		{"pack.conf", "csv", []string{"zz_first"}, []string{"port\n609\n"},
			[]string{p("pack.conf") + ":3: discovery 1: not run: needs osquery (no such table osquery_extensions here)",
				p("pack.conf") + ":7: aa_second: not run: needs osquery (no such table listening_ports here)"}},
		{"osquery.conf", "line", []string{"info", "decorators.load 1", "decorators.interval.3600 1", "inline/q", "external/zz_first"},
			[]string{"version = 9.9.9", "d = x", "e = y", "f = 5"}, []string{"external/discovery 1: not run", "external/aa_second: not run"}},
		{"policies.yml", "table", []string{"no ghosts", "multi-line", "multi-line"}, []string{"port\n----\n5190\n"}, nil},
		{"teams/team.yml", "table", []string{"no ghosts", "multi-line", "multi-line", "inventory"}, []string{"n\n-\n3\n"},
			[]string{p("teams/team.yml") + ":5: loaded: not run: needs osquery"}},
		{"apply.yml", "table", []string{"pol", "qry", "rpt"}, []string{"service\n-------\ntelnet\n", "version\n-------\n9.9.9\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			code, stdout, stderr := runQueryCLI(t, "", "--file", p(tt.file), "--format", tt.format)
			if code != cli.ExitClean {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var headings []string
			for _, l := range strings.Split(stdout, "\n") {
				if name, ok := strings.CutPrefix(l, "-- "); ok {
					headings = append(headings, name)
				}
			}
			if !slices.Equal(headings, tt.headings) {
				t.Errorf("headings %q, want %q\n%s", headings, tt.headings, stdout)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if n := strings.Count(stderr, "\n"); n != len(tt.stderr) {
				t.Errorf("%d lines on stderr, want %d:\n%s", n, len(tt.stderr), stderr)
			}
		})
	}
}

func TestQueryFileJSON(t *testing.T) {
	code, stdout, stderr := runQueryCLI(t, "", "--file", filepath.Join(goodFiles, "apply.yml"), "--format", "json")
	want := `[
{"name": "pol", "rows": [
  {"1": "1"}
]},
{"name": "qry", "rows": [
  {"service": "telnet"}
]},
{"name": "rpt", "rows": [
  {"version": "9.9.9"}
]}
]
`
	if code != cli.ExitClean || stdout != want {
		t.Errorf("exit %d, %s\ngot:\n%s\nwant:\n%s", code, stderr, stdout, want)
	}
}

// TestQueryFileErrors checks what the command makes of a file: every
// statement that fails is reported, and nothing is printed. The readers'
// own errors are tested in internal/queryfile.
func TestQueryFileErrors(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"broken.sql":    "SELECT 1 AS fine;\n\nSELECT colour\nFROM legacy_ports;\nSELEC 2;\n",
		"wrong_osq.yml": "- name: bad column\n  query: SELECT colour FROM listening_ports;\n",
		"unknown.yml":   "- name: typo\n  query: SELECT * FROM listening_portz;\n",
		"syntax.conf":   "{\n  \"queries\": {\n    \"a\": {\"query\": \"SELECT 1\"},\n  }\n}\n",
		"nothing.conf":  "{\"options\": {}}",
	}
	writeFiles(t, dir, files)
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		file string
		want []string
	}{
		{"broken.sql", []string{p("broken.sql") + ":3: no such column: colour", p("broken.sql") + `:5: near "SELEC": syntax error`}},
		{"wrong_osq.yml", []string{p("wrong_osq.yml") + ":2: bad column: no such column: colour"}},
		{"unknown.yml", []string{p("unknown.yml") + ":2: typo: no such table: listening_portz"}},
		{"syntax.conf", []string{p("syntax.conf") + ":4: invalid character '}'"}},
		{"nothing.conf", []string{p("nothing.conf") + ": no queries in it"}},
		{"absent.sql", []string{"open " + p("absent.sql")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			code, stdout, stderr := runQueryCLI(t, "", "--file", p(tt.file))
			if code != cli.ExitError || stdout != "" {
				t.Errorf("exit %d, stdout %q; want exit 2 and nothing", code, stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// tty is a terminal for the shell's tests: keys in, screen out.
type tty struct {
	in  io.Reader
	out bytes.Buffer
}

func (t *tty) Read(p []byte) (int, error)  { return t.in.Read(p) }
func (t *tty) Write(p []byte) (int, error) { return t.out.Write(p) }

// TestShell types at the shell through golang.org/x/term's Terminal, the
// line editor the real shell uses, as a person would: Enter is "\r", the
// up arrow "\x1b[A".
func TestShell(t *testing.T) {
	db := openFakeDB(t)
	tests := []struct {
		name  string
		keys  string
		want  []string // on the screen, in this order
		never []string
	}{
		{"banner and quit", ".quit\rSELECT 'after' AS late;\r",
			[]string{"SQL over legacy_ports, legacy_port_registry, legacy_ports_info, legacy_port_events. Enter \".help\" for help.", "legacy-ports> .quit"},
			[]string{"late"}},
		{"end of input leaves", "SELECT 1 AS one;\r", []string{"one\n---\n1\n"}, nil},
		{"help", ".help\r.exit\r", []string{".schema [TABLE]", ".mode [MODE]", "Ctrl-D"}, nil},
		{"tables and schema", ".tables\r.schema legacy_ports_info\r.schema listening_ports\r.schema nope\r.quit\r",
			[]string{"  => legacy_ports\n  => legacy_port_registry\n  => legacy_ports_info\n",
				"CREATE TABLE legacy_ports_info(`version` TEXT, `registry_entries` INTEGER,",
				"Error: listening_ports is one of osquery's own tables",
				"Error: no such table: nope"}, nil},
		{"a statement over several lines", "SELECT port\r  FROM legacy_ports\r  WHERE pid = 10;\r.quit\r",
			[]string{"legacy-ports> SELECT port", "         ...>   FROM legacy_ports", "port\n----\n609\n"}, nil},
		{"history and modes", ".mode\r.mode csv\rSELECT service FROM legacy_ports WHERE pid = 30;\r\x1b[A\r.mode xml\r.mode\r.quit\r",
			[]string{"current output mode: table", "service\naol\n", "service\naol\n", `Error: unknown format "xml"`, "current output mode: csv"}, nil},
		{"errors keep the shell going", "SELEC 1;\rSELECT * FROM listening_ports;\rSELECT nope FROM legacy_ports;\r.frob\rSELECT 2 AS two;\r",
			[]string{`Error: near "SELEC": syntax error`,
				"Error: no such table: listening_ports: it is one of osquery's own tables",
				"Error: no such column: nope",
				`Error: unknown command ".frob"`,
				"two\n---\n2\n"}, nil},
		{"blank lines and comments", "\r-- nothing\r\rSELECT 3 AS three; -- done\r",
			[]string{"three\n-----\n3\n"}, []string{"...>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			screen := &tty{in: strings.NewReader(tt.keys)}
			term := term.NewTerminal(screen, "")
			if code := shell(t.Context(), db, term, term, "table"); code != cli.ExitClean {
				t.Errorf("exit %d", code)
			}
			out := strings.ReplaceAll(screen.out.String(), "\r\n", "\n")
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("screen lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.never {
				if strings.Contains(out, n) {
					t.Errorf("screen has %q:\n%s", n, out)
				}
			}
		})
	}
}

// markdownQueries reads the ```sql blocks of a Markdown file, each
// statement named by the line it starts on.
func markdownQueries(path string, data []byte) []queryfile.Query {
	var qs []queryfile.Query
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(lines[i])), "```sql") {
			continue
		}
		end := i + 1
		for end < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[end]), "```") {
			end++
		}
		for _, s := range queryfile.Split(strings.Join(lines[i+1:end], "\n")) {
			where := fmt.Sprintf("%s:%d", path, i+1+s.Line)
			qs = append(qs, queryfile.Query{Name: where, Where: where, SQL: s.SQL})
		}
		i = end
	}
	return qs
}

// shippedFiles finds every file below root that ships SQL: README.md, and
// in packaging/ Markdown, SQL, osquery packs and Fleet YAML.
func shippedFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	if _, err := os.Stat(filepath.Join(root, "README.md")); err == nil {
		files = append(files, filepath.Join(root, "README.md"))
	}
	err := filepath.WalkDir(filepath.Join(root, "packaging"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		ext := strings.ToLower(filepath.Ext(path))
		switch {
		case ext == ".md", ext == ".sql",
			strings.HasPrefix(rel, "packaging/osquery/") && (ext == ".conf" || ext == ".json"),
			strings.HasPrefix(rel, "packaging/fleet/") && (ext == ".yml" || ext == ".yaml"):
			files = append(files, path)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func shippedQueries(path string) ([]queryfile.Query, error) {
	if strings.EqualFold(filepath.Ext(path), ".md") {
		data, err := os.ReadFile(path)
		return markdownQueries(path, data), err
	}
	return queryfile.Read(path)
}

// runShipped runs every query of the files: each must run here, or need
// osquery and check out against osquery's columns. It returns what is wrong.
func runShipped(t *testing.T, files []string) (queries, needOsquery int, problems []string) {
	t.Helper()
	db := openFakeDB(t)
	for _, f := range files {
		qs, err := shippedQueries(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		var stdout, stderr bytes.Buffer
		if code := runQueries(t.Context(), db, qs, true, "json", &stdout, &stderr); code != cli.ExitClean {
			problems = append(problems, fmt.Sprintf("%s: a shipped query does not run (exit %d):\n%s", f, code, stderr.String()))
		}
		queries += len(qs)
		needOsquery += strings.Count(stderr.String(), "needs osquery")
	}
	return queries, needOsquery, problems
}

// TestShippedQueries runs every SQL statement the repository ships: README
// examples, the packaging docs, the osquery pack and the Fleet files.
func TestShippedQueries(t *testing.T) {
	files := shippedFiles(t, filepath.Join("..", ".."))
	n, osq, problems := runShipped(t, files)
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d statements in %d files; %d need osquery's own tables and were checked against their columns", n, len(files), osq)
}

// TestShippedFilesFound checks the walk itself on a tree with one file of
// each kind, and that a broken shipped query fails the test.
func TestShippedFilesFound(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"README.md":                  "Try:\n\n```sql\nSELECT version FROM legacy_ports_info;\nSELECT 1 FROM osquery_extensions;\n```\n\n```sh\nnot sql\n```\n",
		"packaging/docs/fleet.md":    "  ```SQL\n  SELECT 2;\n  ```\n",
		"packaging/osquery/p.conf":   `{"queries": {"q": {"query": "SELECT 3;"}}}`,
		"packaging/osquery/p.flags":  "--extensions_autoload=/etc/osquery/extensions.load\n",
		"packaging/fleet/lib/a.yml":  "- name: a\n  query: SELECT 4;\n",
		"packaging/fleet/agent.yaml": "config: {}\n",
		"packaging/scripts/x.sql":    "SELECT 5;",
		"docs/other.md":              "```sql\nnot walked\n```\n",
	})
	files := shippedFiles(t, root)
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(root, f)
		rel = append(rel, filepath.ToSlash(r))
	}
	want := []string{"README.md", "packaging/docs/fleet.md", "packaging/fleet/agent.yaml", "packaging/fleet/lib/a.yml", "packaging/osquery/p.conf", "packaging/scripts/x.sql"}
	if !slices.Equal(rel, want) {
		t.Errorf("found %q, want %q", rel, want)
	}
	if n, osq, problems := runShipped(t, files); n != 6 || osq != 1 || problems != nil {
		t.Errorf("%d statements, %d needing osquery, problems %q; want 6, 1 and none", n, osq, problems)
	}

	broken := t.TempDir()
	writeFiles(t, broken, map[string]string{"README.md": "# x\n\n```sql\nSELECT colour FROM legacy_ports;\n```\n"})
	_, _, problems := runShipped(t, shippedFiles(t, broken))
	if want := filepath.Join(broken, "README.md") + ":4: no such column: colour"; len(problems) != 1 || !strings.Contains(problems[0], want) {
		t.Errorf("problems %q, want one naming %s", problems, want)
	}
}

func TestMentions(t *testing.T) {
	tests := []struct {
		sql  string
		want bool
	}{
		{"SELECT * FROM legacy_ports", true},
		{"select pid from LEGACY_PORTS where port = 609", true},
		{`SELECT * FROM "legacy_ports" lp`, true},
		{"SELECT * FROM legacy_ports_info", false},
		{"SELECT * FROM my_legacy_ports", false},
		{"SELECT * FROM legacy_port_registry", false},
		{"SELECT 1; SELECT * FROM legacy_ports_info, legacy_ports", true},
		{"SELECT * FROM legacy_ports$x", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := mentions(tt.sql, table.LegacyPorts); got != tt.want {
			t.Errorf("mentions(%q) = %v, want %v", tt.sql, got, tt.want)
		}
	}
}

// TestPrepare starts legacy_ports' snapshot when a query names the table,
// and nothing for a query that does not.
func TestPrepare(t *testing.T) {
	defs, err := fakeTables("", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		sql  string
		want []string
	}{
		{"SELECT pid FROM legacy_ports WHERE port = 609", []string{table.LegacyPorts}},
		{"SELECT * FROM legacy_port_registry WHERE port = 609", nil},
		{"SELECT version FROM legacy_ports_info", nil},
	} {
		got := prepare(t.Context(), defs, []queryfile.Query{{SQL: tt.sql}})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: started %v, want %v", tt.sql, got, tt.want)
		}
	}
}
