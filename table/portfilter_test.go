package table

import (
	"testing"

	"github.com/legacy-ports/legacy-ports/registry"
)

// TestPortFilter: a socket is kept when its local or its remote port is in
// the registry for its protocol, and every TCP listener is kept.
func TestPortFilter(t *testing.T) {
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	f := portFilter(reg)
	if portFilter(reg) != f {
		t.Error("the filter of one registry is built again")
	}
	const other = 40000 // in no registry
	if reg.Has(other, registry.TCP) || reg.Has(other, registry.UDP) {
		t.Fatalf("port %d is in the registry", other)
	}
	for p := range 1 << 16 {
		port := uint16(p)
		for _, proto := range []uint8{registry.TCP, registry.UDP} {
			in := reg.Has(port, proto)
			if got := f.Keep(port, other, proto); got != in {
				t.Fatalf("local %d/%d: kept %v", port, proto, got)
			}
			listener := port == 0 && proto == registry.TCP
			if got := f.Keep(other, port, proto); got != (in || listener) {
				t.Fatalf("remote %d/%d: kept %v", port, proto, got)
			}
		}
	}
	if !f.Keep(other, 0, registry.TCP) || f.Keep(other, 0, registry.UDP) {
		t.Error("TCP listeners must be kept whatever their port, UDP sockets with no remote not")
	}
	if f.Keep(609, 609, 1) {
		t.Error("ICMP kept")
	}
}
