package registry

import (
	"slices"
	"strings"
)

// PortRange is an inclusive range of ports; Low == High for one port.
type PortRange struct{ Low, High uint16 }

// ExpectedOwner is a well-known, legitimate user of a registry port: a
// process that holds the port for a living protocol (or by chance), so that
// the registered dead service is not what runs there. Every condition given
// must hold; a rule with no process must be narrowed by another condition.
type ExpectedOwner struct {
	ID         string
	Ports      []PortRange
	Transports []uint8
	// Directions the rule covers; empty means the local side only (listen
	// and inbound), since a process name says nothing of a remote peer.
	Directions []string
	// Processes are process names, matched against the name and the base
	// name of the executable; names ending in .exe (Windows) are matched
	// without regard to case. Empty means any process.
	Processes []string
	// Paths, when given and the executable's path is known, must contain
	// it: a name alone is easy to borrow. Windows paths are compared without
	// regard to case or drive letter.
	Paths []string
	// PID, when not 0, is the only pid the process may have.
	PID int32
	// Loopback asks for a loopback local address (for outbound, the remote
	// one): the use is harmless only when nothing off the host can reach it.
	Loopback bool
	// RPCMapped matches when rpcbind maps the port to an RPC program.
	RPCMapped bool
	Verdict   Verdict
	// Reason says, for the user, who the owner is and why this is expected.
	Reason string
	Source string // where the behaviour is documented
}

// ports renders the rule's ports for people: "2101, 2103, 6010-6063".
func (x *ExpectedOwner) ports() string {
	parts := make([]string, len(x.Ports))
	for i, r := range x.Ports {
		e := Entry{PortLow: r.Low, PortHigh: r.High}
		parts[i] = e.Ports()
	}
	return strings.Join(parts, ", ")
}

func (x *ExpectedOwner) coversPort(port uint16) bool {
	return slices.ContainsFunc(x.Ports, func(r PortRange) bool { return port >= r.Low && port <= r.High })
}

func (x *ExpectedOwner) matches(o Observation) bool {
	directions := x.Directions
	if len(directions) == 0 {
		directions = []string{Listen, Inbound}
	}
	if !x.coversPort(o.Port) || !slices.Contains(x.Transports, o.Proto) || !slices.Contains(directions, o.Direction) {
		return false
	}
	if x.PID != 0 && o.PID != x.PID {
		return false
	}
	if x.Loopback && !o.portAddr().Unmap().IsLoopback() {
		return false
	}
	if x.RPCMapped {
		return len(o.RPCPrograms) > 0
	}
	if len(x.Processes) > 0 && !x.namesProcess(o.ProcessName, o.ProcessPath) {
		return false
	}
	return len(x.Paths) == 0 || o.ProcessPath == "" || slices.ContainsFunc(x.Paths, func(p string) bool { return samePath(p, o.ProcessPath) })
}

func (x *ExpectedOwner) namesProcess(name, exe string) bool {
	return slices.ContainsFunc(x.Processes, func(p string) bool {
		return sameName(p, name) || (exe != "" && sameName(p, BaseName(exe)))
	})
}

