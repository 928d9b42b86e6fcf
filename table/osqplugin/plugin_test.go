package osqplugin

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	genosquery "github.com/osquery/osquery-go/gen/osquery"

	"github.com/legacy-ports/legacy-ports/internal/golden"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/sockets"
	"github.com/legacy-ports/legacy-ports/table/sockets/sockettest"
	"github.com/legacy-ports/legacy-ports/table/tabletest"
)

const testRegistry = `
updated: 2026-01-02
entries:
  - {port: 611, transport: [tcp, udp], service: npmp-gui, description: GUI port of a dead tool., category: dead-product, retired: unknown, replaced_by: none, confidence: low, references: [IANA registration]}
  - {port: 5190, transport: tcp, service: aol, description: AOL's OSCAR protocol., category: dead-product, retired: 2017, replaced_by: none, confidence: high, references: [AIM shut down in 2017]}
`

// fakeHost has two sockets on 611 (a UDP one of an RPC daemon and a TCP
// listener) and a client of AOL's service.
func fakeHost() *sockettest.Static {
	ap := netip.MustParseAddrPort
	return &sockettest.Static{
		Socks: []sockets.Socket{
			{Family: 10, Protocol: 17, Local: ap("[::1]:611"), Remote: ap("[::]:0"), Inode: 102},
			{Family: 2, Protocol: 6, Local: ap("0.0.0.0:611"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 107},
			{Family: 2, Protocol: 6, Local: ap("192.168.1.2:45678"), Remote: ap("198.51.100.7:5190"), State: "ESTABLISHED", Inode: 104},
		},
		Owned: map[uint64][]sockets.Owner{102: {{PID: 20, FD: 7}}, 107: {{PID: 40, FD: 6}}, 104: {{PID: 30, FD: 21}}},
		Procs: map[int32]sockets.Process{
			20: {Name: "rpc.statd", Path: "/usr/sbin/rpc.statd", Username: "root"},
			30: {Name: "pidgin", Path: "/usr/bin/pidgin", UID: 1000, Username: "alice"},
			40: {Name: "ghostd", Path: "/opt/ghost/ghostd", Username: "root"},
		},
		Caps: sockets.Capabilities{Namespaces: true, Attribution: sockets.Full},
	}
}

func definitions(t testing.TB, src sockets.Source) []table.Definition {
	t.Helper()
	reg := tabletest.Registry(t, testRegistry)
	return table.Definitions(table.Options{
		Source:  src,
		State:   func() table.State { return table.State{Registry: reg, Custom: "none"} },
		Version: "1.2.3",
	})
}

func portsPlugin(t testing.TB, src sockets.Source) *plugin {
	t.Helper()
	for _, p := range Plugins(definitions(t, src)) {
		if p.Name() == table.LegacyPorts {
			return p.(*plugin)
		}
	}
	t.Fatal("no legacy_ports plugin")
	return nil
}

func TestPluginBoundary(t *testing.T) {
	src := fakeHost()
	ports := portsPlugin(t, src)
	t.Run("generate with osquery's context JSON", func(t *testing.T) {
		resp := ports.Call(t.Context(), genosquery.ExtensionPluginRequest{
			"action":  "generate",
			"context": `{"constraints":[{"name":"port","list":[{"op":2,"expr":"611"}],"affinity":"INTEGER"},{"name":"pid","list":[],"affinity":"INTEGER"}],"colsUsed":["port","verdict"],"colsUsedBitset":1}`,
		})
		if resp.Status.Code != 0 || len(resp.Response) != 2 {
			t.Fatalf("status %v, %d rows", resp.Status, len(resp.Response))
		}
		for _, r := range resp.Response {
			if r["port"] != "611" {
				t.Errorf("row with port %s", r["port"])
			}
		}
	})
	t.Run("rows are osquery's strings", func(t *testing.T) {
		resp := ports.Call(t.Context(), genosquery.ExtensionPluginRequest{
			"action": "generate", "context": `{"constraints":[{"name":"port","list":[{"op":2,"expr":"5190"}],"affinity":"INTEGER"}]}`,
		})
		if resp.Status.Code != 0 || len(resp.Response) != 1 {
			t.Fatalf("status %v, %d rows", resp.Status, len(resp.Response))
		}
		r := resp.Response[0]
		want := map[string]string{"pid": "30", "retired": "2017", "net_namespace": "", "family": "2", "remote_address": "198.51.100.7"}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s = %q, want %q", k, r[k], v)
			}
		}
	})
	t.Run("colsUsed reaches the generator", func(t *testing.T) {
		before := src.ProcessCalls()
		resp := ports.Call(t.Context(), genosquery.ExtensionPluginRequest{
			"action": "generate", "context": `{"constraints":[],"colsUsed":["port"]}`,
		})
		if resp.Status.Code != 0 || src.ProcessCalls() != before {
			t.Errorf("status %v; process details read %d times", resp.Status, src.ProcessCalls()-before)
		}
	})
	t.Run("malformed context", func(t *testing.T) {
		resp := ports.Call(t.Context(), genosquery.ExtensionPluginRequest{"action": "generate", "context": `{"constraints":`})
		if resp.Status.Code != 1 || !strings.Contains(resp.Status.Message, "context JSON") {
			t.Errorf("got %v", resp.Status)
		}
	})
	t.Run("generate error is status 1, without the stack", func(t *testing.T) {
		bad := fakeHost()
		bad.Panics = true
		p := portsPlugin(t, bad)
		resp := p.Call(t.Context(), genosquery.ExtensionPluginRequest{"action": "generate", "context": `{}`})
		if resp.Status.Code != 1 || !strings.Contains(resp.Status.Message, "error generating table") ||
			strings.Contains(resp.Status.Message, "goroutine") {
			t.Errorf("got %v", resp.Status)
		}
	})
	t.Run("column routes carry the index and optimized bits", func(t *testing.T) {
		resp := ports.Call(t.Context(), genosquery.ExtensionPluginRequest{"action": "columns"})
		indexed := map[string]bool{"pid": true, "protocol": true, "local_port": true, "remote_port": true, "port": true, "direction": true}
		if len(resp.Response) == 0 {
			t.Fatal("no routes")
		}
		for _, r := range resp.Response {
			want := "0"
			if indexed[r["name"]] {
				want = "9" // INDEX | OPTIMIZED
			}
			if r["op"] != want {
				t.Errorf("column %s: op %s, want %s", r["name"], r["op"], want)
			}
		}
	})
}

// TestSpecsGolden checks the spec that --spec prints, built from the
// schemas alone.
func TestSpecsGolden(t *testing.T) {
	golden.JSON(t, filepath.Join("testdata", "spec.golden.json"), Specs(table.Schemas()))
}
