package sockets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	hostNS      = 4026531840
	containerNS = 4026532200
	brokenNS    = 4026532300
)

// fixtureTree builds a proc tree of three network namespaces: ours (pids 100,
// 101, and self), a container's (200, 201) without IPv6, and one whose
// process has no net directory left (300).
func fixtureTree(t *testing.T) string {
	t.Helper()
	root := fakeProc(t, map[string]string{
		"self":         "100",
		"100/ns/net":   "net:[4026531840]",
		"101/ns/net":   "net:[4026531840]",
		"200/ns/net":   "net:[4026532200]",
		"201/ns/net":   "net:[4026532200]",
		"300/ns/net":   "net:[4026532300]",
		"400/ns/net":   "mnt:[4026532400]",
		"notapid/ns/x": "net:[4026532500]",
	})
	copyFixture := func(dir, name, as string) {
		b, err := os.ReadFile(filepath.Join("testdata", "procnet", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, dir, "net"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "net", as), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"tcp", "tcp6", "udp", "udp6"} {
		copyFixture("100", name, name)
	}
	copyFixture("200", "udp", "tcp") // any socket lines will do; these are read as TCP
	copyFixture("200", "udp", "udp")
	return root
}

// inNS gives sockets the namespace inode, and protocol and state when they
// are set.
func inNS(socks []Socket, netns uint64, proto uint8, state string) []Socket {
	out := slices.Clone(socks)
	for i := range out {
		out[i].NetNS = netns
		if proto != 0 {
			out[i].Protocol = proto
			out[i].State = state
		}
	}
	return out
}

func TestSocketsFixtureTree(t *testing.T) {
	root := fixtureTree(t)
	src := NewLinux(root).(*linuxSource)
	if src.netlink {
		t.Fatal("netlink used on a fixture tree")
	}
	src.bigEndian = false // the fixtures come from a little-endian host

	var want []Socket
	for _, f := range [][]Socket{fixtureTCP, fixtureTCP6, fixtureUDP, fixtureUDP6} {
		want = append(want, inNS(f, hostNS, 0, "")...)
	}
	want = append(want, inNS(fixtureUDP, containerNS, protoTCP, "ESTABLISHED")...)
	want[len(want)-1].State = "CLOSED" // the unconnected one
	want = append(want, inNS(fixtureUDP, containerNS, 0, "")...)

	got, err := src.Sockets(t.Context(), keepAll)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "network namespace 4026532300") {
		t.Fatalf("err = %v, want one naming namespace %d", err, brokenNS)
	}
	for _, ns := range []string{"4026531840", "4026532200"} {
		if strings.Contains(err.Error(), ns) {
			t.Errorf("err = %v, names namespace %s, which was read", err, ns)
		}
	}

	keep := FilterFunc(func(local, _ uint16, proto uint8) bool { return local == 41363 && proto == protoUDP })
	got, _ = src.Sockets(t.Context(), keep)
	want = []Socket{fixtureUDP[1], fixtureUDP[1]}
	want[0].NetNS, want[1].NetNS = hostNS, containerNS
	if !reflect.DeepEqual(got, want) {
		t.Errorf("filtered: got  %v\nwant %v", got, want)
	}
}

func TestSocketsErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewLinux(fixtureTree(t)).Sockets(cancelled, keepAll); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}

	// Without /proc/self/ns/net our namespace is still read, as namespace 0.
	root := fixtureTree(t)
	if err := os.Remove(filepath.Join(root, "100", "ns", "net")); err != nil {
		t.Fatal(err)
	}
	got, err := NewLinux(root).Sockets(t.Context(), keepAll)
	if err == nil || !strings.Contains(err.Error(), "our network namespace") {
		t.Errorf("err = %v, want one about our namespace", err)
	}
	if len(got) == 0 || got[0].NetNS != 0 {
		t.Errorf("got %v, want our sockets in namespace 0", got)
	}
}

func TestNewLinux(t *testing.T) {
	tests := []struct {
		name, procRoot, hostProc string
		wantRoot                 string
		wantNetlink              bool
	}{
		{"default", "", "", "/proc", true},
		{"proc", "/proc/", "", "/proc", true},
		{"fixtures", "/tmp/x/proc", "", "/tmp/x/proc", false},
		{"HOST_PROC", "", "/host/proc", "/host/proc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOST_PROC", tt.hostProc)
			src := NewLinux(tt.procRoot)
			if tt.procRoot == "" {
				src = Default()
			}
			got := src.(*linuxSource)
			if got.procRoot != tt.wantRoot || got.netlink != tt.wantNetlink || got.bigEndian != hostBigEndian {
				t.Errorf("got %+v, want root %s, netlink %v", got, tt.wantRoot, tt.wantNetlink)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	want := Capabilities{Namespaces: false, Attribution: Partial}
	if os.Geteuid() == 0 {
		want = Capabilities{Namespaces: true, Attribution: Full}
	}
	if got := NewLinux("").Capabilities(); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestProcess(t *testing.T) {
	p, err := NewLinux("").Process(t.Context(), int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if p.Path != exe || p.UID != int64(os.Getuid()) || p.Name == "" {
		t.Errorf("got %+v, want path %s, uid %d", p, exe, os.Getuid())
	}
}
