// Command legacy-ports-query runs SQL over the extension's tables for
// `legacy-ports query`, which starts it with the same arguments. It is a
// program of its own so that SQLite, linked here alone, costs the other
// commands of legacy-ports nothing when they start.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runQuery(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
