package sockets

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var keepAll = KeepAll

func TestDecodeAddress(t *testing.T) {
	tests := []struct {
		name      string
		hex       string
		family    uint8
		bigEndian bool
		want      string // "" when decoding must fail
	}{
		{"v4 little-endian", "0100007F", AFInet, false, "127.0.0.1"},
		{"v4 big-endian", "7F000001", AFInet, true, "127.0.0.1"},
		{"v4 lower-case", "0a01a8c0", AFInet, false, "192.168.1.10"},
		{"v4 any", "00000000", AFInet, false, "0.0.0.0"},
		{"v6 loopback little-endian", "00000000000000000000000001000000", AFInet6, false, "::1"},
		{"v6 loopback big-endian", "00000000000000000000000000000001", AFInet6, true, "::1"},
		{"v6 little-endian", "B80D0120000000000000000001000000", AFInet6, false, "2001:db8::1"},
		{"v6 big-endian", "20010DB8000000000000000000000001", AFInet6, true, "2001:db8::1"},
		{"v4-mapped stays v6, little-endian", "0000000000000000FFFF00000100007F", AFInet6, false, "::ffff:127.0.0.1"},
		{"v4-mapped stays v6, big-endian", "00000000000000000000FFFF7F000001", AFInet6, true, "::ffff:127.0.0.1"},
		{"v6 any", "00000000000000000000000000000000", AFInet6, false, "::"},
		{"v4 too short", "0100007", AFInet, false, ""},
		{"v4 digits for v6", "0100007F", AFInet6, false, ""},
		{"not hex", "0100007G", AFInet, false, ""},
		{"sign", "+100007F", AFInet, false, ""},
		{"empty", "", AFInet, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeAddr([]byte(tt.hex), tt.family, tt.bigEndian)
			if tt.want == "" {
				if ok {
					t.Fatalf("decodeAddr(%q) = %v, want failure", tt.hex, got)
				}
				return
			}
			if !ok || got != netip.MustParseAddr(tt.want) {
				t.Fatalf("decodeAddr(%q) = %v, %v; want %s", tt.hex, got, ok, tt.want)
			}
		})
	}
}

func TestStateName(t *testing.T) {
	tests := []struct {
		proto, state uint8
		want         string
	}{
		{protoTCP, 1, "ESTABLISHED"},
		{protoTCP, 6, "TIME_WAIT"},
		{protoTCP, 7, "CLOSED"},
		{protoTCP, 10, "LISTEN"},
		{protoTCP, 11, "CLOSING"},
		{protoTCP, 12, "SYN_RECV"},
		{protoTCP, 0, "UNKNOWN"},
		{protoTCP, 13, "UNKNOWN"},
		{protoTCP, 255, "UNKNOWN"},
		{protoUDP, 1, ""},
		{protoUDP, 7, ""},
	}
	for _, tt := range tests {
		if got := stateName(tt.proto, tt.state); got != tt.want {
			t.Errorf("stateName(%d, %d) = %q, want %q", tt.proto, tt.state, got, tt.want)
		}
	}
}

// sock builds an expected socket from its text form.
func sock(family, proto uint8, local, remote, state string, uid int64, inode, netns uint64) Socket {
	return Socket{
		Family:   family,
		Protocol: proto,
		Local:    netip.MustParseAddrPort(local),
		Remote:   netip.MustParseAddrPort(remote),
		State:    state,
		UID:      uid,
		Inode:    inode,
		NetNS:    netns,
	}
}

// Sockets of the fixtures in testdata/procnet, which the live loopback
// sockets of a test run were turned into (ports and uids edited).
var (
	fixtureTCP = []Socket{
		sock(AFInet, protoTCP, "127.0.0.1:609", "0.0.0.0:0", "LISTEN", 0, 21594, 7),
		sock(AFInet, protoTCP, "127.0.0.1:609", "127.0.0.1:35020", "ESTABLISHED", 1000, 21596, 7),
		sock(AFInet, protoTCP, "192.0.2.2:42818", "203.0.113.80:443", "TIME_WAIT", 0, 0, 7),
		sock(AFInet, protoTCP, "0.0.0.0:2024", "0.0.0.0:0", "LISTEN", 0, 576, 7),
	}
	fixtureTCP6 = []Socket{
		sock(AFInet6, protoTCP, "[::1]:44579", "[::]:0", "LISTEN", 0, 21597, 7),
		sock(AFInet6, protoTCP, "[::ffff:127.0.0.1]:58587", "[::]:0", "LISTEN", 0, 21600, 7),
		sock(AFInet6, protoTCP, "[::ffff:127.0.0.1]:58587", "[::ffff:127.0.0.1]:56538", "ESTABLISHED", 1000, 21602, 7),
		sock(AFInet6, protoTCP, "[2001:db8::1]:610", "[2001:db8::2]:50000", "CLOSE_WAIT", 0, 21610, 7),
	}
	fixtureUDP = []Socket{
		sock(AFInet, protoUDP, "127.0.0.1:34701", "127.0.0.1:41363", "", 0, 21604, 7),
		sock(AFInet, protoUDP, "127.0.0.1:41363", "0.0.0.0:0", "", 998, 21603, 7),
	}
	fixtureUDP6 = []Socket{
		sock(AFInet6, protoUDP, "[::1]:34778", "[::]:0", "", 0, 21605, 7),
		sock(AFInet6, protoUDP, "[::]:36708", "[::]:0", "", 0, 21607, 7),
		sock(AFInet6, protoUDP, "[::1]:45797", "[::1]:34778", "", 0, 21606, 7),
	}
)

