//go:build !linux

// Command bench is `make bench`, which measures legacy_ports under a socket
// load it creates on Linux (see main.go); elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: make bench runs on Linux only (netlink, /proc, Pdeathsig)")
	os.Exit(1) //nolint:forbidigo // the one exit, in main; the rule's exclusion covers cmd/ only
}
