package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/registry"
)

// watcher is a `legacy-ports watch` process: this test binary run as the
// command (LP_CLI=1).
type watcher struct {
	cmd    *exec.Cmd
	header string
	lines  chan string
	stderr *strings.Builder
}

// startWatch runs watch with args, as cred when not nil, and reads its
// header. The test's cleanup kills it if it is still running.
func startWatch(t *testing.T, cred *syscall.Credential, args ...string) *watcher {
	t.Helper()
	bin := os.Args[0]
	if cred != nil {
		bin = worldExecutableCopy(t)
	}
	w := &watcher{cmd: exec.Command(bin, append([]string{"watch"}, args...)...), lines: make(chan string, 100), stderr: &strings.Builder{}}
	w.cmd.Env = append(os.Environ(), "LP_CLI=1")
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		_ = w.cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
	}()
	errLines := bufio.NewReader(stderr)
	header, err := errLines.ReadString('\n')
	w.header = header
	if err != nil {
		rest, _ := io.ReadAll(errLines)
		w.stderr.WriteString(header + string(rest))
		return w
	}
	go func() { _, _ = io.Copy(io.Discard, errLines) }()
	return w
}

// worldExecutableCopy copies this test binary where uid 65534 may run it.
func worldExecutableCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "legacy-ports.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil { //nolint:gosec // must be executable by uid 65534
		t.Fatal(err)
	}
	// t.TempDir and its parent are private to root.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil { //nolint:gosec // as above
			t.Fatal(err)
		}
	}
	return bin
}

// waitEvent reads JSON lines until match accepts one.
func (w *watcher) waitEvent(t *testing.T, limit time.Duration, match func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				t.Fatalf("watch ended its output; header %q", w.header)
			}
			var row map[string]string
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("not a JSON line: %q: %v", line, err)
			}
			if match(row) {
				return row
			}
		case <-deadline:
			t.Fatalf("no matching event within %s", limit)
		}
	}
}

// interrupt sends SIGINT and returns the exit code.
func (w *watcher) interrupt(t *testing.T) int {
	t.Helper()
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	return w.exitCode(t)
}

// exitCode waits for the process to end and returns its exit code.
func (w *watcher) exitCode(t *testing.T) int {
	t.Helper()
	// Drain stdout until the process closes it.
	for range w.lines {
	}
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // Wait returns it unwrapped
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatal("watch still running after 10 s")
	}
	return -1
}

// registryListener listens on loopback on a free TCP port of the built-in
// registry in [lo, hi].
func registryListener(t *testing.T, lo, hi int) (int, net.Listener) {
	t.Helper()
	reg, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range reg.Entries() {
		p := int(e.PortLow)
		if p < lo || p > hi || !e.HasTransport(registry.TCP) {
			continue
		}
		if ln, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			t.Cleanup(func() { _ = ln.Close() })
			return p, ln
		}
	}
	t.Fatalf("no free registry TCP port in %d-%d", lo, hi)
	return 0, nil
}

// TestWatchEBPF runs watch on the eBPF source as root: a connection to a
// registry port appears as a JSON line, and SIGINT ends it with status 0.
func TestWatchEBPF(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the eBPF source needs root; TestWatchPoll covers watch without it")
	}
	port, ln := registryListener(t, 600, 1023)
	w := startWatch(t, nil, "--format", "json", "--source", "ebpf")
	if !strings.HasPrefix(w.header, "legacy-ports watch: source ebpf") {
		t.Fatalf("header %q (stderr %q), want the ebpf source", w.header, w.stderr.String())
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = c.Close()
		}
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	self := strconv.Itoa(os.Getpid())
	row := w.waitEvent(t, 10*time.Second, func(r map[string]string) bool {
		return r["action"] == "connect" && r["remote_port"] == strconv.Itoa(port) && r["pid"] == self
	})
	if row["source"] != "ebpf" || row["direction"] != "outbound" || row["verdict"] == "" {
		t.Errorf("connect row: %v", row)
	}
	if code := w.interrupt(t); code != 0 {
		t.Errorf("exit status %d after SIGINT, want 0", code)
	}
}

// TestWatchPoll runs watch on the poll source, as uid 65534 when the tests
// run as root: a listener that lives longer than the poll interval appears.
// Without privileges, the eBPF source is refused with exit status 2 and the
// reason.
func TestWatchPoll(t *testing.T) {
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	lo := 1024
	if cred != nil {
		lo = 600 // the listener is the test's, as root
	}
	port, _ := registryListener(t, lo, 49151)
	w := startWatch(t, cred, "--format", "json", "--source", "poll", "--poll-interval", "0.2")
	if !strings.HasPrefix(w.header, "legacy-ports watch: source poll, every 0.2s") {
		t.Fatalf("header %q (stderr %q), want the poll source", w.header, w.stderr.String())
	}
	row := w.waitEvent(t, 10*time.Second, func(r map[string]string) bool {
		return r["action"] == "listen" && r["port"] == strconv.Itoa(port)
	})
	if row["source"] != "poll" || row["local_address"] != "127.0.0.1" || row["direction"] != "listen" {
		t.Errorf("listen row: %v", row)
	}
	if code := w.interrupt(t); code != 0 {
		t.Errorf("exit status %d after SIGINT, want 0", code)
	}

	if cred == nil {
		return
	}
	refused := startWatch(t, cred, "--source", "ebpf")
	if code := refused.exitCode(t); code != cli.ExitError {
		t.Errorf("--source ebpf as uid 65534: exit status %d, want %d", code, cli.ExitError)
	}
	if !strings.Contains(refused.header, "the eBPF source cannot run here: ") {
		t.Errorf("--source ebpf as uid 65534: stderr %q, want the reason", refused.header)
	}
}
