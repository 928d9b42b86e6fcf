package table

import (
	"sync"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// lastFilter is the filter of the registry in force: a registry changes only
// when the admin's file does, and building the filter tests 131,072 pairs.
var lastFilter struct {
	sync.Mutex
	reg *registry.Registry
	f   *sockets.PortFilter
}

// portFilter keeps the sockets whose local or remote port is in reg, and
// every TCP listener (remote port 0) whatever its port: classify needs them
// to tell the server's side of a connection from a client's. As data, the
// filter lets the source ask the kernel for only these sockets.
func portFilter(reg *registry.Registry) *sockets.PortFilter {
	lastFilter.Lock()
	defer lastFilter.Unlock()
	if lastFilter.reg == reg {
		return lastFilter.f
	}
	f := &sockets.PortFilter{}
	for p := range 1 << 16 {
		if reg.Has(uint16(p), registry.TCP) {
			f.TCP.Local.Add(uint16(p))
			f.TCP.Remote.Add(uint16(p))
		}
		if reg.Has(uint16(p), registry.UDP) {
			f.UDP.Local.Add(uint16(p))
			f.UDP.Remote.Add(uint16(p))
		}
	}
	f.TCP.Remote.Add(0)
	lastFilter.reg, lastFilter.f = reg, f
	return f
}
