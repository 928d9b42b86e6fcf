//go:build !linux

package sockets

import (
	"context"

	gnet "github.com/shirou/gopsutil/v4/net"
)

// Default returns this host's socket source.
func Default() Source { return portable{attribution: attribution()} }

// portable is the Source for every platform but Linux: gopsutil asks
// GetExtendedTcpTable/GetExtendedUdpTable on Windows and lsof on macOS, and
// both report each socket's owner with it.
type portable struct {
	attribution Attribution
}

func (p portable) Sockets(ctx context.Context, keep Filter) ([]Socket, error) {
	conns, err := gnet.ConnectionsWithContext(ctx, "inet")
	return fromConnections(conns, keep), err
}

func (portable) Owners(context.Context, map[uint64]struct{}, []int32) (map[uint64][]Owner, error) {
	return nil, nil // owners arrive with the sockets
}

func (portable) Process(ctx context.Context, pid int32) (Process, error) {
	return describeProcess(ctx, "", pid)
}

func (p portable) Capabilities() Capabilities {
	return Capabilities{Namespaces: false, Attribution: p.attribution}
}
