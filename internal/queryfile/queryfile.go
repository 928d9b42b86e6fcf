// Package queryfile reads the SQL that `legacy-ports query` runs: .sql
// scripts, osquery packs and configurations, and Fleet YAML files, each
// query named and placed (FILE:LINE) for messages. It also splits SQL text
// into statements as SQLite's tokenizer sees them, and knows the columns of
// the osquery tables that shipped queries use, so that a query needing
// osquery can still be checked. It runs nothing: table/vtab does.
package queryfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Query is one statement to run and where it comes from.
type Query struct {
	Name  string // heads its result; "" for a lone statement on the command line
	Where string // FILE:LINE for messages; "" on the command line
	SQL   string
}

// Load reads every query of a file, by its kind; a file without any is an
// error.
func Load(path string) ([]Query, error) {
	qs, err := Read(path)
	if err == nil && len(qs) == 0 {
		err = fmt.Errorf("%s: no queries in it", path)
	}
	return qs, err
}

// Read reads every query of a file, by its kind: .sql, .conf or .json (an
// osquery pack or configuration), .yml or .yaml (Fleet).
func Read(path string) ([]Query, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".sql":
		return SQL(path, data), nil
	case ".conf", ".json":
		return Pack(path, data)
	case ".yml", ".yaml":
		return Fleet(path, data)
	default:
		return nil, fmt.Errorf("%s: unknown kind of file %q (want .sql, an osquery pack or config .conf/.json, or Fleet YAML .yml/.yaml)", path, ext)
	}
}

// SQL cuts a SQL script into statements, named by where they start.
func SQL(path string, data []byte) []Query {
	var qs []Query
	for _, s := range Split(string(data)) {
		where := fmt.Sprintf("%s:%d", path, s.Line)
		qs = append(qs, Query{Name: where, Where: where, SQL: s.SQL})
	}
	return qs
}

// named turns the SQL of one named query of a pack or Fleet file into
// queries: it may hold several statements, and must hold one. A query
// without a name ("" is a valid JSON key) is named by where it is.
func named(name, where, sql string) ([]Query, error) {
	if name == "" {
		name = where
	}
	stmts := Split(sql)
	switch len(stmts) {
	case 0:
		return nil, fmt.Errorf("%s: %s: the query is empty", where, name)
	case 1:
		return []Query{{Name: name, Where: where, SQL: stmts[0].SQL}}, nil
	}
	qs := make([]Query, len(stmts))
	for i, s := range stmts {
		qs[i] = Query{Name: fmt.Sprintf("%s (statement %d)", name, i+1), Where: where, SQL: s.SQL}
	}
	return qs, nil
}
