package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/legacy-ports/legacy-ports/internal/buildinfo"
	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/table"
)

const usage = `usage: legacy-ports COMMAND [flags]

commands:
  scan                 list live sockets on obsolete ports (exit 0: none, 1: ghost or insecure found, 2: error)
  query SQL            run SQL over the extension's tables (--format; no SQL: a shell, or SQL from stdin)
  query --file FILE    run every query of a .sql file, an osquery pack or a Fleet YAML file
  watch                print events on obsolete ports as they happen, until Ctrl-C (--format, --source)
  registry list        list the port registry (--category, --confidence, --port, --format)
  registry show PORT   show the entries for one port
  registry lint FILE   check an admin's registry file (syntax, ports, who may write it)
  registry verify --iana FILE
                       check every entry against IANA's service-names-port-numbers.csv
  version              print the version

Run 'legacy-ports COMMAND -h' for a command's flags.
`

// commands maps each command to its implementation; each returns an exit code.
var commands = map[string]func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int{
	"scan":     runScan,
	"registry": runRegistry,
	"query":    runQuery,
	"watch":    runWatch,
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.ExitError
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return cli.ExitClean
	case "version", "--version":
		fmt.Fprintf(stdout, "legacy-ports %s (%s)\n", buildinfo.Version, buildinfo.Commit)
		return cli.ExitClean
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "legacy-ports: unknown command %q\n\n%s", args[0], usage)
		return cli.ExitError
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}

// definition returns the named table, built for this host with the admin's
// file at adminPath ("" for the platform's default).
func definition(name, adminPath string, stderr io.Writer) (table.Definition, error) {
	opts, err := setup.Options(stderr, adminPath)
	if err != nil {
		return table.Definition{}, err
	}
	for _, d := range table.Definitions(opts) {
		if d.Name == name {
			return d, nil
		}
	}
	return table.Definition{}, fmt.Errorf("no table %s", name)
}

// portValue reads a port the user typed ("611", "0611") as the value of a
// port column; the error names the value.
func portValue(s string) (table.Value, error) {
	v, ok := table.ParseValue(table.Integer, s)
	if n, isInt := v.Int(); !ok || !isInt || n < 0 || n > 65535 {
		return table.Value{}, fmt.Errorf("%q is not a port number (want 0 to 65535)", s)
	}
	return v, nil
}

// pickColumns resolves a --columns value against a table's columns.
func pickColumns(spec string, all []string) ([]string, error) {
	if spec == "all" {
		return all, nil
	}
	var out []string
	for _, c := range strings.Split(spec, ",") {
		c = strings.TrimSpace(c)
		found := false
		for _, a := range all {
			found = found || a == c
		}
		if !found {
			return nil, fmt.Errorf("unknown column %q (the columns are: %s)", c, strings.Join(all, ", "))
		}
		out = append(out, c)
	}
	return out, nil
}
