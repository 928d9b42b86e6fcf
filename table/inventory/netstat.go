package inventory

import (
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// newNetstatLinux reads net-tools' `netstat -tuan` and `-tulpn`, with or
// without -p (and -e, which adds User and Inode): Proto Recv-Q Send-Q Local
// Foreign [State] [User Inode] [PID/Program name]. UDP lines leave State
// empty unless the socket is connected.
func newNetstatLinux(header string) *parser {
	withUser := strings.Contains(header, "User") && strings.Contains(header, "Inode")
	withPID := header == "" || strings.Contains(header, "PID/Program")
	return &parser{format: NetstatLinux, owners: strings.Contains(header, "PID/Program"), line: func(inv *Inventory, line string) string {
		f, rest := cutFields(line, 5)
		if len(f) < 5 {
			return "too few columns for netstat output"
		}
		proto, v6, ok := protocol(f[0])
		if !ok {
			if f[0] == "raw" || f[0] == "raw6" || f[0] == "unix" {
				return ""
			}
			return "protocol " + strconv.Quote(f[0]) + " is not tcp or udp"
		}
		if !isCount(f[1]) || !isCount(f[2]) {
			return "Recv-Q and Send-Q must be numbers"
		}
		local, err := endpoint(f[3], v6)
		if err != nil {
			return err.Error()
		}
		remote, err := endpoint(f[4], v6)
		if err != nil {
			return err.Error()
		}
		more := strings.Fields(rest)
		state := ""
		if len(more) > 0 {
			if st, ok := tcpState(more[0]); ok {
				state, more = st, more[1:]
			} else if proto == protoTCP {
				return "unknown TCP state " + strconv.Quote(more[0])
			}
		}
		s := newSocket(proto, local, remote, state)
		var user string
		if withUser {
			if len(more) < 2 {
				return "the User and Inode columns are missing"
			}
			user = more[0]
			if ino, err := strconv.ParseUint(more[1], 10, 64); err == nil {
				s.Inode = ino
			}
			more = more[2:]
		}
		if withPID && len(more) > 0 {
			prog := strings.Join(more, " ")
			if prog != "-" {
				pidText, name, found := strings.Cut(prog, "/")
				pid, err := pidOf(pidText)
				if !found || err != nil {
					return "PID/Program name " + strconv.Quote(prog) + " is not PID/NAME"
				}
				inv.HasOwners = true
				s.Owners = []sockets.Owner{{PID: pid, FD: -1}}
				inv.nameProcess(pid, sockets.Process{Name: name, Username: user})
			}
		} else if len(more) > 0 {
			return "unexpected columns " + strconv.Quote(strings.Join(more, " "))
		}
		inv.Socks = append(inv.Socks, s)
		return ""
	}}
}

func isCount(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// Windows gives its kernel the pid 4 and calls it System, on every version
// since Windows XP; netstat -ano prints pids only, and the expected owners
// of 137-139 need the name.
const (
	windowsSystemPID  = 4
	windowsSystemName = "System"
)

// newNetstatWindows reads Windows' `netstat -ano` (Proto, Local Address,
// Foreign Address, State, PID; UDP has no state) and `netstat -anob`, which
// follows each socket with its service ("  RpcSs") and executable
// ("[svchost.exe]") on lines of their own. Pid 0 owns TIME_WAIT sockets
// that no process holds any more. The column layout is Microsoft's
// (https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/netstat).
func newNetstatWindows(header string) *parser {
	last := -1 // the socket that -b's lines describe
	return &parser{format: NetstatWindows, owners: header == "" || strings.HasSuffix(strings.TrimSpace(header), "PID"), line: func(inv *Inventory, line string) string {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			if last < 0 || len(inv.Socks[last].Owners) == 0 {
				return "executable name " + strconv.Quote(t) + " follows no socket with a pid"
			}
			pid := inv.Socks[last].Owners[0].PID
			inv.nameProcess(pid, sockets.Process{Name: strings.Trim(t, "[]")})
			return ""
		}
		f := strings.Fields(t)
		proto, _, ok := protocol(f[0])
		if !ok || f[0] != strings.ToUpper(f[0]) {
			if last >= 0 && (len(f) == 1 || strings.HasPrefix(t, "Can not obtain") || strings.HasPrefix(t, "Cannot obtain")) {
				return "" // netstat -b: the service name, or no ownership information
			}
			if isTitle(t) {
				return ""
			}
			return "not a netstat -ano line (Proto Local Foreign [State] PID)"
		}
		want := 5
		if proto == protoUDP {
			want = 4
		}
		if len(f) != want {
			return "netstat -ano gives " + strconv.Itoa(want) + " columns for " + f[0] + ", this line has " + strconv.Itoa(len(f))
		}
		local, err := endpoint(f[1], false)
		if err != nil {
			return err.Error()
		}
		remote, err := endpoint(f[2], local.Addr().Is6())
		if err != nil {
			return err.Error()
		}
		state := ""
		if proto == protoTCP {
			if state, ok = tcpState(f[3]); !ok {
				return "unknown TCP state " + strconv.Quote(f[3]) + " (netstat from a localized Windows?)"
			}
		}
		pid, err := pidOf(f[len(f)-1])
		if err != nil {
			return err.Error()
		}
		s := newSocket(proto, local, remote, state)
		if pid != 0 {
			s.Owners = []sockets.Owner{{PID: pid, FD: -1}}
			if pid == windowsSystemPID {
				inv.nameProcess(pid, sockets.Process{Name: windowsSystemName})
			}
		}
		inv.Socks = append(inv.Socks, s)
		last = len(inv.Socks) - 1
		return ""
	}}
}
