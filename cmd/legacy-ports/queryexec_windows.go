package main

import (
	"context"
	"io"
)

// startQuery runs the query program as a child, Windows having no exec:
// it shares the console, and its exit code becomes this process's.
func startQuery(ctx context.Context, path string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runChild(ctx, path, args, stdin, stdout, stderr)
}
