package queryfile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// good is where the good files of every kind live.
var good = filepath.Join("testdata", "good")

// brief writes a query as "name @ where-in-testdata/good: first line".
func brief(q Query) string {
	where := strings.TrimPrefix(q.Where, good+string(filepath.Separator))
	first, _, _ := strings.Cut(q.SQL, "\n")
	return fmt.Sprintf("%s @ %s: %s", q.Name, filepath.ToSlash(where), first)
}

func TestRead(t *testing.T) {
	const (
		ghosts   = "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM legacy_ports WHERE verdict = 'ghost')"
		loaded   = "SELECT 1 FROM osquery_extensions WHERE name = 'legacy_ports'"
		pid10    = "SELECT port FROM legacy_ports WHERE pid = 10"
		listened = "SELECT lp.port FROM listening_ports lp JOIN legacy_port_registry r USING (port) WHERE r.service = 'telnet'"
	)
	tests := []struct {
		file string
		want []string
	}{
		{"checks.sql", []string{
			filepath.Join(good, "checks.sql") + ":2 @ checks.sql:2: SELECT count(*) AS ghosts FROM legacy_ports WHERE verdict = 'ghost'",
			filepath.Join(good, "checks.sql") + ":5 @ checks.sql:5: SELECT version FROM legacy_ports_info",
		}},
		{"pack.conf", []string{
			"discovery 1 @ pack.conf:3: " + loaded,
			"zz_first @ pack.conf:6: " + pid10,
			"aa_second @ pack.conf:7: " + listened,
		}},
		{"osquery.conf", []string{
			"info @ osquery.conf:3: SELECT version FROM legacy_ports_info",
			"decorators.load 1 @ osquery.conf:4: SELECT 'x' AS d",
			"decorators.interval.3600 1 @ osquery.conf:4: SELECT 'y' AS e",
			"inline/q @ osquery.conf:6: SELECT 5 AS f",
			"external/discovery 1 @ pack.conf:3: " + loaded,
			"external/zz_first @ pack.conf:6: " + pid10,
			"external/aa_second @ pack.conf:7: " + listened,
		}},
		{"policies.yml", []string{
			"no ghosts @ policies.yml:3: " + ghosts,
			"multi-line @ policies.yml:7: SELECT port",
			"multi-line @ policies.yml:7: SELECT port", // a YAML alias to the one before
		}},
		{"teams/team.yml", []string{
			"no ghosts @ policies.yml:3: " + ghosts,
			"multi-line @ policies.yml:7: SELECT port",
			"multi-line @ policies.yml:7: SELECT port",
			"loaded @ teams/team.yml:5: " + loaded,
			"inventory @ teams/team.yml:8: SELECT count(*) AS n FROM legacy_ports",
		}},
		{"apply.yml", []string{
			"pol @ apply.yml:7: SELECT 1 FROM legacy_ports_info WHERE errors = ''",
			"qry @ apply.yml:13: SELECT service FROM legacy_ports WHERE port = 23",
			"rpt @ apply.yml:24: SELECT version FROM legacy_ports_info",
		}},
		{"teams/fleet.yml", []string{
			"events @ teams/fleet.yml:5: SELECT action, port FROM legacy_port_events",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			qs, err := Load(filepath.Join(good, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, q := range qs {
				got = append(got, brief(q))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
	qs, err := Read(filepath.Join(good, "policies.yml"))
	if err != nil || qs[1].SQL != "SELECT port\nFROM legacy_ports\nWHERE direction = 'outbound'" {
		t.Errorf("a multi-line query keeps its lines, without the semicolon: %q, %v", qs[1].SQL, err)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"syntax.conf":      "{\n  \"queries\": {\n    \"a\": {\"query\": \"SELECT 1\"},\n  }\n}\n",
		"noquery.conf":     "{\"queries\": {\"a\": {\"interval\": 60}}}",
		"notstring.conf":   "{\"queries\": {\"a\": {\"query\": 42}}}",
		"discovery.conf":   "{\"discovery\": \"SELECT 1\"}",
		"empty.conf":       "{\"queries\": {\"a\": {\"query\": \" ;\"}}}",
		"nothing.conf":     "{\"options\": {}}",
		"missingpack.conf": "{\"packs\": {\"p\": \"nowhere.conf\"}}",
		"nested.conf":      "{\"packs\": {\"p\": {\"packs\": {\"q\": \"nothing.conf\"}}}}",
		"syntax.yml":       "- name: a\n  query: [unclosed\n",
		"noquery.yml":      "- name: a\n  description: nothing to run\n",
		"badpath.yml":      "policies:\n  - path: missing.yml\n",
		"loop.yml":         "- path: loop.yml\n",
		"scalar.yml":       "just text\n",
		"nospec.yml":       "apiVersion: v1\nkind: policy\n",
		"file.txt":         "SELECT 1",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		file string
		want []string
	}{
		{"syntax.conf", []string{p("syntax.conf") + ":4: invalid character '}'"}},
		{"noquery.conf", []string{p("noquery.conf") + `:1: queries.a: no "query"`}},
		{"notstring.conf", []string{p("notstring.conf") + ":1: a: want a string, got 42"}},
		{"discovery.conf", []string{p("discovery.conf") + ":1: discovery: want a list"}},
		{"empty.conf", []string{p("empty.conf") + ":1: a: the query is empty"}},
		{"nothing.conf", []string{p("nothing.conf") + ": no queries in it"}},
		{"missingpack.conf", []string{p("missingpack.conf") + ":1: packs.p: open " + p("nowhere.conf")}},
		{"nested.conf", []string{p("nested.conf") + ":1: packs.q: a pack inside a pack"}},
		{"syntax.yml", []string{p("syntax.yml") + ": line ", "did not find expected ',' or ']'"}},
		{"noquery.yml", []string{p("noquery.yml") + ":1: no query (want name: and query:, or path:)"}},
		{"badpath.yml", []string{p("badpath.yml") + ":2: path: open " + p("missing.yml")}},
		{"loop.yml", []string{"more than 8 levels of path: references (a loop?)"}},
		{"scalar.yml", []string{p("scalar.yml") + ":1: want a list of queries or a mapping"}},
		{"nospec.yml", []string{p("nospec.yml") + ":2: kind policy without spec"}},
		{"file.txt", []string{p("file.txt") + `: unknown kind of file ".txt"`}},
		{"absent.sql", []string{"open " + p("absent.sql")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			qs, err := Load(p(tt.file))
			if err == nil {
				t.Fatalf("no error; queries %v", qs)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestOsqueryTables(t *testing.T) {
	for _, name := range []string{"listening_ports", "PROCESSES", "osquery_extensions"} {
		if !IsOsqueryTable(name) {
			t.Errorf("IsOsqueryTable(%s) = false", name)
		}
	}
	for _, name := range []string{"legacy_ports", "listening_portz", ""} {
		if IsOsqueryTable(name) {
			t.Errorf("IsOsqueryTable(%q) = true", name)
		}
	}
	names := OsqueryTables()
	if !slices.IsSorted(names) || len(names) != len(StandIns()) {
		t.Errorf("OsqueryTables() = %v", names)
	}
	for name, cols := range StandIns() {
		if !strings.Contains(cols, " INTEGER") && !strings.Contains(cols, " TEXT") {
			t.Errorf("%s: columns %q", name, cols)
		}
	}
}
