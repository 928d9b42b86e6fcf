package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/internal/render"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
)

const registryUsage = `usage:
  legacy-ports registry list [--category C] [--confidence L] [--port P] [--format F]
  legacy-ports registry show PORT
  legacy-ports registry lint FILE
  legacy-ports registry verify --iana service-names-port-numbers.csv
`

var registryCommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"list":   registryList,
	"show":   registryShow,
	"verify": registryVerify,
	"lint":   registryLint,
}

func runRegistry(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, registryUsage)
		return cli.ExitError
	}
	cmd, ok := registryCommands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "legacy-ports registry: unknown command %q\n\n%s", args[0], registryUsage)
		return cli.ExitError
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// registryRows returns legacy_port_registry's rows: list and show print the
// table the extension serves. A port, when given, is handed to the table as
// osquery would hand WHERE port = P, so that only its rows are built; the
// caller still filters.
func registryRows(ctx context.Context, adminPath string, port *table.Value, stderr io.Writer) ([]string, []table.Row, error) {
	d, err := definition(table.PortRegistry, adminPath, stderr)
	if err != nil {
		return nil, nil, err
	}
	var req table.Request
	if port != nil {
		req.Add(table.ColPort, table.Equals, port.Text())
	}
	rows, err := d.Generate(ctx, req)
	return cli.ColumnNames(d.Columns), rows, err
}

func registryList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlags("registry list", stderr)
	category := fs.String("category", "", "only this category: historic-rfc, dead-protocol, dead-product or insecure-legacy")
	confidence := fs.String("confidence", "", "only this confidence: high, medium or low")
	port := fs.String("port", "", "only this `port` (a number: 611, 0611)")
	format := fs.String("format", "table", "output format: table, json, csv or line")
	adminFile := cli.RegistryFileFlag(fs)
	if code, stop := cli.ParseFlags(fs, args); stop {
		return code
	}
	if err := render.CheckFormat(*format); err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry list: --format: %v\n", err)
		return cli.ExitError
	}
	if *category != "" && !slices.Contains(registry.Categories, registry.Category(*category)) {
		fmt.Fprintf(stderr, "legacy-ports registry list: --category: unknown value %q (want historic-rfc, dead-protocol, dead-product or insecure-legacy)\n", *category)
		return cli.ExitError
	}
	if *confidence != "" && *confidence != "high" && *confidence != "medium" && *confidence != "low" {
		fmt.Fprintf(stderr, "legacy-ports registry list: --confidence: unknown value %q (want high, medium or low)\n", *confidence)
		return cli.ExitError
	}
	var portFilter *table.Value
	if *port != "" {
		v, err := portValue(*port)
		if err != nil {
			fmt.Fprintf(stderr, "legacy-ports registry list: --port: %v\n", err)
			return cli.ExitError
		}
		portFilter = &v
	}
	cols, rows, err := registryRows(ctx, *adminFile, portFilter, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry list: %v\n", err)
		return cli.ExitError
	}
	var kept []table.Row
	for _, r := range rows {
		if (*category == "" || r[table.ColCategory] == table.TextValue(*category)) &&
			(*confidence == "" || r[table.ColConfidence] == table.TextValue(*confidence)) &&
			(portFilter == nil || r[table.ColPort] == *portFilter) {
			kept = append(kept, r)
		}
	}
	if *format == "table" {
		cols = []string{table.ColPort, table.ColTransport, table.ColService, table.ColCategory, table.ColRetired, table.ColConfidence, table.ColDescription}
	}
	if err := render.Write(stdout, *format, cols, cli.TextRows(kept)); err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry list: %v\n", err)
		return cli.ExitError
	}
	return cli.ExitClean
}

func registryShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlags("registry show", stderr)
	adminFile := cli.RegistryFileFlag(fs)
	if code, stop := cli.ParseFlags(fs, args); stop {
		return code
	}
	args = fs.Args()
	if len(args) != 1 {
		fmt.Fprint(stderr, "usage: legacy-ports registry show [--registry-file FILE] PORT\n")
		return cli.ExitError
	}
	port, err := portValue(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry show: %v\n", err)
		return cli.ExitError
	}
	cols, rows, err := registryRows(ctx, *adminFile, &port, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry show: %v\n", err)
		return cli.ExitError
	}
	var kept []table.Row
	for _, r := range rows {
		if r[table.ColPort] == port {
			kept = append(kept, r)
		}
	}
	if len(kept) == 0 {
		fmt.Fprintf(stderr, "legacy-ports registry show: port %s is not in the registry\n", port)
		return cli.ExitFound
	}
	if err := render.Write(stdout, "line", cols, cli.TextRows(kept)); err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry show: %v\n", err)
		return cli.ExitError
	}
	return cli.ExitClean
}

func registryVerify(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlags("registry verify", stderr)
	iana := fs.String("iana", "", "IANA's service-names-port-numbers.csv")
	if code, stop := cli.ParseFlags(fs, args); stop {
		return code
	}
	if *iana == "" {
		fmt.Fprint(stderr, "legacy-ports registry verify: --iana FILE is required (IANA's service-names-port-numbers.csv)\n")
		return cli.ExitError
	}
	reg, err := registry.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry verify: %v\n", err)
		return cli.ExitError
	}
	f, err := os.Open(*iana)
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry verify: %v\n", err)
		return cli.ExitError
	}
	defer f.Close()
	diffs, err := registry.VerifyIANA(reg, f)
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry verify: %s: %v\n", *iana, err)
		return cli.ExitError
	}
	for _, d := range diffs {
		fmt.Fprintln(stdout, d.String())
	}
	if len(diffs) > 0 {
		fmt.Fprintf(stderr, "%d difference(s) with %s\n", len(diffs), *iana)
		return cli.ExitFound
	}
	fmt.Fprintf(stdout, "%d entries (%d port/transport pairs) agree with %s\n", reg.Len(), reg.Pairs(), *iana)
	return cli.ExitClean
}

// registryLint checks an admin's file the way the extension will read it:
// who may write it, its syntax, and whether it applies to the built-in
// registry. Exit 1 when the file would be rejected.
func registryLint(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, "usage: legacy-ports registry lint FILE\n")
		return cli.ExitError
	}
	base, err := registry.Builtin()
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports registry lint: %v\n", err)
		return cli.ExitError
	}
	admin, err := registry.ReadAdminFile(args[0])
	if err == nil {
		_, err = admin.Apply(base)
	}
	if err != nil {
		fmt.Fprintln(stdout, err)
		fmt.Fprintf(stderr, "%s would be rejected; the built-in registry would stay in use\n", args[0])
		return cli.ExitFound
	}
	fmt.Fprintf(stdout, "%s: ok: %d added, %d overridden, %d disabled, %d allow rules\n",
		args[0], len(admin.Entries), len(admin.Overrides), len(admin.Disabled), len(admin.Allow))
	return cli.ExitClean
}
