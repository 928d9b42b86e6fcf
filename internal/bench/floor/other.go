//go:build !linux

// Command floor times the least a Go program can do to list sockets, on
// Linux (see main.go); elsewhere it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "floor: Linux only (sock_diag)")
	os.Exit(1) //nolint:forbidigo // the one exit, in main
}
