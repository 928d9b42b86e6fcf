package vtab

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/legacy-ports/legacy-ports/table"
)

// osqueryTables are osquery's built-in tables that queries shipped with
// legacy_ports use, with osquery's columns (osquery/osquery: specs/*.table).
// Where a platform adds columns the union is kept, since a query may target
// any platform. They exist only in Check's database, which never runs a
// statement: this engine has no data for them.
var osqueryTables = map[string]string{
	"osquery_extensions":   "uuid BIGINT, name TEXT, version TEXT, sdk_version TEXT, path TEXT, type TEXT",
	"osquery_info":         "pid INTEGER, uuid TEXT, instance_id TEXT, version TEXT, config_hash TEXT, config_valid INTEGER, extensions TEXT, build_platform TEXT, build_distro TEXT, start_time INTEGER, watcher INTEGER, platform_mask INTEGER",
	"listening_ports":      "pid INTEGER, port INTEGER, protocol INTEGER, family INTEGER, address TEXT, fd BIGINT, socket BIGINT, path TEXT, net_namespace TEXT",
	"process_open_sockets": "pid INTEGER, fd BIGINT, socket BIGINT, family INTEGER, protocol INTEGER, local_address TEXT, remote_address TEXT, local_port INTEGER, remote_port INTEGER, path TEXT, state TEXT, net_namespace TEXT",
	"etc_services":         "name TEXT, port INTEGER, protocol TEXT, aliases TEXT, comment TEXT",
	"processes": "pid BIGINT, name TEXT, path TEXT, cmdline TEXT, state TEXT, cwd TEXT, root TEXT, " +
		"uid BIGINT, gid BIGINT, euid BIGINT, egid BIGINT, suid BIGINT, sgid BIGINT, on_disk INTEGER, " +
		"wired_size BIGINT, resident_size BIGINT, total_size BIGINT, user_time BIGINT, system_time BIGINT, " +
		"disk_bytes_read BIGINT, disk_bytes_written BIGINT, start_time BIGINT, parent BIGINT, pgroup BIGINT, " +
		"threads INTEGER, nice INTEGER, " +
		"cgroup_path TEXT, " + // Linux
		"elevated_token INTEGER, secure_process INTEGER, protection_type TEXT, virtual_process INTEGER, " + // Windows
		"elapsed_time BIGINT, handle_count BIGINT, percent_processor_time BIGINT, " +
		"upid BIGINT, uppid BIGINT, cpu_type INTEGER, cpu_subtype INTEGER, translated INTEGER", // macOS
	"system_info": "hostname TEXT, uuid TEXT, cpu_type TEXT, cpu_subtype TEXT, cpu_brand TEXT, " +
		"cpu_physical_cores INTEGER, cpu_logical_cores INTEGER, cpu_microcode TEXT, physical_memory BIGINT, " +
		"hardware_vendor TEXT, hardware_model TEXT, hardware_version TEXT, hardware_serial TEXT, " +
		"board_vendor TEXT, board_model TEXT, board_version TEXT, board_serial TEXT, computer_name TEXT, local_hostname TEXT",
	"os_version": "name TEXT, version TEXT, major INTEGER, minor INTEGER, patch INTEGER, build TEXT, " +
		"platform TEXT, platform_like TEXT, codename TEXT, arch TEXT, " +
		"install_date BIGINT, " + // Windows
		"pid_with_namespace INTEGER, mount_namespace_id TEXT", // Linux
}

// OsqueryTables lists the osquery built-in tables Check knows.
func OsqueryTables() []string {
	names := make([]string, 0, len(osqueryTables))
	for n := range osqueryTables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// IsOsqueryTable reports whether name is one of OsqueryTables.
func IsOsqueryTable(name string) bool {
	_, ok := osqueryTables[strings.ToLower(name)]
	return ok
}

var noSuchTable = regexp.MustCompile(`no such table: (?:main\.)?([A-Za-z0-9_$]+)`)

// MissingTable returns the table named by SQLite's "no such table" error.
func MissingTable(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	m := noSuchTable.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Check prepares a statement without running it, in a separate database
// where this DB's tables are plain empty tables with the same columns and
// osquery's built-in tables of OsqueryTables exist, empty, with osquery's
// columns. A nil error means SQLite accepts the statement's syntax, tables
// and columns on an osquery host that has the extension loaded; it says
// nothing about the rows osquery would return.
func (d *DB) Check(ctx context.Context, sqlText string) error {
	if n := len(Split(sqlText)); n != 1 {
		return fmt.Errorf("%d statements where one was expected", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.check == nil {
		c, err := d.sql.Conn(ctx)
		if err != nil {
			return fmt.Errorf("vtab: %w", err)
		}
		if err := createStandIns(ctx, c, d.defs); err != nil {
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

// createStandIns makes Check's tables: this DB's, plain and empty, and
// osquery's built-ins.
func createStandIns(ctx context.Context, c *sql.Conn, defs []table.Definition) error {
	for _, def := range defs {
		if _, err := c.ExecContext(ctx, createTable(def.Name, def.Columns)); err != nil {
			return fmt.Errorf("vtab: stand-in for %s: %w", def.Name, sqliteError(err))
		}
	}
	for name, cols := range osqueryTables {
		if _, err := c.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s(%s)", name, cols)); err != nil {
			return fmt.Errorf("vtab: stand-in for osquery's %s: %w", name, sqliteError(err))
		}
	}
	return nil
}
