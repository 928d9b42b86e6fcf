package queryfile

import (
	"maps"
	"slices"
	"strings"
)

// osqueryTables are osquery's built-in tables that queries shipped with
// legacy_ports use, with osquery's columns (osquery/osquery: specs/*.table).
// Where a platform adds columns the union is kept, since a query may target
// any platform. They are stand-ins for vtab's Check, which prepares a
// statement without running it: this engine has no data for them.
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

// OsqueryTables lists the osquery built-in tables of StandIns.
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

// StandIns returns the columns of each of OsqueryTables, as SQL column
// definitions ("pid INTEGER, port INTEGER, ...").
func StandIns() map[string]string { return maps.Clone(osqueryTables) }
