package inventory

import (
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// newLsof reads `lsof -nP -i` on macOS and Linux: COMMAND PID USER FD TYPE
// DEVICE SIZE/OFF NODE NAME, where TYPE is IPv4 or IPv6, NODE is TCP or
// UDP, and NAME is local[->remote] followed by the TCP state in
// parentheses (lsof(8), OUTPUT and "NAME"). A socket held by several
// processes, or descriptors, appears once for each; each line is one owner,
// as a live scan gives one row per owner. lsof cuts COMMAND to 9
// characters unless given +c 0.
func newLsof() *parser {
	return &parser{format: Lsof, owners: true, line: func(inv *Inventory, line string) string {
		f := strings.Fields(line)
		// The node (TCP/UDP) is the second-to-last field, or the third
		// from last when a state follows the name.
		n := len(f)
		i := n - 2
		if n > 0 && strings.HasPrefix(f[n-1], "(") {
			i = n - 3
		}
		if n < 6 || i < 4 {
			return "too few columns for lsof output"
		}
		proto, _, ok := protocol(f[i])
		if !ok {
			return "node " + strconv.Quote(f[i]) + " is not TCP or UDP (lsof -i lists only Internet files)"
		}
		typ := f[i-3]
		if typ != "IPv4" && typ != "IPv6" {
			// SIZE/OFF is sometimes blank, which moves TYPE one column left.
			typ = f[i-2]
		}
		if typ != "IPv4" && typ != "IPv6" {
			return "type is not IPv4 or IPv6"
		}
		pid, err := pidOf(f[1])
		if err != nil {
			return err.Error()
		}
		v6 := typ == "IPv6"
		localText, remoteText, connected := strings.Cut(f[i+1], "->")
		local, err := endpoint(localText, v6)
		if err != nil {
			return err.Error()
		}
		remote := netip0(v6)
		if connected {
			if remote, err = endpoint(remoteText, v6); err != nil {
				return err.Error()
			}
		}
		state := ""
		if i == n-3 {
			st, ok := tcpState(strings.Trim(f[n-1], "()"))
			if !ok {
				return "unknown TCP state " + strconv.Quote(f[n-1])
			}
			state = st
		}
		if proto == protoTCP && state == "" {
			return "a TCP socket without its state"
		}
		s := newSocket(proto, local, remote, state)
		fd := int64(-1)
		if d := strings.TrimRight(f[3], "rwuRWU-"); d != "" {
			if n, err := strconv.ParseInt(d, 10, 64); err == nil {
				fd = n
			}
		}
		// On Linux DEVICE is the socket's inode, as a live scan reports it.
		if ino, err := strconv.ParseUint(f[i-2], 10, 64); err == nil && typ == f[i-3] {
			s.Inode = ino
		}
		s.Owners = []sockets.Owner{{PID: pid, FD: fd}}
		inv.nameProcess(pid, sockets.Process{Name: f[0], Username: f[2]})
		inv.Socks = append(inv.Socks, s)
		return ""
	}}
}
