// Package registry is the port registry: the curated dataset of obsolete
// ("ghost") ports, how it is loaded and validated, and how a socket's port is
// looked up in it. It knows nothing of osquery or of sockets.
package registry

import (
	"cmp"
	"math/bits"
	"slices"
	"strconv"
)

// Category says why a port is in the registry.
type Category string

// The categories an entry may have.
const (
	HistoricRFC    Category = "historic-rfc"    // the defining RFC is HISTORIC
	DeadProtocol   Category = "dead-protocol"   // the protocol has no modern use
	DeadProduct    Category = "dead-product"    // the vendor product behind it is gone
	InsecureLegacy Category = "insecure-legacy" // alive, but should not be
)

// Categories lists every category, in the order the docs present them.
var Categories = []Category{HistoricRFC, DeadProtocol, DeadProduct, InsecureLegacy}

// Confidence says how well the death of the protocol is documented.
type Confidence string

// The confidence levels.
const (
	High   Confidence = "high"
	Medium Confidence = "medium"
	Low    Confidence = "low"
)

// Transport protocol numbers, as osquery reports them (IPPROTO_*).
const (
	TCP uint8 = 6
	UDP uint8 = 17
)

// TransportName returns "tcp" or "udp" for an IPPROTO number, "" otherwise.
func TransportName(proto uint8) string {
	switch proto {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return ""
}

// TransportNumber is the inverse of TransportName; ok is false for other names.
func TransportNumber(name string) (proto uint8, ok bool) {
	switch name {
	case "tcp":
		return TCP, true
	case "udp":
		return UDP, true
	}
	return 0, false
}

// Entry is one registration: a port or range, on one or more transports.
type Entry struct {
	PortLow, PortHigh uint16 // equal for a single port
	Transports        []uint8
	Service           string // the IANA service name exactly as registered
	Description       string
	Category          Category
	Retired           int // year the protocol or product died; 0 when unknown
	ReplacedBy        string
	Confidence        Confidence
	References        []string
	Note              string
	Deassigned        string // IANA de-assignment date, when IANA withdrew the port

	Source string // "builtin", or the path of the admin's file that added or changed it
	File   string // file the entry was read from
	Line   int    // line of the entry in File
}

// Ports renders the port or range as written in the data files.
func (e *Entry) Ports() string {
	if e.PortLow == e.PortHigh {
		return strconv.Itoa(int(e.PortLow))
	}
	return strconv.Itoa(int(e.PortLow)) + "-" + strconv.Itoa(int(e.PortHigh))
}

// HasTransport reports whether the entry covers proto.
func (e *Entry) HasTransport(proto uint8) bool {
	return slices.Contains(e.Transports, proto)
}

type key struct {
	port  uint16
	proto uint8
}

// portSet is a bitmap over the 65536 ports: membership costs one shift, which
// matters because every socket on the host is tested against it.
type portSet [65536 / 64]uint64

func (s *portSet) add(p uint16)      { s[p>>6] |= 1 << (p & 63) }
func (s *portSet) has(p uint16) bool { return s[p>>6]&(1<<(p&63)) != 0 }

// portIndex finds the entry on a port of one transport without a Go map, so
// that the built-in registry is static data (builtin_gen.go) that costs
// nothing at start, and a lookup costs two array reads and a popcount.
type portIndex struct {
	set   portSet
	rank  [len(portSet{})]uint16 // how many ports are set in the words before each word of set
	owner []uint32               // for each set port, in port order, its entry's position in Registry.entries
}

// slot is the position of p among the set ports; p must be set.
func (x *portIndex) slot(p uint16) int {
	w := p >> 6
	return int(x.rank[w]) + bits.OnesCount64(x.set[w]&(1<<(p&63)-1))
}

// Registry is an immutable, validated set of entries.
type Registry struct {
	entries []*Entry
	tcp     portIndex
	udp     portIndex
	date    string
	allow   []AllowRule
}

// New builds a registry from entries that have already been validated, for
// example by Parse. A later entry for the same (port, transport) replaces an
// earlier one.
func New(date string, entries []*Entry) *Registry {
	index := map[key]*Entry{}
	for _, e := range entries {
		for p := int(e.PortLow); p <= int(e.PortHigh); p++ {
			for _, proto := range e.Transports {
				index[key{uint16(p), proto}] = e
			}
		}
	}
	return fromIndex(date, index)
}

// fromIndex builds a registry from its (port, transport) index; the entry
// list is every entry that still owns at least one pair.
func fromIndex(date string, index map[key]*Entry) *Registry {
	r := &Registry{date: date}
	seen := map[*Entry]bool{}
	for k, e := range index {
		r.ports(k.proto).set.add(k.port)
		if !seen[e] {
			seen[e] = true
			r.entries = append(r.entries, e)
		}
	}
	slices.SortFunc(r.entries, func(a, b *Entry) int {
		return cmp.Or(cmp.Compare(a.PortLow, b.PortLow), cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.Transports[0], b.Transports[0]))
	})
	position := make(map[*Entry]uint32, len(r.entries))
	for i, e := range r.entries {
		position[e] = uint32(i)
	}
	for _, proto := range []uint8{TCP, UDP} {
		x := r.ports(proto)
		x.owner = make([]uint32, 0, len(index))
		for w, word := range x.set {
			x.rank[w] = uint16(len(x.owner))
			for ; word != 0; word &= word - 1 {
				p := uint16(w<<6 + bits.TrailingZeros64(word))
				x.owner = append(x.owner, position[index[key{p, proto}]])
			}
		}
		x.owner = slices.Clip(x.owner)
	}
	return r
}

