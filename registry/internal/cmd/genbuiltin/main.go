// Command genbuiltin compiles the registry's data files (registry/data/*.yml)
// into registry/builtin_gen.go. go generate runs it in registry/, with the
// build tag regen, under which package registry leaves that file out: so
// the generator builds even when the file no longer compiles.
package main

import (
	"fmt"
	"os"

	"github.com/legacy-ports/legacy-ports/registry/internal/gen"
)

func main() {
	if err := run("data", "builtin_gen.go"); err != nil {
		fmt.Fprintf(os.Stderr, "genbuiltin: %v\n", err)
		os.Exit(1)
	}
}

// run writes out only when the whole registry loads, so that a data error
// leaves the last good file in place.
func run(dataDir, out string) error {
	r, err := gen.Load(os.DirFS(dataDir))
	if err != nil {
		return err
	}
	src, err := gen.Source(r)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
