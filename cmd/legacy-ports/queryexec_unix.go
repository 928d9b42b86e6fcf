//go:build !windows

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/legacy-ports/legacy-ports/internal/cli"
)

// startQuery replaces this process with the query program when it is
// given this process's own streams, so that signals, job control and the
// terminal behave exactly as if the user had started it; other streams
// (tests) go to a child.
func startQuery(ctx context.Context, path string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if stdin != io.Reader(os.Stdin) || stdout != io.Writer(os.Stdout) || stderr != io.Writer(os.Stderr) {
		return runChild(ctx, path, args, stdin, stdout, stderr)
	}
	err := syscall.Exec(path, append([]string{path}, args...), os.Environ())
	fmt.Fprintf(stderr, "legacy-ports query: running %s: %v\n", path, err)
	return cli.ExitError
}
