package sockets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startNamespaceListener runs listenHelper in a new network namespace and
// returns its pid and port. The child is killed when the test ends.
func startNamespaceListener(t *testing.T) (int, uint16) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating and entering a network namespace needs root")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	// unshare and sh exec, so the listener keeps the pid we start.
	cmd := exec.CommandContext(ctx, "unshare", "--net", "sh", "-c", `ip link set lo up && exec "$0"`, os.Args[0])
	cmd.Env = append(os.Environ(), "LP_TEST_HELPER=listen")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		if strings.HasPrefix(stderr.String(), "unshare:") {
			t.Skipf("no network namespace here: %s", stderr.String())
		}
		t.Fatalf("listener: %v: %s", err, stderr.String())
	}
	var port uint16
	if _, err := fmt.Sscanf(line, "ready %d", &port); err != nil {
		t.Fatalf("listener said %q: %v", line, err)
	}
	return cmd.Process.Pid, port
}

// TestNamespaceListener finds a listener in another network namespace, and
// its process, through setns and netlink and through /proc/<pid>/net.
func TestNamespaceListener(t *testing.T) {
	pid, port := startNamespaceListener(t)
	ownNS := nsInode(t, "/proc/self/ns/net")
	childNS := nsInode(t, fmt.Sprintf("/proc/%d/ns/net", pid))
	if childNS == ownNS {
		t.Fatalf("the listener is in our namespace %d", ownNS)
	}
	local := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	keep := FilterFunc(func(l, _ uint16, proto uint8) bool { return l == port && proto == protoTCP })
	isListener := func(s Socket) bool {
		return s.NetNS == childNS && s.Local == local && s.State == "LISTEN" && s.Family == AFInet && s.Inode != 0
	}

	t.Run("setns", func(t *testing.T) {
		nsPath := fmt.Sprintf("/proc/%d/ns/net", pid)
		if _, err := openDiagIn(nsPath, childNS+1); err == nil {
			t.Error("a namespace with another inode was entered")
		}
		fd, err := openDiagIn(nsPath, childNS)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		got, err := dumpInet(t.Context(), fd, &scratch{diag: make([]byte, diagBufLen)}, 1, inetTables[0], childNS, keep, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !isListener(got[0]) {
			t.Errorf("got %+v, want the listener on %v", got, local)
		}
	})
	for _, tt := range liveSources() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.src.Sockets(t.Context(), keep)
			if err != nil {
				t.Fatal(err)
			}
			var found []Socket
			for _, s := range got {
				if isListener(s) {
					found = append(found, s)
				}
			}
			if len(found) != 1 {
				t.Fatalf("got %+v, want one listener on %v in namespace %d", got, local, childNS)
			}
			owners, err := tt.src.Owners(t.Context(), map[uint64]struct{}{found[0].Inode: {}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if o := owners[found[0].Inode]; len(o) != 1 || o[0].PID != int32(pid) || o[0].FD < 0 {
				t.Errorf("owners %v, want pid %d", o, pid)
			}
		})
	}
}

// TestNamespacesCache: the ns/net link of a process seen before is not read
// again until nsRecheck has passed; new processes are read, and processes
// that are gone leave the list.
func TestNamespacesCache(t *testing.T) {
	root := fakeProc(t, map[string]string{
		"self":       "100",
		"100/ns/net": "net:[4026531840]",
		"200/ns/net": "net:[4026532200]",
		"300/ns/net": "net:[4026532300]",
	})
	relink := func(pid, target string) {
		path := filepath.Join(root, pid, "ns", "net")
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	check := func(step string, want ...namespace) {
		t.Helper()
		got, err := others(root, sc)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", step, got, want)
		}
	}
	check("first", namespace{4026532200, 200}, namespace{4026532300, 300})
	// Pid 200 now shows another namespace: the cache still has the old one.
	relink("200", "net:[4026532201]")
	if err := os.RemoveAll(filepath.Join(root, "300")); err != nil {
		t.Fatal(err)
	}
	relink("400", "net:[4026532400]")
	check("cached", namespace{4026532200, 200}, namespace{4026532400, 400})
	nsCacheFor(root).lastFull = time.Now().Add(-nsRecheck)
	check("after nsRecheck", namespace{4026532201, 200}, namespace{4026532400, 400})
}

// TestNamespaceFoundBetweenSnapshots: a namespace made after a snapshot,
// with its cache warm, is in the next one.
func TestNamespaceFoundBetweenSnapshots(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	if _, err := others("/proc", sc); err != nil {
		t.Fatal(err)
	}
	pid, _ := startNamespaceListener(t)
	childNS := nsInode(t, fmt.Sprintf("/proc/%d/ns/net", pid))
	found, err := others("/proc", sc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(found, func(ns namespace) bool { return ns.inode == childNS }) {
		t.Errorf("namespace %d of pid %d not found in %v", childNS, pid, found)
	}
}

// others finds the namespaces under procRoot but its own, as Sockets does.
func others(procRoot string, sc *scratch) ([]namespace, error) {
	own, err := ownNamespace(procRoot, sc)
	if err != nil {
		return nil, err
	}
	return otherNamespaces(procRoot, sc, own.inode)
}

// TestNamespacesReadSideBySide reads several namespaces at once, on more
// workers than one, and checks that each listener is found once and that
// the sockets come in namespace order, ours first.
func TestNamespacesReadSideBySide(t *testing.T) {
	want := map[uint64]uint16{} // namespace to its listener's port
	for range 5 {
		pid, port := startNamespaceListener(t)
		want[nsInode(t, fmt.Sprintf("/proc/%d/ns/net", pid))] = port
	}
	ownNS := nsInode(t, "/proc/self/ns/net")
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want[ownNS] = uint16(l.Addr().(*net.TCPAddr).Port)
	keep := FilterFunc(func(local, _ uint16, proto uint8) bool {
		return proto == protoTCP && slices.Contains(slices.Collect(maps.Values(want)), local)
	})
	prev := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(prev)
	got, err := NewLinux("").Sockets(t.Context(), keep)
	if err != nil {
		t.Fatal(err)
	}
	var order []uint64
	for _, s := range got {
		if port, ok := want[s.NetNS]; ok && s.State == "LISTEN" && s.Local.Port() == port {
			order = append(order, s.NetNS)
		}
	}
	if len(order) != len(want) || order[0] != ownNS || !slices.IsSorted(order[1:]) {
		t.Errorf("listeners found in namespaces %v; want each of %d once, ours (%d) first, then in inode order", order, len(want), ownNS)
	}
}
