package main

import (
	"context"
	"fmt"
	"io"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/internal/render"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// scanTableColumns are the columns an aligned table shows unless --columns
// says otherwise: the ones that answer "which process, where, and why".
const scanTableColumns = "pid,process_name,local_address,local_port,remote_address,remote_port,transport,direction,service,verdict,reason"

func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlags("scan", stderr)
	format := fs.String("format", "table", "output format: table, json, csv or line")
	columns := fs.String("columns", "", "comma-separated columns, or all (default: all, or a short list for table)")
	adminFile := cli.RegistryFileFlag(fs)
	input := fs.String("input", "", inputUsage)
	if code, stop := cli.ParseFlags(fs, args); stop {
		return code
	}
	if err := render.CheckFormat(*format); err != nil {
		fmt.Fprintf(stderr, "legacy-ports scan: --format: %v\n", err)
		return cli.ExitError
	}
	d, note, err := scanDefinition(*input, stdin, *adminFile, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports scan: %v\n", err)
		return cli.ExitError
	}
	spec := *columns
	if spec == "" {
		spec = "all"
		if *format == "table" {
			spec = scanTableColumns
		}
	}
	cols, err := pickColumns(spec, cli.ColumnNames(d.Columns))
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports scan: --columns: %v\n", err)
		return cli.ExitError
	}
	rows, err := d.Generate(ctx, table.Request{})
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports scan: %v\n", err)
		return cli.ExitError
	}
	if err := render.Write(stdout, *format, cols, cli.TextRows(rows)); err != nil {
		fmt.Fprintf(stderr, "legacy-ports scan: %v\n", err)
		return cli.ExitError
	}
	if *format == "table" {
		fmt.Fprintf(stderr, "%d socket(s) on obsolete ports%s\n", len(rows), note)
	}
	for _, r := range rows {
		if v := registry.Verdict(r[table.ColVerdict].Text()); v == registry.Ghost || v == registry.Insecure {
			return cli.ExitFound
		}
	}
	return cli.ExitClean
}

// privilegeNote explains missing owners when this user cannot see them all.
func privilegeNote() string {
	if sockets.Default().Capabilities().Attribution == sockets.Full {
		return ""
	}
	return " (not running with full privileges: sockets of other users' processes show pid -1)"
}
