// Command legacy_ports.ext is the legacy-ports osquery extension. osquery
// starts it with --socket, --timeout and --interval (and --verbose when it
// runs verbose); it registers the tables legacy_ports, legacy_port_registry
// and legacy_ports_info, and serves them until osquery stops.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
