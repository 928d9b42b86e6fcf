package sockets

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// bcAccepts runs bc on a socket: the kernel accepts when the program ends
// exactly at its end, and rejects when a jump lands past it.
func bcAccepts(bc []byte, sport, dport uint16) bool {
	ne := binary.NativeEndian
	pos := 0
	for pos < len(bc) {
		yes := false
		port := uint16(0)
		if bc[pos] != bcJMP {
			port = ne.Uint16(bc[pos+6:])
		}
		switch bc[pos] {
		case bcSGE:
			yes = sport >= port
		case bcSLE:
			yes = sport <= port
		case bcDGE:
			yes = dport >= port
		case bcDLE:
			yes = dport <= port
		}
		if yes {
			pos += int(bc[pos+1])
		} else {
			pos += int(ne.Uint16(bc[pos+2:]))
		}
	}
	return pos == len(bc)
}

// bcAudit checks a program as the kernel's inet_diag_bc_audit does before
// it runs it: the walk of yes offsets ends exactly at the end, and every no
// offset lands on an op of that walk or on one of the two ends.
func bcAudit(bc []byte) bool {
	ne := binary.NativeEndian
	validCC := func(cc int) bool {
		for pos, l := 0, len(bc); l >= 0; {
			if cc > l {
				return false
			}
			if cc == l {
				return true
			}
			yes := int(bc[pos+1])
			if yes < 4 || yes&3 != 0 {
				return false
			}
			l -= yes
			pos += yes
		}
		return false
	}
	pos, l := 0, len(bc)
	for l > 0 {
		if l < bcJumpLen {
			return false
		}
		minLen := bcJumpLen
		switch bc[pos] {
		case bcJMP:
		case bcSGE, bcSLE, bcDGE, bcDLE:
			minLen = bcCondLen
			if l < minLen {
				return false
			}
		default:
			return false
		}
		yes, no := int(bc[pos+1]), int(ne.Uint16(bc[pos+2:]))
		if no < minLen || no > l+4 || no&3 != 0 {
			return false
		}
		if no < l && !validCC(l-no) {
			return false
		}
		if yes < minLen || yes > l+4 || yes&3 != 0 {
			return false
		}
		pos += yes
		l -= yes
	}
	return l == 0
}

func set(ranges ...PortRange) *PortSet {
	var s PortSet
	for _, r := range ranges {
		s.AddRange(r.Lo, r.Hi)
	}
	return &s
}