// index is the registry as a map from (port, transport) to entry.
func (r *Registry) index() map[key]*Entry {
	index := make(map[key]*Entry, r.Pairs())
	r.Each(func(port uint16, proto uint8, e *Entry) { index[key{port, proto}] = e })
	return index
}

func (r *Registry) ports(proto uint8) *portIndex {
	if proto == UDP {
		return &r.udp
	}
	return &r.tcp
}

// Has reports whether (port, proto) is in the registry. It does not allocate,
// so socket enumerators may call it for every socket on the host.
func (r *Registry) Has(port uint16, proto uint8) bool {
	if proto != TCP && proto != UDP {
		return false
	}
	return r.ports(proto).set.has(port)
}

// Lookup returns the entry registered for (port, proto).
func (r *Registry) Lookup(port uint16, proto uint8) (*Entry, bool) {
	if !r.Has(port, proto) {
		return nil, false
	}
	x := r.ports(proto)
	return r.entries[x.owner[x.slot(port)]], true
}

// Entries returns the entries sorted by port; callers must not modify them.
func (r *Registry) Entries() []*Entry { return r.entries }

// Len is the number of entries.
func (r *Registry) Len() int { return len(r.entries) }

// Pairs is the number of distinct (port, transport) pairs covered.
func (r *Registry) Pairs() int { return len(r.tcp.owner) + len(r.udp.owner) }

// Date is the date of the newest data file that built the registry.
func (r *Registry) Date() string { return r.date }

// Each calls fn for every (port, transport) in port order, TCP before UDP.
// It walks the set bits, so its cost is that of the pairs, not of the ports.
func (r *Registry) Each(fn func(port uint16, proto uint8, e *Entry)) {
	var tcp, udp int // next slot of each transport
	for w := range r.tcp.set {
		t, u := r.tcp.set[w], r.udp.set[w]
		for either := t | u; either != 0; either &= either - 1 {
			i := bits.TrailingZeros64(either)
			p, bit := uint16(w<<6+i), uint64(1)<<i
			if t&bit != 0 {
				fn(p, TCP, r.entries[r.tcp.owner[tcp]])
				tcp++
			}
			if u&bit != 0 {
				fn(p, UDP, r.entries[r.udp.owner[udp]])
				udp++
			}
		}
	}
}
