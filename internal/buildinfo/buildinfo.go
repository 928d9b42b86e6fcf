// Package buildinfo carries the version stamped into both binaries at link
// time (see the Makefile's LDFLAGS).
package buildinfo

// Set with -ldflags "-X github.com/legacy-ports/legacy-ports/internal/buildinfo.Version=...".
var (
	Version = "0.0.0-dev"
	Commit  = "unknown"
)
