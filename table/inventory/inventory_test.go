package inventory

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// describe renders what was read, one socket a line, for golden files.
func describe(inv *Inventory) string {
	var b strings.Builder
	fmt.Fprintf(&b, "format: %s, owners: %v\n", inv.Format, inv.HasOwners)
	for _, s := range inv.Socks {
		fmt.Fprintf(&b, "%s af=%d %s -> %s state=%q inode=%d", protoName(s.Protocol), s.Family, s.Local, s.Remote, s.State, s.Inode)
		for _, o := range s.Owners {
			p, _ := inv.Process(context.Background(), o.PID)
			fmt.Fprintf(&b, " [pid=%d fd=%d name=%q path=%q user=%q]", o.PID, o.FD, p.Name, p.Path, p.Username)
		}
		b.WriteByte('\n')
	}
	for _, p := range inv.Problems {
		fmt.Fprintf(&b, "problem line %s\n", p)
	}
	return b.String()
}

// TestParseFixtures reads real output of ss, netstat and lsof taken on a
// Linux host while a process held 611/tcp, 660/tcp and 609/udp on
// loopback (see testdata/README.md), and samples written from the
// documented Windows, macOS and osquery formats.
func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file    string
		format  Format
		sockets int
		facts   []string // lines the description must contain
	}{
		{"ss-tuanp.txt", SS, 34, []string{
			`tcp af=2 127.0.0.1:611 -> 0.0.0.0:0 state="LISTEN" inode=0 [pid=3097 fd=3 name="python3"`,
			`udp af=10 [::1]:609 -> [::]:0 state="" inode=0 [pid=3097 fd=5 name="python3"`,
			`tcp af=10 [::ffff:127.0.0.1]:55777 -> [::ffff:127.0.0.1]:33970 state="TIME_WAIT" inode=0` + "\n",
		}},
		{"ss-tuan.txt", SS, 34, []string{"format: ss, owners: false", `tcp af=2 127.0.0.1:611 -> 127.0.0.1:34200 state="ESTABLISHED" inode=0` + "\n"}},
		{"netstat-tulpn.txt", NetstatLinux, 4, []string{
			`tcp af=2 0.0.0.0:2024 -> 0.0.0.0:0 state="LISTEN" inode=0` + "\n",
			`udp af=10 [::1]:609 -> [::]:0 state="" inode=0 [pid=3097 fd=-1 name="python3"`,
		}},
		{"netstat-tuanp.txt", NetstatLinux, 34, []string{`tcp af=2 127.0.0.1:34200 -> 127.0.0.1:611 state="ESTABLISHED" inode=0 [pid=3097 fd=-1 name="python3"`}},
		{"lsof-nP-i.txt", Lsof, 5, []string{
			`tcp af=2 127.0.0.1:611 -> 0.0.0.0:0 state="LISTEN" inode=98957 [pid=3097 fd=3 name="python3" path="" user="root"]`,
			`udp af=10 [::1]:609 -> [::]:0 state="" inode=98959 [pid=3097 fd=5`,
		}},
		{"windows-netstat-ano.txt", NetstatWindows, 17, []string{
			`tcp af=2 0.0.0.0:445 -> 0.0.0.0:0 state="LISTEN" inode=0 [pid=4 fd=-1 name="System"`,
			`udp af=2 0.0.0.0:5050 -> 0.0.0.0:0 state="" inode=0 [pid=6544 fd=-1 name=""`,
			`tcp af=2 192.168.1.23:50330 -> 13.107.42.14:443 state="TIME_WAIT" inode=0` + "\n", // pid 0: no owner
			`udp af=10 [fe80::8d4c:1a2b:3c4d:5e6f]:1900 -> [::]:0`,
		}},
		{"windows-netstat-anob.txt", NetstatWindows, 6, []string{
			`udp af=2 0.0.0.0:5050 -> 0.0.0.0:0 state="" inode=0 [pid=6544 fd=-1 name="svchost.exe"`,
			`tcp af=2 192.168.1.23:50320 -> 192.0.2.80:5190 state="SYN_SENT" inode=0 [pid=7740 fd=-1 name="aim.exe"`,
			`udp af=2 192.168.1.23:137 -> 0.0.0.0:0 state="" inode=0 [pid=4 fd=-1 name="System"`,
		}},
		{"macos-lsof-nP-i.txt", Lsof, 13, []string{
			`udp af=2 0.0.0.0:137 -> 0.0.0.0:0 state="" inode=0 [pid=612 fd=4 name="netbiosd" path="" user="_netbios"]`,
			`tcp af=2 192.168.1.31:50444 -> 192.0.2.80:5190 state="ESTABLISHED" inode=0 [pid=1377 fd=12 name="Adium"`,
			`udp af=10 [fe80:4::aede:48ff:fe00:1122]:123 -> [::]:0`,
		}},
		{"osqueryi-listening-ports.json", OsqueryJSON, 4, []string{
			`tcp af=2 127.0.0.1:6010 -> 0.0.0.0:0 state="LISTEN" inode=88120 [pid=4410 fd=9 name="sshd-session" path="/usr/lib/openssh/sshd-session"`,
			`udp af=2 0.0.0.0:611 -> 0.0.0.0:0 state="" inode=20117 [pid=701 fd=6 name="rpc.statd"`,
		}},
		{"osqueryd-results.log", OsqueryJSON, 4, []string{
			`tcp af=2 10.1.2.3:50514 -> 198.51.100.7:5190 state="ESTABLISHED" inode=40121 [pid=5120 fd=14 name="pidgin"`,
			`udp af=2 0.0.0.0:611 -> 0.0.0.0:0 state="" inode=20117 [pid=701 fd=6 name="rpc.statd" path="/usr/sbin/rpc.statd"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			inv, err := Parse(f)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Format != tt.format || len(inv.Socks) != tt.sockets || len(inv.Problems) != 0 {
				t.Errorf("got %s with %d sockets and problems %v, want %s with %d sockets and none", inv.Format, len(inv.Socks), inv.Problems, tt.format, tt.sockets)
			}
			got := describe(inv)
			for _, fact := range tt.facts {
				if !strings.Contains(got, fact) {
					t.Errorf("missing %q in:\n%s", fact, got)
				}
			}
			golden := filepath.Join("testdata", tt.file+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("differs from %s (go test -update to accept):\n%s", golden, got)
			}
		})
	}
}

// TestBadLines checks that each unreadable line is reported at its line
// number and every good line is still read.
func TestBadLines(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		sockets int
		lines   []int
	}{
		{"ss", "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
			"tcp LISTEN 0 128 127.0.0.1:611 0.0.0.0:*\n" +
			"tcp LISTEN 0 128 localhost:ssh 0.0.0.0:*\n" + // names resolved
			"tcp BOGUS 0 128 127.0.0.1:22 0.0.0.0:*\n" +
			"tcp LISTEN 0\n" +
			"tcp LISTEN 0 128 [::]:660 [::]:* users:(garbage)\n" +
			"udp UNCONN 0 0 0.0.0.0:609 0.0.0.0:* users:((\"a b\",pid=7,fd=3),(\"c\",pid=8,fd=4))\n",
			2, []int{3, 4, 5, 6}},
		{"netstat", "Active Internet connections (servers and established)\n" +
			"Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name\n" +
			"tcp        0      0 0.0.0.0:611             0.0.0.0:*               LISTEN      12/ghostd\n" +
			"tcp        x      0 0.0.0.0:612             0.0.0.0:*               LISTEN      12/ghostd\n" +
			"tcp        0      0 0.0.0.0:613             0.0.0.0:*               LISTEN      ghostd\n" +
			"tcp6       0      0 2001:db8:aaaa:bbbb:c:5190 :::*                  LISTEN      -\n", // cut to the column's width without -W
			1, []int{4, 5, 6}},
		{"windows", "  Proto  Local Address          Foreign Address        State           PID\r\n" +
			"  TCP    0.0.0.0:1033           0.0.0.0:0              ABHÖREN         880\r\n" +
			"  TCP    0.0.0.0:660            0.0.0.0:0              LISTENING       881\r\n" +
			"  UDP    0.0.0.0:609            *:*                                    x\r\n",
			1, []int{2, 4}},
		{"lsof", "COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n" +
			"lsof: WARNING: can't stat() fuse.portal file system /run/user/1000/doc\n" +
			"ghostd 12 root 3u IPv4 1234 0t0 TCP *:660 (LISTEN)\n" +
			"ghostd 12 root 4u IPv4 1235 0t0 TCP *:npmp-gui (LISTEN)\n",
			1, []int{2, 4}},
		{"osquery log", `{"name":"q","action":"snapshot","snapshot":[{"pid":"1","address":"0.0.0.0","port":"660","protocol":"6","family":"2"}]}` + "\n" +
			"{not json\n" +
			`{"name":"q","action":"added","columns":{"pid":"2","address":"0.0.0.0","port":"661x","protocol":"6"}}` + "\n" +
			`{"name":"q"}` + "\n",
			1, []int{2, 3, 4}},
		{"osqueryi array cut short", "[\n" + `{"pid":"1","address":"0.0.0.0","port":"660","protocol":"6","family":"2"},` + "\n" + `{"pid":"2","address":` + "\n",
			1, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := Parse(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, p := range inv.Problems {
				lines = append(lines, p.Line)
				if p.Why == "" {
					t.Errorf("line %d: no reason", p.Line)
				}
			}
			if len(inv.Socks) != tt.sockets || !slices.Equal(lines, tt.lines) {
				t.Errorf("got %d sockets, problems %v; want %d sockets, problems at lines %v", len(inv.Socks), inv.Problems, tt.sockets, tt.lines)
			}
		})
	}
}

func TestNothingReadable(t *testing.T) {
	for _, in := range []string{"", "\n\n", "hello world\nthis is not a socket list\n", "{not json", "[1, 2"} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

// TestSource checks the sockets.Source side: the filter is applied, and
// process details come from the input only.
func TestSource(t *testing.T) {
	inv, err := Parse(strings.NewReader("  Proto  Local Address  Foreign Address  State  PID\n  TCP    0.0.0.0:660  0.0.0.0:0  LISTENING  880\n  TCP    0.0.0.0:22  0.0.0.0:0  LISTENING  4\n"))
	if err != nil {
		t.Fatal(err)
	}
	var src sockets.Source = inv
	got, err := src.Sockets(t.Context(), sockets.FilterFunc(func(local, _ uint16, _ uint8) bool { return local == 660 }))
	if err != nil || len(got) != 1 || got[0].Local.Port() != 660 {
		t.Errorf("filtered sockets: %v, %v", got, err)
	}
	if p, _ := src.Process(t.Context(), 880); p.Name != "" || p.UID != -1 {
		t.Errorf("a pid without a name in the input: %+v", p)
	}
	if p, _ := src.Process(t.Context(), 4); p.Name != "System" {
		t.Errorf("Windows pid 4: %+v", p)
	}
	if c := src.Capabilities(); c.Attribution != sockets.Full || c.Namespaces {
		t.Errorf("capabilities %+v", c)
	}
}
