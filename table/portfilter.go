package table

import (
	"sync"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// lastFilter is the filter of the registry in force: a registry changes only
// when the admin's file does, so the filter is built once for each.
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
	reg.Each(func(port uint16, proto uint8, _ *registry.Entry) {
		ports := &f.TCP
		if proto == registry.UDP {
			ports = &f.UDP
		}
		ports.Local.Add(port)
		ports.Remote.Add(port)
	})
	f.TCP.Remote.Add(0)
	lastFilter.reg, lastFilter.f = reg, f
	return f
}