// sameName compares process names; Windows executable names ignore case.
func sameName(want, got string) bool {
	if hasSuffixFold(want, ".exe") {
		return strings.EqualFold(want, got)
	}
	return want == got
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// samePath compares executable paths; a Windows path (one with a backslash)
// ignores case and the drive letter, since %SystemRoot% may be on any drive.
func samePath(want, got string) bool {
	if !strings.Contains(want, `\`) {
		return want == got
	}
	return strings.EqualFold(dropDrive(want), dropDrive(got))
}

func dropDrive(p string) string {
	if len(p) >= 2 && p[1] == ':' {
		return p[2:]
	}
	return p
}

// expectedOwner returns the first rule of the table that matches.
func expectedOwner(o Observation) (*ExpectedOwner, bool) {
	for i := range expectedOwners {
		if expectedOwners[i].matches(o) {
			return &expectedOwners[i], true
		}
	}
	return nil, false
}

// bindresvport() hands out privileged ports from 600 to 1023, so RPC daemons
// land on registered ports in this range by chance.
var rpcRange = []PortRange{{600, 1023}}

var both = []uint8{TCP, UDP}

// Microsoft's list of the ports Windows services use, by service and
// executable.
const windowsPorts = "https://learn.microsoft.com/en-us/troubleshoot/windows-server/networking/service-overview-and-network-port-requirements"

// expectedOwners is the built-in table of legitimate owners, checked after
// the admin's allow rules and before the entry's own verdict. The README's
// table is generated from it (go test ./registry -run README -update).
var expectedOwners = []ExpectedOwner{
	{
		ID: "sun-rpc-daemon", Ports: rpcRange, Transports: both,
		Processes: []string{
			"rpcbind", "portmap", "rpc.portmap",
			"rpc.statd", "statd", "rpc.lockd", "lockd",
			"rpc.mountd", "mountd", "rpc.nfsd", "nfsd",
			"rpc.rquotad", "rquotad", "rpc.idmapd", "rpc.gssd", "rpc.svcgssd",
			"ypbind", "ypserv", "rpc.ypxfrd", "ypxfrd",
			"rpc.yppasswdd", "yppasswdd", "rpc.ypupdated",
			"rpc.bootparamd", "rpc.rstatd", "rpc.rusersd", "rpc.sprayd", "rpc.walld",
			"amd", "automount", "automountd",
		},
		Verdict: RPCDynamic,
		Reason:  "a Sun RPC daemon; these take a random port in 600-1023 (bindresvport), so the registered name on the port is a coincidence",
		Source:  "bindresvport(3), https://man7.org/linux/man-pages/man3/bindresvport.3.html",
	},
	{
		ID: "rpcbind-mapped", Ports: rpcRange, Transports: both, RPCMapped: true,
		Verdict: RPCDynamic,
		Reason:  "rpcbind maps the port to an RPC program, which took it at random (bindresvport; kernel lockd and nfsd have no process), so the registered name is a coincidence",
		Source:  "rpcbind(8) and bindresvport(3), https://man7.org/linux/man-pages/man3/bindresvport.3.html",
	},
	{
		ID: "sshd-x11-forwarding", Ports: []PortRange{{6010, 6063}}, Transports: []uint8{TCP},
		Processes: []string{"sshd", "sshd-session"},
		Paths: []string{
			"/usr/sbin/sshd", "/usr/bin/sshd",
			"/usr/lib/openssh/sshd-session", "/usr/libexec/sshd-session",
			"/usr/libexec/openssh/sshd-session", "/usr/lib/ssh/sshd-session",
		},
		Loopback: true, Verdict: Expected,
		Reason: "OpenSSH's X11 forwarding for an ssh -X session: sshd listens on loopback display 10 and up (X11DisplayOffset 10, X11UseLocalhost yes); the X protocol stays inside the encrypted session",
		Source: "sshd_config(5) X11DisplayOffset, X11UseLocalhost, https://man.openbsd.org/sshd_config",
	},
	{
		ID: "x11-forwarded-client", Ports: []PortRange{{6010, 6063}}, Transports: []uint8{TCP},
		Directions: []string{Outbound}, Loopback: true, Verdict: Expected,
		Reason: "an X client of an ssh -X session talks to sshd's forwarded display on loopback (DISPLAY=localhost:10 and up); the listener's own row says who serves it",
		Source: "sshd_config(5) X11DisplayOffset, https://man.openbsd.org/sshd_config",
	},
	{
		ID: "windows-netbios", Ports: []PortRange{{137, 139}}, Transports: both,
		Processes: []string{"System"}, PID: 4, Verdict: Insecure,
		Reason: "the Windows kernel's own NetBIOS over TCP/IP (System, pid 4), on by default; turn NetBIOS off on the adapters if nothing needs it",
		Source: windowsPorts,
	},
	{
		ID: "samba-netbios", Ports: []PortRange{{137, 139}}, Transports: both,
		Processes: []string{"nmbd", "smbd"}, Verdict: Insecure,
		Reason: "Samba's NetBIOS name and session services (nmbd, smbd); set 'disable netbios = yes' and 'smb ports = 445' if no old client needs them",
		Source: "nmbd(8) and smb.conf(5), https://www.samba.org/samba/docs/current/man-html/nmbd.8.html",
	},
	{
		ID: "macos-netbiosd", Ports: []PortRange{{137, 138}}, Transports: []uint8{UDP},
		Processes: []string{"netbiosd"}, Paths: []string{"/usr/sbin/netbiosd"}, Verdict: Insecure,
		Reason: "macOS's own NetBIOS daemon (netbiosd), which registers the Mac's name and browses Windows workgroups for SMB",
		Source: "netbiosd(8), https://manp.gs/mac/8/netbiosd",
	},
	{
		ID: "windows-wins", Ports: []PortRange{{42, 42}, {1512, 1512}}, Transports: both,
		Processes: []string{"wins.exe"}, Paths: []string{`C:\Windows\System32\wins.exe`}, Verdict: Insecure,
		Reason: "the Windows WINS server (replication on 42/tcp, name resolution on 1512), not the IEN 116 name server registered on 42; WINS is deprecated, move its names to DNS",
		Source: windowsPorts,
	},
	{
		ID: "windows-msmq", Ports: []PortRange{{2101, 2101}, {2103, 2103}, {2105, 2105}, {2112, 2112}, {2114, 2114}, {2116, 2116}},
		Transports: []uint8{TCP},
		Processes:  []string{"mqsvc.exe"}, Paths: []string{`C:\Windows\System32\mqsvc.exe`}, Verdict: Expected,
		Reason: "Microsoft Message Queuing (mqsvc.exe) listens on these fixed RPC ports (2101, 2103, 2105, or each plus 11 when taken), not the registered service",
		Source: "Microsoft KB 178517, TCP ports, UDP ports, and RPC ports that are used by Message Queuing; " + windowsPorts,
	},
}