func TestReadProcNet(t *testing.T) {
	tests := []struct {
		file      string
		table     inetTable
		bigEndian bool
		want      []Socket
	}{
		{"tcp", inetTables[0], false, fixtureTCP},
		{"tcp_be", inetTables[0], true, fixtureTCP},
		{"tcp6", inetTables[1], false, fixtureTCP6},
		{"tcp6_be", inetTables[1], true, fixtureTCP6},
		{"udp", inetTables[2], false, fixtureUDP},
		{"udp6", inetTables[3], false, fixtureUDP6},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := readProcNet(filepath.Join("testdata", "procnet", tt.file), tt.table, tt.bigEndian, 7, keepAll, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestReadProcNetKeep(t *testing.T) {
	type call struct {
		local, remote uint16
		proto         uint8
	}
	var calls []call
	keep := FilterFunc(func(local, remote uint16, proto uint8) bool {
		calls = append(calls, call{local, remote, proto})
		return local == 609
	})
	prior := []Socket{fixtureUDP[0]}
	got, err := readProcNet(filepath.Join("testdata", "procnet", "tcp"), inetTables[0], false, 7, keep, prior)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]Socket{fixtureUDP[0]}, fixtureTCP[:2]...); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	wantCalls := []call{{609, 0, protoTCP}, {609, 35020, protoTCP}, {42818, 443, protoTCP}, {2024, 0, protoTCP}}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("keep calls %v, want %v", calls, wantCalls)
	}
}

func TestParseProcNetMalformed(t *testing.T) {
	const (
		header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
		good   = "   0: 0100007F:0261 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21594 1 0 100 0 0 10 0\n"
	)
	tests := []struct {
		name    string
		text    string
		want    int    // sockets still read
		wantErr string // "" for none
	}{
		{"empty", "", 0, ""},
		{"header only", header, 0, ""},
		{"no final newline", header + strings.TrimSuffix(good, "\n"), 1, ""},
		{"blank lines", header + "\n" + good + "  \n", 1, ""},
		{"short line", header + "   0: 0100007F:0261 00000000:0000 0A\n" + good, 1, "line 2"},
		{"no port", header + strings.Replace(good, "0100007F:0261", "0100007F", 1) + good, 1, "line 2"},
		{"port too big", header + strings.Replace(good, ":0261", ":10261", 1), 0, "line 2"},
		{"bad address", header + good + strings.Replace(good, "0100007F", "0100007", 1), 1, "line 3"},
		{"bad state", header + strings.Replace(good, " 0A ", " 0x ", 1), 0, "line 2"},
		{"state too big", header + strings.Replace(good, " 0A ", " 100 ", 1), 0, "line 2"},
		{"bad uid", header + strings.Replace(good, "     0        0 ", "    -1        0 ", 1), 0, "line 2"},
		{"bad inode", header + strings.Replace(good, " 21594 ", " 2159x ", 1), 0, "line 2"},
		{"first error reported", header + "x\n" + good + "y\n", 1, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcNet(strings.NewReader(tt.text), inetTables[0], false, 0, keepAll, nil)
			if len(got) != tt.want {
				t.Errorf("got %d sockets, want %d", len(got), tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadProcNetMissing(t *testing.T) {
	_, err := readProcNet(filepath.Join(t.TempDir(), "tcp"), inetTables[0], false, 0, keepAll, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}

func TestParseUint(t *testing.T) {
	tests := []struct {
		in   string
		base uint64
		want uint64
		ok   bool
	}{
		{"0", 10, 0, true},
		{"4026531840", 10, 4026531840, true},
		{"18446744073709551615", 10, 1<<64 - 1, true},
		{"18446744073709551616", 10, 0, false},
		{"FFFFFFFFFFFFFFFF", 16, 1<<64 - 1, true},
		{"10000000000000000", 16, 0, false},
		{"aB", 16, 0xab, true},
		{"ab", 10, 0, false},
		{"", 10, 0, false},
		{"-1", 10, 0, false},
		{"1 ", 10, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseUint([]byte(tt.in), tt.base)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseUint(%q, %d) = %d, %v; want %d, %v", tt.in, tt.base, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseBracketed(t *testing.T) {
	tests := []struct {
		in, prefix string
		want       uint64
		ok         bool
	}{
		{"socket:[12345]", "socket:[", 12345, true},
		{"net:[4026531840]", "net:[", 4026531840, true},
		{"socket:[]", "socket:[", 0, false},
		{"socket:[12345", "socket:[", 0, false},
		{"socket:[1x]", "socket:[", 0, false},
		{"pipe:[12345]", "socket:[", 0, false},
		{"/dev/null", "socket:[", 0, false},
		{"", "net:[", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseBracketed([]byte(tt.in), tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseBracketed(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
