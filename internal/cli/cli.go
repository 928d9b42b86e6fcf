// Package cli holds what the command-line front ends share: exit codes,
// flag handling and the text form of rows. legacy-ports and
// legacy-ports-query both use it, so that `legacy-ports query` behaves as
// the other commands do although it runs in its own binary.
package cli

import (
	"errors"
	"flag"
	"io"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
)

// Exit codes, for scripts: nothing found, a ghost found, an error.
const (
	ExitClean = 0
	ExitFound = 1
	ExitError = 2
)

// NewFlags makes the flag set of `legacy-ports NAME`; its errors are the
// caller's to print.
func NewFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("legacy-ports "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// ParseFlags parses args; it returns an exit code when the command should
// stop here (help asked, or a bad flag).
func ParseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitClean, true
		}
		return ExitError, true
	}
	return 0, false
}

// RegistryFileFlag adds the flag naming the admin's registry file.
func RegistryFileFlag(fs *flag.FlagSet) *string {
	return fs.String("registry-file", "", "the admin's registry file (default "+registry.DefaultAdminPath+", used when present)")
}

// TextRows are rows as the command-line tool prints them: as osquery shows
// them.
func TextRows(rows []table.Row) []map[string]string {
	out := make([]map[string]string, len(rows))
	for i, r := range rows {
		out[i] = r.Text()
	}
	return out
}

// ColumnNames are the names of cols, in order.
func ColumnNames(cols []table.Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}
