//go:build !windows

package main

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	genosquery "github.com/osquery/osquery-go/gen/osquery"

	"github.com/legacy-ports/legacy-ports/internal/osqtest"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
)

// connectHelper is the short-lived child of the events tests: it connects
// to addr and closes at once.
func connectHelper(addr string) int {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = c.Close()
	return 0
}

// tableClient calls the extension's tables over Thrift as osquery does.
type tableClient struct {
	t      *testing.T
	client *genosquery.ExtensionClient
	close  func()
}

func newTableClient(t *testing.T, core *osqtest.Core, reg osqtest.Registration) *tableClient {
	t.Helper()
	client, closeClient, err := core.ExtensionClient(reg.UUID, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeClient)
	return &tableClient{t: t, client: client, close: closeClient}
}

func (c *tableClient) generate(name string, req table.Request) []map[string]string {
	c.t.Helper()
	var cols []table.Column
	for _, d := range table.Schemas() {
		if d.Name == name {
			cols = d.Columns
		}
	}
	resp, err := c.client.Call(c.t.Context(), "table", name, genosquery.ExtensionPluginRequest{
		"action": "generate", "context": osqtest.Context(cols, req),
	})
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.Status.Code != 0 {
		c.t.Fatalf("%s: status %d: %s", name, resp.Status.Code, resp.Status.Message)
	}
	return resp.Response
}

func (c *tableClient) info() map[string]string {
	c.t.Helper()
	rows := c.generate(table.LegacyPortInfo, table.Request{})
	if len(rows) != 1 {
		c.t.Fatalf("legacy_ports_info: %d rows", len(rows))
	}
	return rows[0]
}

// waitRows calls generate until match finds a row, for at most limit: the
// poll capture records a socket at its next poll.
func (c *tableClient) waitRows(req table.Request, limit time.Duration, match func(map[string]string) bool) map[string]string {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		for _, r := range c.generate(table.PortEvents, req) {
			if match(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no matching legacy_port_events row within %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listenOnRegistryPort listens on loopback on a free TCP port of the
// built-in registry at or above lo (1024 and up needs no root), the
// preferred one first; the test's cleanup closes it.
func listenOnRegistryPort(t *testing.T, preferred, lo uint16, skip ...int) net.Listener {
	t.Helper()
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	candidates := []uint16{preferred}
	for _, e := range reg.Entries() {
		if e.HasTransport(registry.TCP) && e.PortLow >= lo && e.PortLow <= 49151 && !slices.Contains(skip, int(e.PortLow)) {
			candidates = append(candidates, e.PortLow)
		}
	}
	for _, p := range candidates {
		ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(int(p)))
		if err == nil {
			t.Cleanup(func() { _ = ln.Close() })
			return ln
		}
	}
	t.Fatalf("no free registry port at or above %d to listen on", lo)
	return nil
}

func listenerPort(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// TestEventsTimeConstraintOverThrift runs the extension on the poll source
// (which needs no root) and checks that a generate call with time > T
// returns the events after T only.
func TestEventsTimeConstraintOverThrift(t *testing.T) {
	core := startCore(t)
	_, reg := register(t, core, append(osqueryArgs(core), "--events", "poll", "--events_poll_interval", "0.2")...)
	c := newTableClient(t, core, reg)
	if info := c.info(); info["events_source"] != "poll" || info["events_reason"] != "the poll source was asked for" {
		t.Errorf("legacy_ports_info: events_source %q, events_reason %q", info["events_source"], info["events_reason"])
	}

	self := strconv.Itoa(os.Getpid())
	listenRow := func(port int) func(map[string]string) bool {
		return func(r map[string]string) bool {
			return r["port"] == strconv.Itoa(port) && r["action"] == "listen" && r["pid"] == self
		}
	}
	portA := listenerPort(listenOnRegistryPort(t, 1033, 1024))
	a := c.waitRows(table.Request{}, 10*time.Second, listenRow(portA))
	if a["source"] != "poll" || a["direction"] != "listen" || a["local_address"] != "127.0.0.1" || a["remote_address"] != "" {
		t.Errorf("listener A's row: %v", a)
	}
	timeA, err := strconv.ParseInt(a["time"], 10, 64)
	if err != nil {
		t.Fatalf("time %q: %v", a["time"], err)
	}
	// B opens in a later second than A's event, so its event is later too.
	for time.Now().Unix() <= timeA {
		time.Sleep(50 * time.Millisecond)
	}
	portB := listenerPort(listenOnRegistryPort(t, 5190, 1024, portA))
	c.waitRows(table.Request{}, 10*time.Second, listenRow(portB))

	var req table.Request
	req.Add(table.ColTime, table.GreaterThan, a["time"])
	rows := c.generate(table.PortEvents, req)
	foundB := false
	for _, r := range rows {
		n, _ := strconv.ParseInt(r["time"], 10, 64)
		if n <= timeA {
			t.Errorf("time > %d returned a row at %d: %v", timeA, n, r)
		}
		foundB = foundB || listenRow(portB)(r)
	}
	if !foundB {
		t.Errorf("time > %d did not return listener B's event: %v", timeA, rows)
	}
}
