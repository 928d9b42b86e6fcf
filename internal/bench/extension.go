//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	genosquery "github.com/osquery/osquery-go/gen/osquery"

	"github.com/legacy-ports/legacy-ports/internal/osqtest"
)

// binaries are the programs, built as the Makefile builds them; cli runs
// `query` through query, built beside it. floor is the bench's own least Go
// program that lists sockets.
type binaries struct{ ext, cli, query, floor string }

func buildBinaries(ctx context.Context, dir string) (binaries, error) {
	b := binaries{ext: filepath.Join(dir, "legacy_ports.ext"), cli: filepath.Join(dir, "legacy-ports"),
		query: filepath.Join(dir, "legacy-ports-query"), floor: filepath.Join(dir, "floor")}
	programs := []struct{ out, pkg string }{
		{b.ext, "./cmd/legacy-ports-ext"},
		{b.cli, "./cmd/legacy-ports"},
		{b.query, "./cmd/legacy-ports-query"},
		{b.floor, "./internal/bench/floor"},
	}
	for _, t := range programs {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", t.out, t.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %w\n%s", t.pkg, err, out)
		}
	}
	return b, nil
}

// extResult is the extension's memory after the calls.
type extResult struct {
	calls              int
	rows               int // in the last call
	idleRSS, rss, hwm  uint64
	writes             uint64 // write syscalls by the extension during the calls
	elapsed            time.Duration
	median, p90, worst time.Duration
}

// measureExtension starts the real extension against a fake osquery core
// with osquery's argv, sends it calls generate calls of legacy_ports with
// the context osquery sends for SELECT *, each on a new connection as
// osquery's core opens one per call, and reads its memory.
func measureExtension(ctx context.Context, sp spawner, bin, adminPath string, calls int) (extResult, error) {
	var r extResult
	core, err := osqtest.Start()
	if err != nil {
		return r, err
	}
	defer core.Stop()
	args := []string{"--socket", core.Path, "--timeout", "3", "--interval", "3"}
	if adminPath != "" {
		args = append(args, "--registry-file", adminPath)
	}
	cmd, stderr, stop, err := startExtension(ctx, sp, bin, args...)
	if err != nil {
		return r, err
	}
	defer stop()
	fail := func(err error) (extResult, error) {
		return r, fmt.Errorf("%w; extension stderr: %s", err, firstLine(stderr.String()))
	}
	reg, err := core.WaitRegistered(20 * time.Second)
	if err != nil {
		return fail(err)
	}
	// osquery registers an extension before it listens: wait for its socket.
	_, closeClient, err := core.ExtensionClient(reg.UUID, 10*time.Second)
	if err != nil {
		return fail(err)
	}
	closeClient()
	pid := cmd.Process.Pid
	if r.idleRSS, _, err = memory(pid); err != nil {
		return fail(err)
	}
	writesBefore, err := writeCalls(pid)
	if err != nil {
		return fail(err)
	}
	req := genosquery.ExtensionPluginRequest{"action": "generate", "context": "{}"}
	times := make([]time.Duration, 0, calls)
	start := time.Now()
	for range calls {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		t0 := time.Now()
		client, closeClient, err := core.ExtensionClient(reg.UUID, time.Second)
		if err != nil {
			return fail(err)
		}
		resp, err := client.Call(ctx, "table", "legacy_ports", req)
		closeClient()
		if err != nil {
			return fail(err)
		}
		if resp.Status == nil || resp.Status.Code != 0 {
			return fail(fmt.Errorf("generate: status %v", resp.Status))
		}
		times = append(times, time.Since(t0))
		r.rows = len(resp.Response)
		r.calls++
	}
	r.elapsed = time.Since(start)
	s := summarize(times)
	r.median, r.p90 = s.median, s.p90
	for _, t := range times {
		r.worst = max(r.worst, t)
	}
	if r.rss, r.hwm, err = memory(pid); err != nil {
		return fail(err)
	}
	writes, err := writeCalls(pid)
	if err != nil {
		return fail(err)
	}
	r.writes = writes - writesBefore
	return r, nil
}

// startExtension starts the extension with args; stop ends it.
func startExtension(ctx context.Context, sp spawner, bin string, args ...string) (cmd *exec.Cmd, stderr *bytes.Buffer, stop func(), err error) {
	stderr = new(bytes.Buffer)
	cmd = exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = stderr
	if err := sp.start(cmd); err != nil {
		return nil, nil, nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	return cmd, stderr, func() { stopExtension(cmd, exited) }, nil
}

// stopExtension asks the extension to stop as osqueryd does (SIGTERM) and
// kills it if it has not within a few seconds.
func stopExtension(cmd *exec.Cmd, exited chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// memory reads VmRSS and VmHWM, in bytes.
func memory(pid int) (rss, hwm uint64, err error) {
	f, err := procFields(fmt.Sprintf("/proc/%d/status", pid), "VmRSS", "VmHWM")
	return f["VmRSS"] << 10, f["VmHWM"] << 10, err
}

// writeCalls is the process's count of write syscalls (/proc/PID/io syscw).
func writeCalls(pid int) (uint64, error) {
	f, err := procFields(fmt.Sprintf("/proc/%d/io", pid), "syscw")
	return f["syscw"], err
}

// procFields reads "key: number [kB]" lines of a /proc file.
func procFields(path string, keys ...string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(keys, k) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %q", path, k, v)
		}
		out[k] = n
	}
	if len(out) != len(keys) {
		return nil, fmt.Errorf("%s: want %v, found %v", path, keys, out)
	}
	return out, nil
}
