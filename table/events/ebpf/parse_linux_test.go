//go:build linux

package ebpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/legacy-ports/legacy-ports/table/events"
)

func TestCgroup2Mount(t *testing.T) {
	for _, tc := range []struct {
		file, want, err string
	}{
		{"mountinfo-hybrid", "/sys/fs/cgroup/unified", ""},
		{"mountinfo-v2", "/sys/fs/cgroup", ""},
		{"mountinfo-escaped", "/mnt/cgroup v2", ""},
		{"mountinfo-v1", "", "no cgroup v2 hierarchy is mounted (no cgroup2 line in testdata/mountinfo-v1)"},
		{"missing", "", "cannot find the cgroup v2 hierarchy"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := cgroup2Mount(filepath.Join("testdata", tc.file))
			if got != tc.want {
				t.Errorf("mount = %q, want %q", got, tc.want)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
			var unavail *UnavailableError
			if err != nil && !errors.As(err, &unavail) {
				t.Errorf("err %v is not an *UnavailableError", err)
			}
		})
	}
}

func TestCgroupPaths(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "system.slice", "ssh.service"), 0o755); err != nil {
		t.Fatal(err)
	}
	ino := func(p string) uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, p), &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	c := newCgroupPaths(root)
	for dir, want := range map[string]string{".": "/", "system.slice": "/system.slice", "system.slice/ssh.service": "/system.slice/ssh.service"} {
		if got := c.path(ino(dir)); got != want {
			t.Errorf("path(%s) = %q, want %q", dir, got, want)
		}
	}
	if got := c.path(0); got != "" {
		t.Errorf("path(0) = %q", got)
	}
	// A cgroup created after the walk is found once the rewalk delay passes.
	if err := os.Mkdir(filepath.Join(root, "late"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.walked = c.walked.Add(-cgroupRewalk)
	if got := c.path(ino("late")); got != "/late" {
		t.Errorf("path(late) = %q, want /late", got)
	}
}

func TestLockdownMode(t *testing.T) {
	for file, want := range map[string]string{
		"lockdown-integrity":       "integrity",
		"lockdown-confidentiality": "confidentiality",
		"missing":                  "",
	} {
		if got := lockdownMode(filepath.Join("testdata", file)); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}

func TestPreflightReasons(t *testing.T) {
	defer func(b, l string) { btfPath, lockdownPath = b, l }(btfPath, lockdownPath)
	btfPath = "testdata/no-such-btf"
	if err := preflight(); err == nil || !strings.Contains(err.Error(), "the kernel has no BTF (testdata/no-such-btf is missing") {
		t.Errorf("without BTF: %v", err)
	}
	btfPath, lockdownPath = "testdata/lockdown-integrity", "testdata/lockdown-confidentiality"
	if err := preflight(); err == nil || !strings.Contains(err.Error(), "kernel lockdown is in confidentiality mode") {
		t.Errorf("under lockdown: %v", err)
	}
}

func TestDiagnose(t *testing.T) {
	notRoot := "not root: eBPF needs " + privileges
	if os.Geteuid() == 0 {
		notRoot = "permission denied while loading although running as root"
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("map create: %w", unix.EPERM), notRoot},
		{fmt.Errorf("probe: %w", ebpf.ErrNotSupported), "kernel too old: loading is not supported"},
		{unix.ENOSYS, "BPF is disabled: the kernel has no bpf() system call"},
		{&ebpf.VerifierError{Cause: unix.EINVAL, Log: []string{"0: (85) call unknown#123", "unknown func bpf_ringbuf_reserve#131", ""}}, "the kernel's verifier rejected the programs while loading (a kernel older than 5.8 or built without a needed helper): unknown func bpf_ringbuf_reserve#131"},
		{errors.New("odd"), "eBPF failed while loading: odd"},
	} {
		got := diagnose("loading", tc.err).Error()
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("diagnose(%v) = %q, want prefix %q", tc.err, got, tc.want)
		}
	}
}

func TestPortBitmap(t *testing.T) {
	b := bitmapOf([]events.Port{{Port: 609, Protocol: 6}, {Port: 611, Protocol: 17}, {Port: 0, Protocol: 6}, {Port: 65535, Protocol: 17}, {Port: 7, Protocol: 1}})
	for _, tc := range []struct {
		port  uint16
		proto uint8
		want  bool
	}{{609, 6, true}, {609, 17, false}, {611, 17, true}, {611, 6, false}, {0, 6, true}, {65535, 17, true}, {65535, 6, false}, {7, 6, false}, {7, 17, false}} {
		if got := b.has(tc.port, tc.proto); got != tc.want {
			t.Errorf("has(%d, %d) = %v", tc.port, tc.proto, got)
		}
	}
}

// sample builds a ring-buffer record as bpf/capture.c lays out struct event.
func sample(r rawEvent) []byte {
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.NativeEndian, r); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestDecode(t *testing.T) {
	if n := binary.Size(rawEvent{}); n != 88 {
		t.Fatalf("rawEvent is %d bytes; struct event is 88", n)
	}
	c := &Capture{cgroups: newCgroupPaths(t.TempDir())}
	comm := [16]byte{}
	copy(comm[:], "beacon")
	v4 := [16]byte{127, 0, 0, 1}
	v6 := netip.MustParseAddr("fd00::1").As16()
	for _, tc := range []struct {
		name string
		raw  rawEvent
		want events.Event
	}{
		{"connect v4", rawEvent{Action: 3, Family: 2, Protocol: 6, PID: 42, UID: 1000, NetNS: 7, RPort: 609, RAddr: v4, Comm: comm},
			events.Event{Action: events.Connect, PID: 42, UID: 1000, Comm: "beacon", Family: 2, Protocol: 6, NetNS: 7, Remote: netip.MustParseAddrPort("127.0.0.1:609"), Source: events.SourceEBPF}},
		{"bind v6", rawEvent{Action: 1, Family: 10, Protocol: 17, PID: 1, LPort: 672, LAddr: v6, Comm: comm},
			events.Event{Action: events.Bind, PID: 1, UID: 0, Comm: "beacon", Family: 10, Protocol: 17, Local: netip.MustParseAddrPort("[fd00::1]:672"), Source: events.SourceEBPF}},
		{"listen", rawEvent{Action: 2, Family: 2, Protocol: 6, PID: 5, LPort: 609, LAddr: v4, Comm: comm},
			events.Event{Action: events.Listen, PID: 5, Comm: "beacon", Family: 2, Protocol: 6, Local: netip.MustParseAddrPort("127.0.0.1:609"), Source: events.SourceEBPF}},
		{"accept of an unknown listener", rawEvent{Action: 4, Flags: flagNoOwner, Family: 2, Protocol: 6, PID: 99, UID: 3, Cgroup: 12, LPort: 609, RPort: 40000, LAddr: v4, RAddr: v4, Comm: comm},
			events.Event{Action: events.Accept, PID: -1, UID: -1, Family: 2, Protocol: 6, Local: netip.MustParseAddrPort("127.0.0.1:609"), Remote: netip.MustParseAddrPort("127.0.0.1:40000"), Source: events.SourceEBPF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := c.decode(sample(tc.raw))
			if !ok {
				t.Fatal("not decoded")
			}
			got.Time = tc.want.Time
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, bad := range [][]byte{nil, make([]byte, 10), sample(rawEvent{Action: 0}), sample(rawEvent{Action: 7}), sample(rawEvent{Action: 200})} {
		if _, ok := c.decode(bad); ok {
			t.Errorf("decoded %x", bad)
		}
	}
}
