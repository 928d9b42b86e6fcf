package inventory

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// ssUser is one holder in ss -p's process column:
// users:(("sshd",pid=812,fd=3),("sshd",pid=901,fd=3)). A name may hold an
// escaped quote.
var ssUser = regexp.MustCompile(`\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)`)

// newSS reads `ss -tuan` and `ss -tuanp` (iproute2): Netid State Recv-Q
// Send-Q Local Peer [Process]. With -t or -u alone, ss leaves out the Netid
// column, and then only TCP (whose states it prints) can be told apart from
// UDP by the state UNCONN; header says which layout it is. ss prints a
// Process header even without -p, so owners are known only once a line
// names one.
func newSS(header string) *parser {
	withNetid := header == "" || strings.HasPrefix(strings.TrimSpace(header), "Netid")
	return &parser{format: SS, line: func(inv *Inventory, line string) string {
		n := 5
		if withNetid {
			n = 6
		}
		f, rest := cutFields(line, n)
		if len(f) < n {
			return "too few columns for ss output"
		}
		var proto uint8
		if withNetid {
			var ok bool
			if proto, _, ok = protocol(f[0]); !ok {
				if strings.HasPrefix(f[0], "u_") || f[0] == "raw" || strings.HasPrefix(f[0], "p_") || f[0] == "nl" {
					return "" // unix, raw, packet, netlink sockets: not ours
				}
				return "netid " + strconv.Quote(f[0]) + " is not tcp or udp"
			}
			f = f[1:]
		} else {
			proto = protoTCP
			if f[0] == "UNCONN" {
				proto = protoUDP
			}
		}
		state, ok := tcpState(f[0])
		if !ok {
			return "unknown socket state " + strconv.Quote(f[0])
		}
		// Modern ss prints the IPv4 wildcard as 0.0.0.0 and a dual-stack
		// IPv6 one as *.
		local, err := endpoint(f[3], true)
		if err != nil {
			return err.Error()
		}
		remote, err := endpoint(f[4], local.Addr().Is6())
		if err != nil {
			return err.Error()
		}
		s := newSocket(proto, local, remote, state)
		if rest != "" {
			users := ssUser.FindAllStringSubmatch(rest, -1)
			if len(users) == 0 {
				return "process column " + strconv.Quote(rest) + " is not ss's users:((\"name\",pid=N,fd=N))"
			}
			inv.HasOwners = true
			for _, u := range users {
				pid, err := pidOf(u[2])
				if err != nil {
					return err.Error()
				}
				fd, _ := strconv.ParseInt(u[3], 10, 64)
				s.Owners = append(s.Owners, sockets.Owner{PID: pid, FD: fd})
				inv.nameProcess(pid, sockets.Process{Name: strings.ReplaceAll(u[1], `\"`, `"`)})
			}
		}
		inv.Socks = append(inv.Socks, s)
		return ""
	}}
}
