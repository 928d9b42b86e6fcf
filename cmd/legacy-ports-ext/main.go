// Command legacy_ports.ext is the legacy-ports osquery extension. osquery
// starts it with --socket, --timeout and --interval (and --verbose when it
// runs verbose); it registers the tables legacy_ports, legacy_port_registry,
// legacy_ports_info and legacy_port_events, and serves them until osquery
// stops.
package main

import (
	"context"
	"os"
	"runtime/debug"
)

// memoryLimit is a soft limit for the garbage collector: it collects harder
// as the heap nears it, so that RSS stays near the live heap (the events
// store holds a million events in under 30 MB) instead of growing to twice
// it between collections. It is soft: a larger live heap is not refused.
const memoryLimit = 30 << 20

func main() {
	debug.SetMemoryLimit(memoryLimit)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
