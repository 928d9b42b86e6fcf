package table

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/internal/golden"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/rpcbind"
	"github.com/legacy-ports/legacy-ports/table/sockets"
	"github.com/legacy-ports/legacy-ports/table/sockets/sockettest"
	"github.com/legacy-ports/legacy-ports/table/tabletest"
)

const testRegistry = `
updated: 2026-01-02
entries:
  - port: 23
    transport: tcp
    service: telnet
    description: Telnet, remote login in clear text.
    category: insecure-legacy
    retired: unknown
    replaced_by: ssh
    confidence: high
    references: ["RFC 854"]
  - port: 609
    transport: [tcp, udp]
    service: npmp-trap
    description: Trap port of an ISP's network management tool.
    category: dead-product
    retired: unknown
    replaced_by: none
    confidence: low
    references: ["IANA registration"]
  - port: 611
    transport: [tcp, udp]
    service: npmp-gui
    description: GUI port of the same tool.
    category: dead-product
    retired: unknown
    replaced_by: none
    confidence: low
    references: ["IANA registration", "second reference"]
  - port: 5190
    transport: tcp
    service: aol
    description: AOL's OSCAR protocol (AIM, ICQ).
    category: dead-product
    retired: 2017
    replaced_by: none
    confidence: high
    references: ["AIM shut down in 2017"]
`

