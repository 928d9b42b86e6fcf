//go:build !linux

package ebpf

import (
	"context"

	"github.com/legacy-ports/legacy-ports/table/events"
)

// Capture is the eBPF capture; it exists only on Linux.
type Capture struct{}

var _ events.Capture = (*Capture)(nil)

var errNotLinux = unavailable("eBPF needs Linux", nil)

// Open fails: eBPF needs Linux.
func Open([]events.Port, ...Option) (*Capture, error) { return nil, errNotLinux }

// Run fails: eBPF needs Linux.
func (*Capture) Run(context.Context, func(events.Event)) error { return errNotLinux }

// SetPorts fails: eBPF needs Linux.
func (*Capture) SetPorts([]events.Port) error { return errNotLinux }

// Dropped is always 0.
func (*Capture) Dropped() uint64 { return 0 }

// Close does nothing.
func (*Capture) Close() error { return nil }
