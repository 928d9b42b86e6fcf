package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/legacy-ports/legacy-ports/table"
)

// kernelObjects are the ids of the eBPF programs, maps and links a process
// holds descriptors to, read from /proc/PID/fdinfo.
type kernelObjects struct{ progs, maps, links []uint32 }

func heldObjects(t *testing.T, pid int) kernelObjects {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var k kernelObjects
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // a descriptor closed meanwhile
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			key, val, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			id, err := strconv.ParseUint(strings.TrimSpace(val), 10, 32)
			if err != nil {
				continue
			}
			switch key {
			case "prog_id":
				k.progs = append(k.progs, uint32(id))
			case "map_id":
				k.maps = append(k.maps, uint32(id))
			case "link_id":
				k.links = append(k.links, uint32(id))
			}
		}
		f.Close()
	}
	return k
}

// left lists which of k the kernel still has.
func (k kernelObjects) left() []string {
	var out []string
	for _, id := range k.progs {
		if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id)); err == nil {
			p.Close()
			out = append(out, fmt.Sprintf("program %d", id))
		}
	}
	for _, id := range k.maps {
		if m, err := ebpf.NewMapFromID(ebpf.MapID(id)); err == nil {
			m.Close()
			out = append(out, fmt.Sprintf("map %d", id))
		}
	}
	for _, id := range k.links {
		if l, err := link.NewFromID(link.ID(id)); err == nil {
			l.Close()
			out = append(out, fmt.Sprintf("link %d", id))
		}
	}
	return out
}

// TestEBPFEventsOverThrift runs the real extension as osquery would, as
// root: a child's connection to 609/tcp (or another registry port when 609
// is taken) that opens and closes within a few
// milliseconds, between two generate calls, is in the second one (the
// connect with the child's pid and name, and the accept); after osquery's
// shutdown request nothing of the extension's is left in the kernel.
func TestEBPFEventsOverThrift(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the eBPF capture needs root; TestEventsTimeConstraintOverThrift covers the table on the poll source")
	}
	// 609 unless another package's test holds it at the same time.
	ln := listenOnRegistryPort(t, 609, 600)
	port := strconv.Itoa(listenerPort(ln))
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.Close()
		}
		accepted <- err
	}()

	core := startCore(t)
	e, reg := register(t, core, osqueryArgs(core)...)
	c := newTableClient(t, core, reg)
	if info := c.info(); info["events_source"] != "ebpf" || info["events_reason"] != "" {
		t.Fatalf("legacy_ports_info: events_source %q, events_reason %q; want ebpf", info["events_source"], info["events_reason"])
	}
	held := heldObjects(t, e.cmd.Process.Pid)
	if len(held.progs) == 0 || len(held.links) == 0 || len(held.maps) == 0 {
		t.Fatalf("the extension holds %+v; want its programs, links and maps", held)
	}

	var onPort table.Request
	onPort.Add(table.ColPort, table.Equals, port)
	before := c.generate(table.PortEvents, onPort)

	child := exec.CommandContext(t.Context(), os.Args[0])
	child.Env = append(os.Environ(), "LP_EXT_HELPER=connect "+ln.Addr().String())
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	childPID := strconv.Itoa(child.Process.Pid)
	for _, r := range before {
		if r["pid"] == childPID {
			t.Fatalf("the first call already has the child: %v", r)
		}
	}

	// The events cross the ring buffer and are read as they come: the next
	// call has them (a loaded machine gets a few retries).
	conn := c.waitRows(onPort, 5*time.Second, func(r map[string]string) bool {
		return r["action"] == "connect" && r["pid"] == childPID
	})
	name := conn["process_name"]
	if name == "" || !strings.HasPrefix(filepath.Base(os.Args[0]), name) {
		t.Errorf("connect process_name %q, want the child's (%s)", name, filepath.Base(os.Args[0]))
	}
	if conn["direction"] != "outbound" || conn["remote_address"] != "127.0.0.1" || conn["remote_port"] != port ||
		conn["source"] != "ebpf" || conn["transport"] != "tcp" || conn["net_namespace"] == "" || conn["cgroup"] == "" {
		t.Errorf("connect row: %v", conn)
	}
	self := strconv.Itoa(os.Getpid())
	acc := c.waitRows(onPort, 5*time.Second, func(r map[string]string) bool {
		return r["action"] == "accept" && r["local_port"] == port
	})
	if acc["direction"] != "inbound" || acc["pid"] != self {
		t.Errorf("accept row %v; want inbound, pid %s", acc, self)
	}

	// The server waits for open connections before it stops: ours closes
	// after the request, as osquery's does.
	if err := c.client.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.close()
	if code := e.exitCode(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d after the shutdown request, want 0", code)
	}
	// The kernel frees maps shortly after their last reference goes.
	deadline := time.Now().Add(5 * time.Second)
	for left := held.left(); len(left) > 0; left = held.left() {
		if time.Now().After(deadline) {
			t.Fatalf("after exit the kernel still has %v of the extension's", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
