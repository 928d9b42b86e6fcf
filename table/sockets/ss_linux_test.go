package sockets

import (
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ssRow is what `ss -tuanpe` says of one socket.
type ssRow struct {
	netid, state  string
	local, remote string
	owners        []Owner
}

var ssUser = regexp.MustCompile(`pid=(\d+),fd=(\d+)`)

// parseSS indexes `ss -tuanpe` output by socket inode:
//
//	Netid State Recv-Q Send-Q Local:Port Peer:Port [users:(("x",pid=1,fd=3),...)] ino:N ...
func parseSS(t *testing.T, out string) map[uint64]ssRow {
	t.Helper()
	rows := make(map[uint64]ssRow)
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		r := ssRow{netid: f[0], state: f[1], local: f[4], remote: f[5]}
		var ino uint64
		for _, x := range f[6:] {
			if v, ok := strings.CutPrefix(x, "ino:"); ok {
				ino, _ = strconv.ParseUint(v, 10, 64)
			}
			for _, m := range ssUser.FindAllStringSubmatch(x, -1) {
				pid, _ := strconv.ParseInt(m[1], 10, 32)
				fd, _ := strconv.ParseInt(m[2], 10, 64)
				r.owners = append(r.owners, Owner{int32(pid), fd})
			}
		}
		if ino != 0 {
			rows[ino] = r
		}
	}
	return rows
}

// ssAddr is how ss prints an address: 127.0.0.1:80, [::1]:80, and for an
// unspecified remote 0.0.0.0:*, [::]:*, or *:* on a dual-stack socket.
func ssAddr(ap netip.AddrPort, dualStack bool) string {
	port := strconv.Itoa(int(ap.Port()))
	if ap.Port() == 0 {
		port = "*"
	}
	host := ap.Addr().String()
	switch {
	case dualStack && ap.Addr().IsUnspecified():
		host = "*"
	case ap.Addr().Is6():
		host = "[" + host + "]"
	}
	return host + ":" + port
}

// ssState is ss's name for a socket's state.
func ssState(s Socket) string {
	if s.Protocol == protoUDP {
		if s.Remote.Port() == 0 {
			return "UNCONN"
		}
		return "ESTAB"
	}
	return map[string]string{"ESTABLISHED": "ESTAB", "LISTEN": "LISTEN"}[s.State]
}

// TestAgainstSS compares what the source says of the test's sockets, owners
// included, with what ss (iproute2) says of them.
func TestAgainstSS(t *testing.T) {
	ss, err := exec.LookPath("ss")
	if err != nil {
		t.Skip("ss is not installed")
	}
	live := liveSockets(t)
	src := NewLinux("")
	got, err := src.Sockets(t.Context(), keepPorts(live))
	if err != nil {
		t.Logf("Sockets: %v", err)
	}
	mine := make(map[uint64]liveSocket)
	inodes := make(map[uint64]struct{})
	for _, ls := range live {
		mine[ls.want.Inode] = ls
		inodes[ls.want.Inode] = struct{}{}
	}
	owners, err := src.Owners(t.Context(), inodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), ss, "-tuanpe").Output()
	if err != nil {
		t.Fatal(err)
	}
	rows := parseSS(t, string(out))
	found := 0
	for _, s := range got {
		ls, ok := mine[s.Inode]
		if !ok {
			continue
		}
		found++
		r, ok := rows[s.Inode]
		if !ok {
			t.Errorf("%s: inode %d not in ss output", ls.name, s.Inode)
			continue
		}
		netid := map[uint8]string{protoTCP: "tcp", protoUDP: "udp"}[s.Protocol]
		// The v4-mapped listener is the one dual-stack socket here.
		dual := s.Family == AFInet6 && s.Local.Addr().Is4In6()
		want := ssRow{netid, ssState(s), ssAddr(s.Local, false), ssAddr(s.Remote, dual), owners[s.Inode]}
		if r.netid != want.netid || r.state != want.state || r.local != want.local || r.remote != want.remote {
			t.Errorf("%s: ss says %s %s %s %s, we say %s %s %s %s", ls.name,
				r.netid, r.state, r.local, r.remote, want.netid, want.state, want.local, want.remote)
		}
		if len(r.owners) != 1 || len(want.owners) != 1 || r.owners[0] != want.owners[0] ||
			r.owners[0] != (Owner{int32(os.Getpid()), int64(ls.fd)}) {
			t.Errorf("%s: ss says owners %v, we say %v", ls.name, r.owners, want.owners)
		}
	}
	if found != len(live) {
		t.Errorf("found %d of our %d sockets", found, len(live))
	}
}
