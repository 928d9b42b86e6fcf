//go:build !windows

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	genosquery "github.com/osquery/osquery-go/gen/osquery"

	"github.com/legacy-ports/legacy-ports/internal/osqtest"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
)

const testVersion = "9.9.9-e2e"

// binary is the real extension, built once for these tests with a stamped
// version, as the Makefile builds it.
var binary string

func TestMain(m *testing.M) {
	if addr, ok := strings.CutPrefix(os.Getenv("LP_EXT_HELPER"), "connect "); ok {
		os.Exit(connectHelper(addr))
	}
	dir, err := os.MkdirTemp("", "lpext")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "legacy_ports.ext")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	build := exec.CommandContext(ctx, "go", "build", "-o", binary,
		"-ldflags", "-X github.com/legacy-ports/legacy-ports/internal/buildinfo.Version="+testVersion, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the extension: %v\n%s", err, out)
		os.Exit(1)
	}
	cancel()
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// extension is a running legacy_ports.ext process.
type extension struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startExtension runs the binary with args; the test's cleanup kills it.
func startExtension(t *testing.T, args ...string) *extension {
	t.Helper()
	e := &extension{cmd: exec.Command(binary, args...), stderr: &syncBuffer{}, done: make(chan struct{})}
	e.cmd.Stderr = e.stderr
	e.cmd.Env = append(os.Environ(), "OSQUERY_EXTENSION=1")
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		e.err = e.cmd.Wait()
		close(e.done)
	}()
	t.Cleanup(func() {
		_ = e.cmd.Process.Kill()
		<-e.done
		if t.Failed() {
			t.Logf("extension stderr:\n%s", e.stderr.String())
		}
	})
	return e
}

// exitCode waits for the process to end within limit.
func (e *extension) exitCode(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-e.done:
	case <-time.After(limit):
		t.Fatalf("extension still running after %s; stderr:\n%s", limit, e.stderr.String())
	}
	if e.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(e.err, &ee) {
		return ee.ExitCode()
	}
	t.Fatalf("waiting for the extension: %v", e.err)
	return -1
}

func startCore(t *testing.T) *osqtest.Core {
	t.Helper()
	core, err := osqtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Stop)
	return core
}

// pingInterval is the --interval the tests pass: short, so that a core that
// goes away is noticed quickly.
const pingInterval = 1

// osqueryArgs is the command line osqueryd passes, --verbose first.
func osqueryArgs(core *osqtest.Core) []string {
	return []string{"--verbose", "--socket", core.Path, "--timeout", "3", "--interval", strconv.Itoa(pingInterval)}
}

func register(t *testing.T, core *osqtest.Core, args ...string) (*extension, osqtest.Registration) {
	t.Helper()
	e := startExtension(t, args...)
	reg, err := core.WaitRegistered(20 * time.Second)
	if err != nil {
		t.Fatalf("%v; stderr:\n%s", err, e.stderr.String())
	}
	return e, reg
}

