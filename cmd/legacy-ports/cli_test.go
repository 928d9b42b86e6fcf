package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/registry"
)

// TestMain doubles as a listener process for the live tests: started with
// LP_LISTEN=proto:port, it binds 127.0.0.1 there, says "ready" and holds
// the socket until its stdin closes.
func TestMain(m *testing.M) {
	if spec := os.Getenv("LP_LISTEN"); spec != "" {
		os.Exit(listenAndHold(spec))
	}
	if os.Getenv("LP_CLI") == "1" { // the command itself, for tests that need a process
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func listenAndHold(spec string) int {
	proto, port, _ := strings.Cut(spec, ":")
	addr := "127.0.0.1:" + port
	var c io.Closer
	var err error
	if proto == "udp" {
		c, err = net.ListenPacket("udp4", addr)
	} else {
		c, err = net.Listen("tcp4", addr)
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer c.Close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"scan", "--format", "xml"}, `unknown format "xml"`},
		{[]string{"scan", "--columns", "pid,colour"}, `unknown column "colour"`},
		{[]string{"scan", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"registry"}, "usage"},
		{[]string{"watch", "--source", "kernel"}, `--source "kernel": want auto, ebpf or poll`},
		{[]string{"watch", "--format", "csv"}, `unknown format "csv" (want one of table, json)`},
		{[]string{"watch", "--poll-interval", "0"}, "--poll-interval 0: want a number of seconds above 0"},
		{[]string{"watch", "--columns", "pid,colour"}, `unknown column "colour"`},
		{[]string{"watch", "now"}, `unexpected arguments ["now"]`},
		{[]string{"registry", "list", "--category", "dead"}, `unknown value "dead"`},
		{[]string{"registry", "list", "--port", "http"}, `--port: "http" is not a port number (want 0 to 65535)`},
		{[]string{"registry", "list", "--port", "-1"}, `--port: "-1" is not a port number`},
		{[]string{"registry", "list", "--port", "611.5"}, `--port: "611.5" is not a port number`},
		{[]string{"registry", "show", "99999"}, `"99999" is not a port number`},
		{[]string{"registry", "verify"}, "--iana FILE is required"},
		{[]string{"registry", "verify", "--iana", "/nonexistent.csv"}, "/nonexistent.csv"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != cli.ExitError {
				t.Errorf("exit %d, want %d", code, cli.ExitError)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q, want %q", stderr, tt.want)
			}
		})
	}
}

func TestRegistryCommands(t *testing.T) {
	code, stdout, _ := runCLI(t, "registry", "list", "--category", "historic-rfc", "--format", "csv")
	if code != cli.ExitClean {
		t.Fatalf("exit %d", code)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(recs) < 20 {
		t.Fatalf("list: %d records, %v", len(recs), err)
	}
	for _, r := range recs[1:] {
		if r[5] != "historic-rfc" {
			t.Fatalf("--category historic-rfc listed %v", r)
		}
	}
	// A port is a number, however it is written.
	for _, port := range []string{"611", "0611", " 611"} {
		code, stdout, _ = runCLI(t, "registry", "list", "--port", port, "--format", "csv")
		recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if code != cli.ExitClean || err != nil || len(recs) < 2 {
			t.Fatalf("list --port %q: exit %d, %d records, %v", port, code, len(recs), err)
		}
		for _, r := range recs[1:] {
			if r[0] != "611" {
				t.Errorf("list --port %q listed %v", port, r)
			}
		}
	}
	if code, stdout, _ = runCLI(t, "registry", "show", "0611"); code != cli.ExitClean || !strings.Contains(stdout, "port = 611") {
		t.Errorf("show 0611: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLI(t, "registry", "show", "625")
	if code != cli.ExitClean || !strings.Contains(stdout, "dec-dlm") || strings.Contains(stdout, "apple-xsrvr-admin ") {
		t.Errorf("show 625: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "registry", "show", "389"); code != cli.ExitFound || !strings.Contains(stderr, "not in the registry") {
		t.Errorf("show 389 (ldap, alive): exit %d, %q", code, stderr)
	}
}

// ianaCSV is IANA's registry as shipped beside the repository.
func ianaCSV(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "data", "iana-service-names-port-numbers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("IANA's CSV is not beside the repository (%v); registry verify is tested on fixtures in package registry", err)
	}
	return p
}

func TestRegistryVerify(t *testing.T) {
	csvPath := ianaCSV(t)
	code, stdout, stderr := runCLI(t, "registry", "verify", "--iana", csvPath)
	if code != cli.ExitClean || !strings.Contains(stdout, "agree with") {
		t.Fatalf("verify against IANA: exit %d\n%s%s", code, stdout, stderr)
	}
	// One service name changed in a copy must fail the check, and say where.
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(data, []byte("\nnpmp-gui,611,tcp,"), []byte("\nnpmp-guy,611,tcp,"), 1)
	if bytes.Equal(changed, data) {
		t.Fatal("the 611/tcp npmp-gui row was not found to change")
	}
	bad := filepath.Join(t.TempDir(), "iana.csv")
	if err := os.WriteFile(bad, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "registry", "verify", "--iana", bad)
	if code == cli.ExitClean || !strings.Contains(stdout, "611/tcp") || !strings.Contains(stdout, "dead-product.yml:") {
		t.Errorf("verify against a changed copy: exit %d\n%s", code, stdout)
	}
}

func TestRegistryLint(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	_ = os.WriteFile(good, []byte("allow:\n  - port: 611\n    process: ghostd\n    comment: lab\n"), 0o644)
	_ = os.WriteFile(bad, []byte("allow:\n  - port: 611\n    process: ghostd\n"), 0o644)
	if code, stdout, _ := runCLI(t, "registry", "lint", good); code != cli.ExitClean || !strings.Contains(stdout, "1 allow rules") {
		t.Errorf("good file: exit %d %q", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "registry", "lint", bad); code != cli.ExitFound || !strings.Contains(stdout, "bad.yml:2:") {
		t.Errorf("bad file: exit %d %q", code, stdout)
	}
}

// holder is a child process holding one socket under a chosen name.
func holder(t *testing.T, name, spec string) int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The process name is the name it was executed under: a symlink.
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, link)
	cmd.Env = append(os.Environ(), "LP_LISTEN="+spec)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
		cancel()
	})
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Skipf("%s could not listen on %s: %s", name, spec, line)
	}
	return cmd.Process.Pid
}

func TestScanVerdictsLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("listening on registry ports in 600-1023 needs root; verdict rules are tested on fakes in package registry")
	}
	ports := freeRegistryPorts(t)
	dir := t.TempDir()
	admin := filepath.Join(dir, "legacy_ports.yml")
	rule := fmt.Sprintf("allow:\n  - port: %d\n    transport: tcp\n    process: labd\n    comment: the lab's old daemon, ticket OPS-7\n", ports[2])
	if err := os.WriteFile(admin, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[int]string{
		holder(t, "rpc.statd", fmt.Sprintf("udp:%d", ports[0])): "rpc-dynamic",
		holder(t, "ghostd", fmt.Sprintf("tcp:%d", ports[1])):    "ghost",
		holder(t, "labd", fmt.Sprintf("tcp:%d", ports[2])):      "allowed",
	}
	code, stdout, stderr := runCLI(t, "scan", "--format", "json", "--registry-file", admin)
	if code != cli.ExitFound {
		t.Errorf("exit %d, want %d (a ghost is present); stderr %q", code, cli.ExitFound, stderr)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := map[int]string{}
	for _, r := range rows {
		pid, _ := strconv.Atoi(r["pid"])
		if _, ours := want[pid]; ours {
			got[pid] = r["verdict"]
			if r["local_address"] != "127.0.0.1" || r["direction"] != "listen" || r["exposure"] != "loopback" || r["reason"] == "" {
				t.Errorf("row for pid %d: %v", pid, r)
			}
		}
	}
	for pid, v := range want {
		if got[pid] != v {
			t.Errorf("pid %d: verdict %q, want %q", pid, got[pid], v)
		}
	}
}

// freeRegistryPorts finds ghost ports in 600-1023 that nothing on this host
// uses: one for UDP, then two for TCP.
func freeRegistryPorts(t *testing.T) []int {
	t.Helper()
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, proto := range []uint8{registry.UDP, registry.TCP, registry.TCP} {
		for _, e := range reg.Entries() {
			p := int(e.PortLow)
			if p < 600 || p > 1023 || !e.HasTransport(proto) || e.Category == registry.InsecureLegacy || slices.Contains(out, p) {
				continue
			}
			var c io.Closer
			var err error
			if proto == registry.UDP {
				c, err = net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(p))
			} else {
				c, err = net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
			}
			if err == nil {
				_ = c.Close()
				out = append(out, p)
				break
			}
		}
	}
	if len(out) != 3 {
		t.Fatalf("found only %v free registry ports in 600-1023", out)
	}
	return out
}

func TestScanFormats(t *testing.T) {
	for _, f := range []string{"table", "json", "csv", "line"} {
		code, _, stderr := runCLI(t, "scan", "--format", f)
		if code == cli.ExitError {
			t.Errorf("--format %s: exit %d: %s", f, code, stderr)
		}
	}
}
