package events

import "github.com/legacy-ports/legacy-ports/registry"

// Classify finds the registry port an event touches and its direction, as
// legacy_ports would see the socket: bind and listen are the local port
// (listen); accept is the local port (inbound); connect and send are the
// remote port (outbound). A close has lost which side it was on: a socket
// without a peer was listening; otherwise the remote port counts when it is
// in the registry (a client, outbound), else the local one (inbound). ok is
// false when the port is not in reg, which happens when the registry
// changed while the event was on its way.
func Classify(ev Event, reg *registry.Registry) (port uint16, direction string, ok bool) {
	local, remote := ev.Local.Port(), ev.Remote.Port()
	switch ev.Action {
	case Bind, Listen:
		port, direction = local, registry.Listen
	case Accept:
		port, direction = local, registry.Inbound
	case Connect, Send:
		port, direction = remote, registry.Outbound
	case Close:
		switch {
		case remote == 0:
			port, direction = local, registry.Listen
		case reg.Has(remote, ev.Protocol):
			port, direction = remote, registry.Outbound
		default:
			port, direction = local, registry.Inbound
		}
	default:
		return 0, "", false
	}
	return port, direction, reg.Has(port, ev.Protocol)
}

// PortsOf lists every (port, protocol) of reg, for Capture.SetPorts.
func PortsOf(reg *registry.Registry) []Port {
	ports := make([]Port, 0, reg.Pairs())
	reg.Each(func(port uint16, proto uint8, _ *registry.Entry) {
		ports = append(ports, Port{Port: port, Protocol: proto})
	})
	return ports
}