func TestRegistration(t *testing.T) {
	core := startCore(t)
	_, reg := register(t, core, osqueryArgs(core)...)
	if reg.Info.Name != "legacy_ports" || reg.Info.Version != testVersion {
		t.Errorf("registered as %q version %q", reg.Info.Name, reg.Info.Version)
	}
	tables := reg.Registry["table"]
	// The routes must say exactly what the table definitions declare.
	defs := table.Schemas()
	if len(tables) != len(defs) {
		t.Fatalf("registered tables %v, want %d", keys(tables), len(defs))
	}
	for _, d := range defs {
		routes, ok := tables[d.Name]
		if !ok {
			t.Errorf("table %s not registered", d.Name)
			continue
		}
		if len(routes) != len(d.Columns) {
			t.Errorf("%s: %d columns registered, want %d", d.Name, len(routes), len(d.Columns))
			continue
		}
		for i, c := range d.Columns {
			op := "0"
			if c.Index {
				op = "9"
			}
			want := map[string]string{"id": "column", "name": c.Name, "type": string(c.Type), "op": op}
			if fmt.Sprint(routes[i]) != fmt.Sprint(want) {
				t.Errorf("%s column %d: got %v, want %v", d.Name, i, routes[i], want)
			}
		}
	}
	// A few facts checked by hand, independent of the definitions.
	ports := tables["legacy_ports"]
	for _, r := range ports {
		switch r["name"] {
		case "port", "pid":
			if r["type"] != "INTEGER" || r["op"] != "9" {
				t.Errorf("%s: %v", r["name"], r)
			}
		case "process_name":
			if r["type"] != "TEXT" || r["op"] != "0" {
				t.Errorf("process_name: %v", r)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// ghostListener listens on a loopback TCP port of the built-in registry,
// which needs root for ports below 1024.
func ghostListener(t *testing.T) (port int, ln net.Listener) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("binding a registry port below 1024 needs root; the table code is covered on a fake source in package table")
	}
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range reg.Entries() {
		if !e.HasTransport(registry.TCP) || e.Category == registry.InsecureLegacy || e.PortLow < 600 || e.PortLow > 1023 {
			continue
		}
		ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(int(e.PortLow)))
		if err == nil {
			t.Cleanup(func() { _ = ln.Close() })
			return int(e.PortLow), ln
		}
	}
	t.Fatal("no free registry port in 600-1023 to listen on")
	return 0, nil
}

func TestGenerateOverThrift(t *testing.T) {
	port, _ := ghostListener(t)
	core := startCore(t)
	_, reg := register(t, core, osqueryArgs(core)...)
	client, closeClient, err := core.ExtensionClient(reg.UUID, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer closeClient()
	var cols []table.Column
	for _, d := range table.Schemas() {
		if d.Name == table.LegacyPorts {
			cols = d.Columns
		}
	}
	call := func(constraints map[string][]string, used []string) []map[string]string {
		t.Helper()
		req := table.Request{ColsUsed: used}
		for col, exprs := range constraints {
			for _, e := range exprs {
				req.Add(col, table.Equals, e)
			}
		}
		resp, err := client.Call(t.Context(), "table", "legacy_ports", genosquery.ExtensionPluginRequest{
			"action": "generate", "context": osqtest.Context(cols, req),
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status.Code != 0 {
			t.Fatalf("status %d: %s", resp.Status.Code, resp.Status.Message)
		}
		return resp.Response
	}

	rows := call(map[string][]string{"port": {strconv.Itoa(port), "1"}}, []string{"pid", "process_name", "port", "direction", "verdict"})
	self := strconv.Itoa(os.Getpid())
	found := false
	for _, r := range rows {
		if r["port"] != strconv.Itoa(port) && r["port"] != "1" {
			t.Errorf("row outside the constraint: %v", r)
		}
		if r["pid"] == self {
			found = true
			if r["direction"] != "listen" || r["local_address"] != "127.0.0.1" || r["exposure"] != "loopback" || r["transport"] != "tcp" {
				t.Errorf("our listener: %v", r)
			}
			if v := r["verdict"]; v != "ghost" && v != "rpc-dynamic" {
				t.Errorf("verdict %q", v)
			}
		}
	}
	if !found {
		t.Errorf("our listener on 127.0.0.1:%d (pid %s) not found in %v", port, self, rows)
	}
	if rows := call(map[string][]string{"port": {"abc"}}, nil); len(rows) != 0 {
		t.Errorf("port = 'abc' gave rows: %v", rows)
	}
	resp, err := client.Call(t.Context(), "table", "legacy_ports_info", genosquery.ExtensionPluginRequest{"action": "generate", "context": "{}"})
	if err != nil || resp.Status.Code != 0 || len(resp.Response) != 1 || resp.Response[0]["version"] != testVersion {
		t.Errorf("legacy_ports_info: %v %v", resp, err)
	}
}

func TestShutdownRequestExitsZero(t *testing.T) {
	core := startCore(t)
	e, reg := register(t, core, osqueryArgs(core)...)
	client, closeClient, err := core.ExtensionClient(reg.UUID, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	closeClient()
	if code := e.exitCode(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d after osquery's shutdown request, want 0", code)
	}
}

func TestCoreGoneExitsNonZero(t *testing.T) {
	core := startCore(t)
	e, _ := register(t, core, osqueryArgs(core)...)
	core.Stop()
	// The ping loop notices within one interval; allow two, plus the
	// start-up slack of a loaded CI machine.
	if code := e.exitCode(t, 2*pingInterval*time.Second+3*time.Second); code == 0 {
		t.Error("exit code 0 after osquery went away; osqueryd would not restart it")
	}
}

func TestForgottenExtensionExits(t *testing.T) {
	core := startCore(t)
	e, _ := register(t, core, osqueryArgs(core)...)
	core.Forget()
	if code := e.exitCode(t, 10*time.Second); code == 0 {
		t.Error("exit code 0 after osquery forgot the extension")
	}
	if !strings.Contains(e.stderr.String(), "no longer lists") {
		t.Errorf("stderr does not say why: %q", e.stderr.String())
	}
}

func TestSigtermExitsZero(t *testing.T) {
	core := startCore(t)
	e, _ := register(t, core, osqueryArgs(core)...)
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := e.exitCode(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

func TestUnknownFlagsAreSurvived(t *testing.T) {
	core := startCore(t)
	e, reg := register(t, core, "--verbose", "--extensions_future", "yes", "--socket", core.Path, "--flag=1", "--timeout", "3", "--interval", "1", "-x")
	if reg.Info.Name != "legacy_ports" {
		t.Errorf("registered as %q", reg.Info.Name)
	}
	if !strings.Contains(e.stderr.String(), "ignoring unknown flag --extensions_future yes") {
		t.Errorf("unknown flag not reported: %q", e.stderr.String())
	}
}

func TestMissingSocketGivesUp(t *testing.T) {
	e := startExtension(t, "--socket", filepath.Join(t.TempDir(), "absent.em"), "--timeout", "1", "--interval", "1")
	if code := e.exitCode(t, 20*time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(e.stderr.String(), "did not answer") {
		t.Errorf("stderr: %q", e.stderr.String())
	}
}

func TestSpec(t *testing.T) {
	out, err := exec.Command(binary, "--spec").Output()
	if err != nil {
		t.Fatal(err)
	}
	var specs []struct {
		Name    string `json:"name"`
		Columns []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"columns"`
	}
	if err := json.Unmarshal(out, &specs); err != nil {
		t.Fatalf("--spec is not JSON: %v\n%s", err, out)
	}
	if len(specs) != 4 || specs[0].Name != "legacy_ports" || len(specs[0].Columns) != 29 ||
		specs[3].Name != "legacy_port_events" || len(specs[3].Columns) != 32 {
		t.Errorf("specs: %+v", specs)
	}
}
