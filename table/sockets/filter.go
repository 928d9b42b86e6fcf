package sockets

// IPPROTO numbers, typed as Socket.Protocol is.
const (
	protoTCP uint8 = 6
	protoUDP uint8 = 17
)

// Filter decides, before anything is allocated, whether a socket is kept.
// It gets the local and remote ports and the IPPROTO number.
type Filter interface {
	Keep(local, remote uint16, proto uint8) bool
}

// FilterFunc makes a function a Filter.
type FilterFunc func(local, remote uint16, proto uint8) bool

// Keep calls f.
func (f FilterFunc) Keep(local, remote uint16, proto uint8) bool { return f(local, remote, proto) }

// KeepAll keeps every socket.
var KeepAll Filter = FilterFunc(func(uint16, uint16, uint8) bool { return true })

// PortFilter keeps a socket when its local port is in Local or its remote
// port is in Remote, for the socket's protocol. Being plain data rather than
// a function, it can be handed to the kernel (inet_diag bytecode on Linux),
// which then sends only those sockets; the filter still checks each one.
type PortFilter struct {
	TCP, UDP Ports
}

// Ports are the local and remote ports a PortFilter keeps for one protocol.
type Ports struct {
	Local, Remote PortSet
}

// Keep says whether the socket is kept. Protocols other than TCP and UDP
// never are.
func (f *PortFilter) Keep(local, remote uint16, proto uint8) bool {
	p := f.ports(proto)
	return p != nil && (p.Local.Has(local) || p.Remote.Has(remote))
}

func (f *PortFilter) ports(proto uint8) *Ports {
	switch proto {
	case protoTCP:
		return &f.TCP
	case protoUDP:
		return &f.UDP
	}
	return nil
}

// PortSet is a set of ports: a bitmap, so that membership costs a shift.
type PortSet [1 << 16 / 64]uint64

// Add puts p in the set.
func (s *PortSet) Add(p uint16) { s[p>>6] |= 1 << (p & 63) }

// AddRange puts every port from lo to hi, both included, in the set.
func (s *PortSet) AddRange(lo, hi uint16) {
	for p := int(lo); p <= int(hi); p++ {
		s.Add(uint16(p))
	}
}

// Has says whether p is in the set.
func (s *PortSet) Has(p uint16) bool { return s[p>>6]&(1<<(p&63)) != 0 }

// PortRange is the ports from Lo to Hi, both included.
type PortRange struct{ Lo, Hi uint16 }

// Ranges lists the set as the fewest ranges, in order: adjacent ports
// merge into one range.
func (s *PortSet) Ranges() []PortRange {
	var out []PortRange
	in := false
	for w, bits := range s {
		if bits == 0 && !in {
			continue // most words of a sparse set
		}
		for b := range 64 {
			p := uint16(w*64 + b)
			has := bits&(1<<b) != 0
			switch {
			case has && !in:
				out = append(out, PortRange{p, p})
			case has:
				out[len(out)-1].Hi = p
			}
			in = has
		}
	}
	return out
}
