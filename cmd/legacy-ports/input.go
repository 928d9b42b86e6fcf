package main

import (
	"fmt"
	"io"
	"os"

	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/inventory"
)

const inputUsage = "judge the sockets listed in FILE (- for stdin) instead of this host's: the output of ss -tuan[p], netstat -tuan[p] (Linux), netstat -ano[b] (Windows), lsof -nP -i, or osquery's listening_ports/process_open_sockets as JSON"

// scanDefinition returns legacy_ports over this host, or over the sockets
// of an inventory file when input is set, and a note for the summary line.
// An inventory turns off everything that would read this host: the socket
// source, process details and rpcbind.
func scanDefinition(input string, stdin io.Reader, adminPath string, stderr io.Writer) (table.Definition, string, error) {
	if input == "" {
		d, err := definition(table.LegacyPorts, adminPath, stderr)
		return d, privilegeNote(), err
	}
	name, r := input, stdin
	if input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return table.Definition{}, "", err
		}
		defer f.Close()
		r = f
	} else {
		name = "stdin"
	}
	inv, err := inventory.Parse(r)
	if inv != nil {
		for _, p := range inv.Problems {
			fmt.Fprintf(stderr, "%s:%d: %s\n", name, p.Line, p.Why)
		}
	}
	if err != nil {
		return table.Definition{}, "", fmt.Errorf("%s: %w", name, err)
	}
	opts, err := setup.Options(stderr, adminPath)
	if err != nil {
		return table.Definition{}, "", err
	}
	opts.Source, opts.RPCPrograms = inv, nil
	for _, d := range table.Definitions(opts) {
		if d.Name == table.LegacyPorts {
			return d, " in " + name + " (" + inv.Summary() + ")", nil
		}
	}
	return table.Definition{}, "", fmt.Errorf("no table %s", table.LegacyPorts)
}