func testReg(t *testing.T) *registry.Registry {
	t.Helper()
	return tabletest.Registry(t, testRegistry)
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

const (
	hostNS      = 4026531840
	containerNS = 4026532000
)

// fakeHost is a host with one socket for each case the table must handle.
func fakeHost() *sockettest.Static {
	return &sockettest.Static{
		Socks: []sockets.Socket{
			// a listener shared by two processes after a fork
			{Family: 2, Protocol: 6, Local: ap("0.0.0.0:609"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 101, UID: 0, NetNS: hostNS},
			// a UDP socket an RPC daemon took by chance
			{Family: 10, Protocol: 17, Local: ap("[::1]:611"), Remote: ap("[::]:0"), Inode: 102, UID: 0, NetNS: hostNS},
			// a connection accepted on the 609 listener
			{Family: 2, Protocol: 6, Local: ap("10.0.0.5:609"), Remote: ap("10.0.0.9:40000"), State: "ESTABLISHED", Inode: 103, UID: 0, NetNS: hostNS},
			// a client talking to a dead service
			{Family: 2, Protocol: 6, Local: ap("192.168.1.2:45678"), Remote: ap("198.51.100.7:5190"), State: "ESTABLISHED", Inode: 104, UID: 1000, NetNS: hostNS},
			// a client whose ephemeral port happens to be 611: no listener there
			{Family: 2, Protocol: 6, Local: ap("127.0.0.1:611"), Remote: ap("127.0.0.1:8080"), State: "ESTABLISHED", Inode: 105, UID: 1000, NetNS: hostNS},
			// telnet with no visible owner
			{Family: 10, Protocol: 6, Local: ap("[::]:23"), Remote: ap("[::]:0"), State: "LISTEN", Inode: 106, UID: 0, NetNS: hostNS},
			// not a registry port at all
			{Family: 2, Protocol: 6, Local: ap("0.0.0.0:8080"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 108, UID: 0, NetNS: hostNS},
			// the server's side of a connection to 8080 from a client whose
			// ephemeral port happens to be 5190: not an outbound ghost
			{Family: 2, Protocol: 6, Local: ap("10.0.0.5:8080"), Remote: ap("10.0.0.9:5190"), State: "ESTABLISHED", Inode: 110, UID: 0, NetNS: hostNS},
			// a ghost inside a container's namespace
			{Family: 2, Protocol: 6, Local: ap("0.0.0.0:611"), Remote: ap("0.0.0.0:0"), State: "LISTEN", Inode: 107, UID: 0, NetNS: containerNS},
		},
		Owned: map[uint64][]sockets.Owner{
			101: {{PID: 10, FD: 3}, {PID: 11, FD: 3}},
			102: {{PID: 20, FD: 7}},
			103: {{PID: 10, FD: 5}},
			104: {{PID: 30, FD: 21}},
			105: {{PID: 31, FD: 4}},
			107: {{PID: 40, FD: 6}},
			108: {{PID: 50, FD: 3}},
			110: {{PID: 50, FD: 9}},
		},
		Procs: map[int32]sockets.Process{
			10: {Name: "ghostd", Path: "/usr/sbin/ghostd", Cmdline: "/usr/sbin/ghostd -f", UID: 0, Username: "root"},
			11: {Name: "ghostd", Path: "/usr/sbin/ghostd", Cmdline: "/usr/sbin/ghostd -f", UID: 0, Username: "root"},
			20: {Name: "rpc.statd", Path: "/usr/sbin/rpc.statd", Cmdline: "/usr/sbin/rpc.statd", UID: 0, Username: "root"},
			30: {Name: "pidgin", Path: "/usr/bin/pidgin", Cmdline: "pidgin", UID: 1000, Username: "alice"},
			31: {Name: "curl", Path: "/usr/bin/curl", Cmdline: "curl localhost:8080", UID: 1000, Username: "alice"},
			40: {Name: "ghostd", Path: "/opt/ghost/ghostd", Cmdline: "ghostd", UID: 0, Username: "root"},
		},
		Caps: sockets.Capabilities{Namespaces: true, Attribution: sockets.Full},
	}
}

// texts is rows as osquery's strings, for comparisons and golden files.
func texts(rows []Row) []map[string]string {
	out := make([]map[string]string, len(rows))
	for i, r := range rows {
		out[i] = r.Text()
	}
	return out
}

// clock is a settable time source for the snapshot.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testOptions(t *testing.T, src sockets.Source) (Options, *clock) {
	t.Helper()
	reg := testReg(t)
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return Options{
		Source:  src,
		State:   func() State { return State{Registry: reg, Custom: "none"} },
		Version: "1.2.3",
		Events:  fakeEvents(t, reg, clk),
		Now:     clk.Now,
	}, clk
}

func def(t *testing.T, o Options, name string) Definition {
	t.Helper()
	for _, d := range Definitions(o) {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no table %s", name)
	return Definition{}
}

func TestLegacyPortsGolden(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	rows, err := def(t, o, LegacyPorts).Generate(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	golden.JSON(t, filepath.Join("testdata", "legacy_ports.golden.json"), texts(rows))
}

func TestLegacyPortsCases(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	typed, err := def(t, o, LegacyPorts).Generate(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	rows := texts(typed)
	type key struct{ socket, pid, direction, verdict string }
	var got []key
	for _, r := range rows {
		got = append(got, key{r[ColSocket], r[ColPID], r[ColDirection], r[ColVerdict]})
	}
	want := []key{
		{"106", "-1", "listen", "insecure"},    // telnet, owner unknown
		{"101", "10", "listen", "ghost"},       // shared listener: one row per process
		{"101", "11", "listen", "ghost"},       //
		{"103", "10", "inbound", "ghost"},      // accepted connection
		{"107", "40", "listen", "ghost"},       // in a container
		{"102", "20", "listen", "rpc-dynamic"}, // RPC daemon in 600-1023
		{"104", "30", "outbound", "ghost"},     // client of a dead service
	}
	slices.SortFunc(got, func(a, b key) int { return strings.Compare(a.socket+a.pid, b.socket+b.pid) })
	slices.SortFunc(want, func(a, b key) int { return strings.Compare(a.socket+a.pid, b.socket+b.pid) })
	if !slices.Equal(got, want) {
		t.Errorf("rows:\n got %v\nwant %v", got, want)
	}
	for _, r := range rows {
		if r[ColSocket] == "105" || r[ColSocket] == "108" || r[ColSocket] == "110" {
			t.Errorf("socket %s should not be reported: %v", r[ColSocket], r)
		}
		if r[ColSocket] == "106" && (r[ColUID] != "0" || r[ColProcessName] != "") {
			t.Errorf("unowned telnet socket: want the socket's uid 0 and no process, got %v", r)
		}
		if r[ColSocket] == "107" && r[ColNetNamespace] != "4026532000" {
			t.Errorf("container socket: net_namespace %q", r[ColNetNamespace])
		}
	}
}

// ctxOf builds a request the way osquery sends one: an IN list on an
// optimized column is several Equals on that column.
func ctxOf(cons ...any) Request {
	var r Request
	for i := 0; i+2 < len(cons); i += 3 {
		r.Add(cons[i].(string), cons[i+1].(Operator), cons[i+2].(string))
	}
	return r
}

const (
	opEq   = Equals
	opGt   = GreaterThan
	opLike = Like
)

func TestConstraints(t *testing.T) {
	all := 7
	tests := []struct {
		name       string
		qc         Request
		wantRows   int
		wantCol    string // every row has this column ...
		wantVal    []string
		noSockets  bool    // no enumeration at all
		noOwners   bool    // no walk of process descriptors
		walkedPIDs []int32 // the walk was limited to these
	}{
		{name: "none", qc: ctxOf(), wantRows: all},
		{name: "port equals", qc: ctxOf("port", opEq, "611"), wantRows: 2, wantCol: "port", wantVal: []string{"611"}},
		{name: "port in list", qc: ctxOf("port", opEq, "609", "port", opEq, "5190"), wantRows: 4, wantCol: "port", wantVal: []string{"609", "5190"}},
		{name: "port not a number", qc: ctxOf("port", opEq, "abc"), wantRows: 0, noSockets: true},
		{name: "port out of range", qc: ctxOf("port", opEq, "70000"), wantRows: 0, noSockets: true},
		{name: "port as real", qc: ctxOf("port", opEq, "611.0"), wantRows: 2, wantCol: "port", wantVal: []string{"611"}},
		{name: "port unused", qc: ctxOf("port", opEq, "610"), wantRows: 0, noOwners: true},
		{name: "port greater is left to sqlite", qc: ctxOf("port", opGt, "5000"), wantRows: all},
		{name: "local port", qc: ctxOf("local_port", opEq, "609"), wantRows: 3, wantCol: "local_port", wantVal: []string{"609"}},
		{name: "remote port", qc: ctxOf("remote_port", opEq, "5190"), wantRows: 1, wantCol: "remote_port", wantVal: []string{"5190"}},
		{name: "protocol udp", qc: ctxOf("protocol", opEq, "17"), wantRows: 1, wantCol: "protocol", wantVal: []string{"17"}},
		{name: "direction", qc: ctxOf("direction", opEq, "outbound"), wantRows: 1, wantCol: "direction", wantVal: []string{"outbound"}},
		{name: "direction unknown", qc: ctxOf("direction", opEq, "sideways"), wantRows: 0, noSockets: true},
		{name: "direction like is left to sqlite", qc: ctxOf("direction", opLike, "out%"), wantRows: all},
		{name: "pid narrows the walk", qc: ctxOf("pid", opEq, "20"), wantRows: 1, wantCol: "pid", wantVal: []string{"20"}, walkedPIDs: []int32{20}},
		{name: "pid list", qc: ctxOf("pid", opEq, "10", "pid", opEq, "30"), wantRows: 3, wantCol: "pid", wantVal: []string{"10", "30"}, walkedPIDs: []int32{10, 30}},
		{name: "pid unknown needs every process", qc: ctxOf("pid", opEq, "-1"), wantRows: 1, wantCol: "pid", wantVal: []string{"-1"}},
		{name: "unindexed column is ignored", qc: ctxOf("service", opEq, "aol"), wantRows: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fakeHost()
			o, _ := testOptions(t, src)
			typed, err := def(t, o, LegacyPorts).Generate(t.Context(), tt.qc)
			if err != nil {
				t.Fatal(err)
			}
			rows := texts(typed)
			if len(rows) != tt.wantRows {
				t.Errorf("got %d rows, want %d: %v", len(rows), tt.wantRows, rows)
			}
			for _, r := range rows {
				if tt.wantCol != "" && !slices.Contains(tt.wantVal, r[tt.wantCol]) {
					t.Errorf("row with %s=%q, want one of %v", tt.wantCol, r[tt.wantCol], tt.wantVal)
				}
			}
			if tt.noSockets && src.SocketCalls() != 0 {
				t.Errorf("sockets were enumerated for a query that can match nothing")
			}
			calls := src.OwnerCalls()
			if (tt.noSockets || tt.noOwners) && len(calls) != 0 {
				t.Errorf("process descriptors were walked: %v", calls)
			}
			if tt.walkedPIDs != nil {
				if len(calls) != 1 || !slices.Equal(calls[0].PIDs, tt.walkedPIDs) {
					t.Errorf("walk: got %v, want one walk of pids %v", calls, tt.walkedPIDs)
				}
			} else if len(calls) > 0 && len(calls[0].PIDs) != 0 {
				t.Errorf("walk limited to %v; want every process", calls[0].PIDs)
			}
		})
	}
}

func TestRowsMatchColumns(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	for _, d := range Definitions(o) {
		t.Run(d.Name, func(t *testing.T) {
			rows, err := d.Generate(t.Context(), Request{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				t.Fatal("no rows to check")
			}
			var want []string
			for _, c := range d.Columns {
				want = append(want, c.Name)
			}
			slices.Sort(want)
			if n := len(slices.Compact(slices.Clone(want))); n != len(want) {
				t.Errorf("duplicate column names in %v", want)
			}
			for _, r := range rows {
				var got []string
				for k := range r {
					got = append(got, k)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("row keys %v\n   columns %v", got, want)
				}
				for _, c := range d.Columns {
					if k := r[c.Name].Kind(); k != Null && (k == Str) != (c.Type == Text) {
						t.Errorf("column %s (%s) holds a value of kind %d: %v", c.Name, c.Type, k, r[c.Name])
					}
				}
			}
		})
	}
}

func TestRegistryAndInfoTables(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	typed, err := def(t, o, PortRegistry).Generate(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	rows := texts(typed)
	// telnet tcp, 609 tcp+udp, 611 tcp+udp, 5190 tcp: one row per pair
	if len(rows) != 6 {
		t.Fatalf("got %d registry rows, want 6", len(rows))
	}
	if r := rows[3]; r[ColPort] != "611" || r[ColTransport] != "tcp" || r[ColProtocol] != "6" ||
		r[ColReference] != "IANA registration; second reference" || r[ColRetired] != "" || r[ColSource] != "builtin" {
		t.Errorf("611/tcp row: %v", r)
	}
	info, err := def(t, o, LegacyPortInfo).Generate(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ColVersion: "1.2.3", ColRegistryEntries: "4", ColRegistryDate: "2026-01-02", ColCustomRegistry: "none",
		ColErrors: "", ColNamespacesSupported: "1", ColPIDAttribution: "full",
		ColEventsSource: "ebpf", ColEventsReason: "", ColEventsDropped: "0", ColEventsEvicted: "0"}
	if len(info) != 1 || !maps.Equal(info[0].Text(), want) {
		t.Errorf("info: got %v, want %v", info, want)
	}
}

func TestRegistryConstraints(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	gen := def(t, o, PortRegistry).Generate
	all, err := gen(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		req   Request
		ports []int64 // the ports of the rows, in order
	}{
		{"none", Request{}, []int64{23, 609, 609, 611, 611, 5190}},
		{"port", ctxOf("port", opEq, "611"), []int64{611, 611}},
		{"port list, in port order", ctxOf("port", opEq, "5190", "port", opEq, "23"), []int64{23, 5190}},
		{"port as written by a user", ctxOf("port", opEq, " 0611.0"), []int64{611, 611}},
		{"port not in the registry", ctxOf("port", opEq, "610"), nil},
		{"not a port", ctxOf("port", opEq, "abc"), nil},
		{"greater than is left to SQLite", ctxOf("port", opGt, "5000"), []int64{23, 609, 609, 611, 611, 5190}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := gen(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var ports []int64
			for _, r := range rows {
				n, _ := r[ColPort].Int()
				ports = append(ports, n)
				// A narrowed row is the row of the whole table.
				if !slices.ContainsFunc(all, func(a Row) bool { return maps.Equal(a, r) }) {
					t.Errorf("row %v is not one of the table's", r)
				}
			}
			if !slices.Equal(ports, tt.ports) {
				t.Errorf("ports %v, want %v", ports, tt.ports)
			}
		})
	}
}

func TestColsUsedSkipsProcessDetails(t *testing.T) {
	src := fakeHost()
	o, _ := testOptions(t, src)
	rows, err := def(t, o, LegacyPorts).Generate(t.Context(), Request{ColsUsed: []string{ColPort, ColPID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Errorf("got %d rows; colsUsed must not change which rows exist", len(rows))
	}
	if n := src.ProcessCalls(); n != 0 {
		t.Errorf("process details read %d times for a query that uses none", n)
	}
}

func TestSnapshotServesRepeatedCalls(t *testing.T) {
	src := fakeHost()
	o, clk := testOptions(t, src)
	gen := def(t, o, LegacyPorts).Generate
	for _, port := range []string{"609", "611", "5190"} {
		if _, err := gen(t.Context(), ctxOf("port", opEq, port)); err != nil {
			t.Fatal(err)
		}
	}
	if n, w := src.SocketCalls(), len(src.OwnerCalls()); n != 1 || w != 1 {
		t.Errorf("three calls within the snapshot's life: %d enumerations and %d walks, want 1 and 1", n, w)
	}
	clk.advance(DefaultSnapshotTTL)
	if _, err := gen(t.Context(), Request{}); err != nil {
		t.Fatal(err)
	}
	if n := src.SocketCalls(); n != 2 {
		t.Errorf("after the snapshot expired: %d enumerations, want 2", n)
	}
}

func TestPartialSourceErrorKeepsRows(t *testing.T) {
	src := fakeHost()
	src.Err = errors.New("namespace 4026532999: permission denied")
	o, _ := testOptions(t, src)
	var warn bytes.Buffer
	o.Log = slog.New(slog.NewTextHandler(&warn, nil))
	rows, err := def(t, o, LegacyPorts).Generate(t.Context(), Request{})
	if err != nil || len(rows) != 7 {
		t.Fatalf("got %d rows, err %v; want every readable row and no error", len(rows), err)
	}
	if !strings.Contains(warn.String(), "namespace 4026532999") {
		t.Errorf("warning not reported: %q", warn.String())
	}
}

// blocking is a source whose enumeration waits until released or cancelled.
type blocking struct {
	*sockettest.Static
	entered chan struct{}
	release chan struct{}
}

func newBlocking() *blocking {
	return &blocking{Static: fakeHost(), entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (b *blocking) Sockets(ctx context.Context, keep sockets.Filter) ([]sockets.Socket, error) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.release:
		return b.Static.Sockets(ctx, keep)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestGuard(t *testing.T) {
	t.Run("panic becomes an error", func(t *testing.T) {
		src := fakeHost()
		src.Panics = true
		o, _ := testOptions(t, src)
		var log bytes.Buffer
		o.Log = slog.New(slog.NewTextHandler(&log, nil))
		_, err := def(t, o, LegacyPorts).Generate(t.Context(), Request{})
		if err == nil || !strings.Contains(err.Error(), "internal error") {
			t.Fatalf("got %v, want an internal error", err)
		}
		// The caller gets one short line; the stack goes to the log.
		if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "goroutine") {
			t.Errorf("the error carries the stack: %q", err)
		}
		if !strings.Contains(log.String(), "sockettest.(*Static).Sockets") {
			t.Errorf("the stack is not in the log: %q", log.String())
		}
	})
	t.Run("deadline", func(t *testing.T) {
		o, _ := testOptions(t, newBlocking())
		o.Timeout = 50 * time.Millisecond
		_, err := def(t, o, LegacyPorts).Generate(t.Context(), Request{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want a deadline error", err)
		}
	})
	t.Run("concurrency cap", func(t *testing.T) {
		b := newBlocking()
		o, _ := testOptions(t, b)
		o.MaxConcurrent = 1
		o.Timeout = 5 * time.Second
		defs := Definitions(o) // one guard serves the tables of one Definitions call
		gen, registryGen := defs[0].Generate, defs[1].Generate
		first := make(chan error, 1)
		go func() {
			_, err := gen(t.Context(), Request{})
			first <- err
		}()
		<-b.entered
		// The registry table shares the guard: with the only worker busy,
		// it must wait, and give up at its own deadline.
		short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := registryGen(short, Request{})
		if err == nil || !strings.Contains(err.Error(), "no free worker") {
			t.Errorf("second call: got %v, want it to wait for a worker and give up", err)
		}
		close(b.release)
		if err := <-first; err != nil {
			t.Errorf("first call: %v", err)
		}
	})
}

func TestRPCBindDecidesForKernelSockets(t *testing.T) {
	src := fakeHost()
	// lockd in the kernel: a UDP socket on 609 that no process holds
	src.Socks = append(src.Socks, sockets.Socket{Family: 2, Protocol: 17, Local: ap("0.0.0.0:609"), Remote: ap("0.0.0.0:0"), Inode: 109, UID: 0, NetNS: hostNS})
	o, _ := testOptions(t, src)
	asked := 0
	o.RPCPrograms = func(context.Context) (map[rpcbind.Key][]string, error) {
		asked++
		return map[rpcbind.Key][]string{{Port: 609, Protocol: 17}: {"nlockmgr"}}, nil
	}
	gen := def(t, o, LegacyPorts).Generate
	for range 2 {
		typed, err := gen(t.Context(), ctxOf("port", opEq, "609"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range texts(typed) {
			want := "ghost" // ghostd's TCP listener: rpcbind maps only 609/udp
			if r[ColSocket] == "109" {
				want = "rpc-dynamic"
			}
			if r[ColVerdict] != want || (want == "rpc-dynamic" && !strings.Contains(r[ColReason], "nlockmgr")) {
				t.Errorf("socket %s: %s (%s), want %s", r[ColSocket], r[ColVerdict], r[ColReason], want)
			}
		}
	}
	if asked != 1 {
		t.Errorf("rpcbind asked %d times within one snapshot, want 1", asked)
	}
	if _, err := gen(t.Context(), ctxOf("direction", opEq, "outbound")); err != nil || asked != 1 {
		t.Errorf("an outbound-only query asked rpcbind (%d) or failed: %v", asked, err)
	}
}

// TestPrepareWarmsSnapshot: legacy_ports' Prepare takes the snapshot that
// the next generate then serves from; a panic in it is caught and logged.
func TestPrepareWarmsSnapshot(t *testing.T) {
	src := fakeHost()
	o, _ := testOptions(t, src)
	d := def(t, o, LegacyPorts)
	if d.Prepare == nil {
		t.Fatal("legacy_ports has no Prepare")
	}
	d.Prepare(t.Context())
	if n := src.SocketCalls(); n != 1 {
		t.Fatalf("Prepare: %d enumerations, want 1", n)
	}
	if rows, err := d.Generate(t.Context(), Request{}); err != nil || len(rows) != 7 {
		t.Fatalf("generate after Prepare: %d rows, err %v; want 7", len(rows), err)
	}
	if n := src.SocketCalls(); n != 1 {
		t.Errorf("generate after Prepare: %d enumerations in all, want the one Prepare made", n)
	}
	for _, name := range []string{PortRegistry, LegacyPortInfo, PortEvents} {
		if def(t, o, name).Prepare != nil {
			t.Errorf("%s has a Prepare: it has nothing to do ahead", name)
		}
	}

	panicky := fakeHost()
	panicky.Panics = true
	o, _ = testOptions(t, panicky)
	var log bytes.Buffer
	o.Log = slog.New(slog.NewTextHandler(&log, nil))
	def(t, o, LegacyPorts).Prepare(t.Context())
	if !strings.Contains(log.String(), "generate panicked") {
		t.Errorf("a panic in Prepare was not logged: %q", log.String())
	}
}
