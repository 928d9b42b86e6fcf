// Command legacy-ports looks for ghost services on a host without osquery:
// `scan` lists live sockets on obsolete ports, `query` runs SQL over the same
// tables the extension serves, and `registry` inspects and checks the port
// registry.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
