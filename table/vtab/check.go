package vtab

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"

	"github.com/legacy-ports/legacy-ports/internal/queryfile"
	"github.com/legacy-ports/legacy-ports/table"
)

var noSuchTable = lazyRegexp(`no such table: (?:main\.)?([A-Za-z0-9_$]+)`)

// MissingTable returns the table named by SQLite's "no such table" error.
func MissingTable(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	m := noSuchTable().FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Check prepares a statement without running it, in a separate database
// where this DB's tables are plain empty tables with the same columns, and
// the stand-ins given to Open exist, empty, with their columns. A nil error
// means SQLite accepts the statement's syntax, tables and columns where
// those tables exist (for osquery's own tables: on an osquery host that has
// the extension loaded); it says nothing about the rows it would return.
func (d *DB) Check(ctx context.Context, sqlText string) error {
	if n := len(queryfile.Split(sqlText)); n != 1 {
		return fmt.Errorf("%d statements where one was expected", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.check == nil {
		c, err := d.sql.Conn(ctx)
		if err != nil {
			return fmt.Errorf("vtab: %w", err)
		}
		if err := createStandIns(ctx, c, d.defs, d.standIns); err != nil {
			_ = c.Close()
			return err
		}
		d.check = c
	}
	st, err := d.check.PrepareContext(ctx, sqlText)
	if err != nil {
		return sqliteError(err)
	}
	return st.Close()
}

// createStandIns makes Check's tables: this DB's, plain and empty, and the
// stand-ins.
func createStandIns(ctx context.Context, c *sql.Conn, defs []table.Definition, standIns map[string]string) error {
	for _, def := range defs {
		if _, err := c.ExecContext(ctx, createTable(def.Name, def.Columns)); err != nil {
			return fmt.Errorf("vtab: stand-in for %s: %w", def.Name, sqliteError(err))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(standIns)) {
		if _, err := c.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s(%s)", name, standIns[name])); err != nil {
			return fmt.Errorf("vtab: stand-in for %s: %w", name, sqliteError(err))
		}
	}
	return nil
}
