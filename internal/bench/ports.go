//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/registry"
)

// ghostPorts are the registry ports one ghost child listens on; 0: none.
type ghostPorts struct{ tcp, udp int }

// famous are the ports issue 2 names first.
var famous = []uint16{609, 610, 611, 625, 660, 672, 1033}

// realGhosts lists the registry's TCP ports, the famous ones first, each
// with its UDP twin when the registry has one. insecure-legacy ports are
// left out: their rows say "insecure", not "ghost".
func realGhosts(reg *registry.Registry) []ghostPorts {
	candidates := slices.Clone(famous)
	for _, e := range reg.Entries() {
		if e.Category == registry.InsecureLegacy || !e.HasTransport(registry.TCP) {
			continue
		}
		for p := int(e.PortLow); p <= int(e.PortHigh); p++ {
			candidates = append(candidates, uint16(p))
		}
	}
	var out []ghostPorts
	seen := map[uint16]bool{}
	for _, p := range candidates {
		if seen[p] || !reg.Has(p, registry.TCP) {
			continue
		}
		seen[p] = true
		g := ghostPorts{tcp: int(p)}
		if reg.Has(p, registry.UDP) {
			g.udp = int(p)
		}
		out = append(out, g)
	}
	return out
}

// adminGhosts picks n high ports that no built-in entry has, free on
// loopback for TCP and UDP, below the usual ephemeral range, and writes an
// admin's registry file into dir that adds them. Without root, the bench
// cannot listen on the registry's own ports (most are below 1024). Callers
// ask for spares: a port free now may be taken by the time it is used.
func adminGhosts(base *registry.Registry, n int, dir string) ([]ghostPorts, string, error) {
	var out []ghostPorts
	var b strings.Builder
	b.WriteString("# Written by make bench for one run: ports it may listen on without root.\nentries:\n")
	for p := uint16(28000); p < 32000 && len(out) < n; p++ {
		if base.Has(p, registry.TCP) || base.Has(p, registry.UDP) || !free("tcp4", p) || !free("udp4", p) {
			continue
		}
		out = append(out, ghostPorts{tcp: int(p), udp: int(p)})
		fmt.Fprintf(&b, `  - port: %d
    transport: [tcp, udp]
    service: bench-ghost-%d
    description: A port that make bench adds for one run.
    category: dead-product
    retired: unknown
    replaced_by: none
    confidence: low
    references: ["make bench"]
`, p, len(out))
	}
	if len(out) < n {
		return nil, "", fmt.Errorf("only %d free ports found in 28000-31999, %d wanted", len(out), n)
	}
	path := filepath.Join(dir, "legacy_ports.yml")
	// The file and its directory (os.MkdirTemp's, mode 0700) pass the
	// admin file's trust check: ours, written by nobody else.
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return nil, "", err
	}
	return out, path, nil
}

// registryInForce is the registry both binaries serve with adminPath.
func registryInForce(adminPath string) (*registry.Registry, error) {
	opts, err := setup.Options(io.Discard, adminPath)
	if err != nil {
		return nil, err
	}
	st := opts.State()
	if len(st.Errors) > 0 {
		return nil, errors.New(strings.Join(st.Errors, "; "))
	}
	return st.Registry, nil
}

// free reports whether port can be bound on 127.0.0.1 now.
func free(network string, port uint16) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	if network == "udp4" {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// registryPorts lists every port the registry has, on either transport.
func registryPorts(reg *registry.Registry) []uint16 {
	var out []uint16
	reg.Each(func(port uint16, _ uint8, _ *registry.Entry) {
		if len(out) == 0 || out[len(out)-1] != port {
			out = append(out, port)
		}
	})
	return out
}

// ephemeralRange is the kernel's range for ports drawn by bind(0) and
// connect.
func ephemeralRange() (lo, hi int, err error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, err
	}
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil {
		return 0, 0, err
	}
	return lo, hi, nil
}