func TestRanges(t *testing.T) {
	tests := []struct {
		name string
		in   *PortSet
		want []PortRange
	}{
		{"empty", set(), nil},
		{"adjacent ports merge", set(PortRange{1, 3}, PortRange{4, 4}, PortRange{6, 6}), []PortRange{{1, 4}, {6, 6}}},
		{"across words", set(PortRange{60, 130}, PortRange{200, 200}), []PortRange{{60, 130}, {200, 200}}},
		{"both ends", set(PortRange{0, 0}, PortRange{65535, 65535}), []PortRange{{0, 0}, {65535, 65535}}},
		{"everything", set(PortRange{0, 65535}), []PortRange{{0, 65535}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Ranges(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// op is a golden inet_diag_bc_op; a comparison's port follows it.
type op struct {
	code, yes uint8
	no        uint16
	port      int // -1: no port op follows
}

func encode(ops ...op) []byte {
	var b []byte
	for _, o := range ops {
		b = append(b, o.code, o.yes)
		b = binary.NativeEndian.AppendUint16(b, o.no)
		if o.port >= 0 {
			b = append(b, 0, 0)
			b = binary.NativeEndian.AppendUint16(b, uint16(o.port))
		}
	}
	return b
}

func TestCompileBytecode(t *testing.T) {
	tests := []struct {
		name          string
		local, remote []PortRange
		want          []byte
	}{
		{"nothing", nil, nil, encode(op{bcJMP, 4, 8, -1})},
		{"one local port", []PortRange{{609, 609}}, nil, encode(
			op{bcSGE, 8, 20, 609}, // < 609: to the remote test, here a reject
			op{bcSLE, 8, 12, 609}, // > 609: the same
			op{bcJMP, 4, 8, -1},   // accept: the end, 8 bytes on
			op{bcJMP, 4, 8, -1})}, // reject: past the end
		{"one remote range", nil, []PortRange{{600, 611}}, encode(
			op{bcDGE, 8, 24, 600}, // past the end: reject
			op{bcDLE, 8, 16, 611},
			op{bcJMP, 4, 4, -1})},
		{"local, then remote", []PortRange{{609, 609}}, []PortRange{{0, 0}}, encode(
			op{bcSGE, 8, 20, 609},
			op{bcSLE, 8, 12, 609},
			op{bcJMP, 4, 16, -1}, // accept
			op{bcDLE, 8, 16, 0},  // remote 0: no >= 0 needed
			op{bcJMP, 4, 4, -1})},
		{"a tree of three ranges", []PortRange{{1, 1}, {10, 20}, {65000, 65535}}, nil, encode(
			op{bcSGE, 8, 32, 10},    // < 10: the left subtree, 32 bytes on
			op{bcSGE, 8, 12, 65000}, // < 65000: 12 bytes on
			op{bcJMP, 4, 40, -1},    // 65000-65535 needs no <= 65535: accept
			op{bcSLE, 8, 32, 20},    // 10-20: >= 10 is known
			op{bcJMP, 4, 28, -1},
			op{bcSGE, 8, 20, 1}, // 1, < 10 known
			op{bcSLE, 8, 12, 1},
			op{bcJMP, 4, 8, -1},
			op{bcJMP, 4, 8, -1})}, // the remote test: nothing, so reject
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compileBytecode(tt.local, tt.remote)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  % x\nwant % x", got, tt.want)
			}
			if !bcAudit(got) {
				t.Error("the kernel's audit would refuse it")
			}
		})
	}
}

// TestBytecodeAgreesWithFilter runs programs of random sets on every port,
// as the kernel would, against PortFilter.Keep.
func TestBytecodeAgreesWithFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomSet := func() *PortSet {
		var s PortSet
		for range rng.IntN(40) {
			lo := uint16(rng.IntN(1 << 16))
			hi := lo + uint16(rng.IntN(min(1<<16-int(lo), 1+rng.IntN(50))))
			s.AddRange(lo, hi)
		}
		return &s
	}
	for i := range 40 {
		local, remote := randomSet(), randomSet()
		if i == 0 {
			local, remote = set(PortRange{0, 65535}), set()
		}
		f := &PortFilter{TCP: Ports{*local, *remote}}
		bc := compileBytecode(local.Ranges(), remote.Ranges())
		if !bcAudit(bc) {
			t.Fatalf("set %d: the kernel's audit would refuse it", i)
		}
		for p := range 1 << 16 {
			port := uint16(p)
			other := uint16(rng.IntN(1 << 16))
			for _, sd := range [][2]uint16{{port, other}, {other, port}} {
				if got, want := bcAccepts(bc, sd[0], sd[1]), f.Keep(sd[0], sd[1], protoTCP); got != want {
					t.Fatalf("set %d (local %v remote %v), ports %d -> %d: bytecode %v, filter %v",
						i, local.Ranges(), remote.Ranges(), sd[0], sd[1], got, want)
				}
			}
		}
	}
}

func TestCompileBytecodeTooLarge(t *testing.T) {
	var s PortSet
	for p := 0; p < 1<<16; p += 2 {
		s.Add(uint16(p))
	}
	if bc := compileBytecode(s.Ranges(), nil); bc != nil {
		t.Errorf("a %d-byte program", len(bc))
	}
}

// liveFilter is a PortFilter over the live sockets' ports with singletons
// and ranges whose ends fall on a socket's port, and ranges that end right
// before or after one, so that the ends of each comparison are crossed.
func liveFilter(live []liveSocket) *PortFilter {
	port := func(name string) uint16 {
		for _, ls := range live {
			if ls.name == name {
				return ls.want.Local.Port()
			}
		}
		return 0
	}
	f := &PortFilter{}
	f.TCP.Local.Add(port("tcp4 listen")) // a singleton
	if p := port("tcp6 listen"); p > 3 {
		f.TCP.Local.AddRange(p-3, p) // ends on the port
	}
	if p := port("tcp6 v4-mapped listen"); p > 10 && p < 65525 {
		f.TCP.Local.AddRange(p-10, p-1) // ends right before
		f.TCP.Local.AddRange(p+1, p+10) // starts right after
	}
	f.TCP.Remote.Add(0)                                                        // every TCP listener, as the table asks
	f.UDP.Local.AddRange(port("udp4 unconnected"), port("udp4 unconnected")+3) // starts on the port
	if p := port("udp6 unconnected"); p > 0 {
		f.UDP.Remote.Add(p) // the connected UDP socket's remote
	}
	return f
}

// TestKernelFilter: a dump filtered by the kernel with the bytecode of a
// PortFilter holds exactly the sockets that an unfiltered dump holds and the
// filter keeps, for TCP and UDP, IPv4 and IPv6. The filtered dumps keep
// everything the kernel sends, so that the kernel alone is tested. As root
// the test runs a second time as nobody, whom the kernel also lets filter.
func TestKernelFilter(t *testing.T) {
	live := liveSockets(t)
	f := liveFilter(live)
	ours := map[uint64]bool{}
	var kept, dropped int
	for _, ls := range live {
		ours[ls.want.Inode] = true
		if f.Keep(ls.want.Local.Port(), ls.want.Remote.Port(), ls.want.Protocol) {
			kept++
		} else {
			dropped++
		}
	}
	if kept == 0 || dropped == 0 {
		t.Fatalf("the filter keeps %d and drops %d of the live sockets: the test would prove nothing", kept, dropped)
	}
	fd, err := openDiag()
	if err != nil {
		t.Skipf("no sock_diag here: %v", err)
	}
	defer unix.Close(fd)
	sc := &scratch{diag: make([]byte, diagBufLen)}
	progs := (&programCache{}).get(f)
	key := func(s Socket) string {
		return strconv.FormatUint(s.Inode, 10) + " " + s.Local.String() + " " + s.Remote.String() + " " + s.State
	}
	// mine is what a dump says of the test's own sockets: other processes'
	// sockets come and go between two dumps.
	mine := func(socks []Socket, keep Filter) []string {
		var out []string
		for _, s := range socks {
			if ours[s.Inode] && keep.Keep(s.Local.Port(), s.Remote.Port(), s.Protocol) {
				out = append(out, key(s))
			}
		}
		slices.Sort(out)
		return out
	}
	check := func(name string, filtered, all []Socket) {
		t.Helper()
		got, want := mine(filtered, KeepAll), mine(all, f)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the kernel kept\n  %v\nthe filter keeps\n  %v", name, got, want)
		}
		if len(filtered) > len(all) {
			t.Errorf("%s: %d sockets filtered, %d in all", name, len(filtered), len(all))
		}
	}
	seq := uint32(1)
	filtered, err := dumpTCP(t.Context(), fd, sc, seq, 0, KeepAll, progs.tcp, nil)
	if err != nil {
		t.Fatalf("filtered TCPDIAG_GETSOCK: %v", err)
	}
	all, err := dumpTCP(t.Context(), fd, sc, seq+1, 0, KeepAll, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("tcp, both families", filtered, all)
	for _, tt := range inetTables {
		seq += 2
		filtered, err := dumpInet(t.Context(), fd, sc, seq, tt, 0, KeepAll, progs.forProto(tt.proto), nil)
		if err != nil {
			t.Fatalf("filtered %s: %v", tt.name, err)
		}
		all, err := dumpInet(t.Context(), fd, sc, seq+1, tt, 0, KeepAll, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(tt.name, filtered, all)
	}

	// The same through Sockets, which hands the filter to the kernel.
	src := NewLinux("")
	viaSource, _ := src.Sockets(t.Context(), f)
	everything, _ := src.Sockets(t.Context(), KeepAll)
	if got, want := mine(viaSource, KeepAll), mine(everything, f); !slices.Equal(got, want) {
		t.Errorf("Sockets: got\n  %v\nwant\n  %v", got, want)
	}

	if os.Geteuid() == 0 && os.Getenv("LP_TEST_UNPRIVILEGED") == "" {
		t.Run("as nobody", runAsNobody)
	}
}

// runAsNobody runs TestKernelFilter again in a copy of the test binary, as
// uid and gid 65534.
func runAsNobody(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(dir); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "sockets.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestKernelFilter$", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LP_TEST_UNPRIVILEGED=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	t.Logf("as nobody:\n%s", out)
}

func TestStatField(t *testing.T) {
	const text = "sockets: used 2017\nTCP: inuse 3 orphan 0 tw 41 alloc 3 mem 325\nUDP: inuse 0 mem 0\n"
	tests := []struct {
		prefix, name string
		want         uint64
		ok           bool
	}{
		{"sockets:", "used", 2017, true},
		{"TCP:", "tw", 41, true},
		{"TCP:", "mem", 325, true},
		{"UDP:", "tw", 0, false},
		{"RAW:", "inuse", 0, false},
	}
	for _, tt := range tests {
		if got, ok := statField([]byte(text), tt.prefix, tt.name); got != tt.want || ok != tt.ok {
			t.Errorf("%s %s: got %d, %v, want %d, %v", tt.prefix, tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if !busy(&scratch{}, filepath.Join(t.TempDir(), "gone")) {
		t.Error("a namespace whose sockstat cannot be read must count as busy")
	}
}
