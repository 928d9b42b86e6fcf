package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/legacy-ports/legacy-ports/internal/cli"
)

// queryProgram runs `legacy-ports query`. SQLite is linked into it alone,
// so that the other commands do not pay for its initialisers and size on
// every start.
const queryProgram = "legacy-ports-query"

// runQuery runs the query program with the same arguments, streams and
// environment, and returns its exit code.
func runQuery(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	path, err := findQueryProgram()
	if err != nil {
		fmt.Fprintf(stderr, "legacy-ports query: %v\n", err)
		return cli.ExitError
	}
	return startQuery(ctx, path, args, stdin, stdout, stderr)
}

// findQueryProgram looks beside this program's executable (its symbolic
// links resolved, as packages link it), then on PATH.
func findQueryProgram() (string, error) {
	name := queryProgram
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	var beside string
	if self, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		// A path with a directory is checked as it is: present and
		// executable.
		beside = filepath.Join(filepath.Dir(self), name)
		if _, err := exec.LookPath(beside); err == nil {
			return beside, nil
		}
	}
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	where := "on PATH"
	if beside != "" {
		where = "at " + beside + " (beside legacy-ports) nor on PATH"
	}
	return "", fmt.Errorf("%s, which runs SQL, is not installed: not found %s; reinstall legacy-ports, or put %s beside legacy-ports", name, where, name)
}

// runChild runs the query program as a child on the given streams and
// returns its exit code.
func runChild(ctx context.Context, path string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Not cancelled with ctx: an interrupt reaches the child too, which
	// then ends by itself, restoring the terminal and stopping what it
	// started; killing it would skip that.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return cli.ExitClean
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode()
	default:
		fmt.Fprintf(stderr, "legacy-ports query: running %s: %v\n", path, err)
		return cli.ExitError
	}
}
