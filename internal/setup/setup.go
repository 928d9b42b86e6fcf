// Package setup builds what both binaries share: the table options for this
// host, from the embedded registry and this platform's socket source.
package setup

import (
	"fmt"
	"io"

	"github.com/legacy-ports/legacy-ports/internal/buildinfo"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Options returns the table options for this host. warn receives partial
// failures that do not fail a query.
func Options(warn io.Writer) (table.Options, error) {
	reg, err := registry.Builtin()
	if err != nil {
		return table.Options{}, fmt.Errorf("the built-in registry does not load: %w", err)
	}
	st := table.State{Registry: reg, Custom: "none"}
	return table.Options{
		Source:   sockets.Default(),
		State:    func() table.State { return st },
		Version:  buildinfo.Version,
		Warnings: warn,
	}, nil
}
