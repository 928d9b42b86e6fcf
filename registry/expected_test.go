package registry

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var (
	loop4  = netip.MustParseAddr("127.0.0.1")
	loop6  = netip.MustParseAddr("::1")
	mapped = netip.MustParseAddr("::ffff:127.0.0.1")
	any4   = netip.MustParseAddr("0.0.0.0")
	lan    = netip.MustParseAddr("192.0.2.10")
)

// TestExpectedOwners checks each rule of the table and its near misses
// against the built-in registry: the verdict, and the rule named (or not)
// in the reason.
func TestExpectedOwners(t *testing.T) {
	r := builtin(t)
	tests := []struct {
		name string
		o    Observation
		want Verdict
		rule string // the rule the reason must name; "" when none may match
	}{
		{"rpc daemon", Observation{Port: 611, Proto: UDP, Direction: Listen, PID: 700, ProcessName: "rpc.statd"}, RPCDynamic, "sun-rpc-daemon"},
		{"rpc daemon by path", Observation{Port: 611, Proto: UDP, Direction: Listen, ProcessName: "statd-wrapper", ProcessPath: "/sbin/rpc.statd"}, RPCDynamic, "sun-rpc-daemon"},
		{"rpc daemon connecting out", Observation{Port: 611, Proto: UDP, Direction: Outbound, ProcessName: "rpc.statd"}, Ghost, ""},
		{"rpc daemon below 600", Observation{Port: 23, Proto: TCP, Direction: Listen, ProcessName: "rpcbind"}, Insecure, ""},
		{"kernel lockd mapped by rpcbind", Observation{Port: 611, Proto: UDP, Direction: Listen, PID: -1, RPCPrograms: []string{"nlockmgr"}}, RPCDynamic, "rpcbind-mapped"},
		{"rpcbind mapping below 600", Observation{Port: 23, Proto: TCP, Direction: Listen, RPCPrograms: []string{"nlockmgr"}}, Insecure, ""},

		{"sshd x11 forwarding", Observation{Port: 6010, Proto: TCP, Direction: Listen, LocalAddr: loop4, PID: 900, ProcessName: "sshd", ProcessPath: "/usr/sbin/sshd"}, Expected, "sshd-x11-forwarding"},
		{"sshd-session on ::1", Observation{Port: 6011, Proto: TCP, Direction: Listen, LocalAddr: loop6, ProcessName: "sshd-session", ProcessPath: "/usr/lib/openssh/sshd-session"}, Expected, "sshd-x11-forwarding"},
		{"sshd on a mapped loopback, path unknown", Observation{Port: 6012, Proto: TCP, Direction: Inbound, LocalAddr: mapped, ProcessName: "sshd"}, Expected, "sshd-x11-forwarding"},
		{"sshd x11 on the wildcard (X11UseLocalhost no)", Observation{Port: 6010, Proto: TCP, Direction: Listen, LocalAddr: any4, ProcessName: "sshd", ProcessPath: "/usr/sbin/sshd"}, Insecure, ""},
		{"sshd x11 on a LAN address", Observation{Port: 6010, Proto: TCP, Direction: Listen, LocalAddr: lan, ProcessName: "sshd"}, Insecure, ""},
		{"sshd x11, address unknown", Observation{Port: 6010, Proto: TCP, Direction: Listen, ProcessName: "sshd"}, Insecure, ""},
		{"a binary named sshd in /tmp", Observation{Port: 6010, Proto: TCP, Direction: Listen, LocalAddr: loop4, ProcessName: "sshd", ProcessPath: "/tmp/sshd"}, Insecure, ""},
		{"sshd on display 0", Observation{Port: 6000, Proto: TCP, Direction: Listen, LocalAddr: loop4, ProcessName: "sshd"}, Insecure, ""},
		{"sshd on 6010/udp", Observation{Port: 6010, Proto: UDP, Direction: Listen, LocalAddr: loop4, ProcessName: "sshd"}, Insecure, ""},
		{"Xorg on loopback 6010", Observation{Port: 6010, Proto: TCP, Direction: Listen, LocalAddr: loop4, ProcessName: "Xorg"}, Insecure, ""},
		{"X client of a forwarded display", Observation{Port: 6010, Proto: TCP, Direction: Outbound, LocalAddr: loop4, RemoteAddr: loop4, ProcessName: "xterm"}, Expected, "x11-forwarded-client"},
		{"X client of a remote display", Observation{Port: 6010, Proto: TCP, Direction: Outbound, LocalAddr: lan, RemoteAddr: netip.MustParseAddr("192.0.2.99"), ProcessName: "xterm"}, Insecure, ""},

		{"Windows NetBIOS session", Observation{Port: 139, Proto: TCP, Direction: Listen, LocalAddr: lan, PID: 4, ProcessName: "System"}, Insecure, "windows-netbios"},
		{"Windows NetBIOS name, no name known", Observation{Port: 137, Proto: UDP, Direction: Listen, PID: 4}, Insecure, ""},
		{"a process named System, not pid 4", Observation{Port: 139, Proto: TCP, Direction: Listen, PID: 4242, ProcessName: "System"}, Insecure, ""},
		{"pid 4 with another name", Observation{Port: 139, Proto: TCP, Direction: Listen, PID: 4, ProcessName: "evil.exe"}, Insecure, ""},
		{"Samba nmbd", Observation{Port: 137, Proto: UDP, Direction: Listen, ProcessName: "nmbd", ProcessPath: "/usr/sbin/nmbd"}, Insecure, "samba-netbios"},
		{"macOS netbiosd", Observation{Port: 138, Proto: UDP, Direction: Listen, ProcessName: "netbiosd", ProcessPath: "/usr/sbin/netbiosd"}, Insecure, "macos-netbiosd"},
		{"netbiosd from a home directory", Observation{Port: 138, Proto: UDP, Direction: Listen, ProcessName: "netbiosd", ProcessPath: "/Users/eve/netbiosd"}, Insecure, ""},

		{"WINS replication", Observation{Port: 42, Proto: TCP, Direction: Listen, ProcessName: "wins.exe", ProcessPath: `C:\Windows\System32\wins.exe`}, Insecure, "windows-wins"},
		{"WINS, other case and drive", Observation{Port: 42, Proto: TCP, Direction: Listen, ProcessName: "WINS.EXE", ProcessPath: `D:\WINDOWS\system32\WINS.EXE`}, Insecure, "windows-wins"},
		{"WINS resolution", Observation{Port: 1512, Proto: UDP, Direction: Listen, ProcessName: "wins.exe"}, Insecure, "windows-wins"},
		{"wins.exe outside System32", Observation{Port: 42, Proto: TCP, Direction: Listen, ProcessName: "wins.exe", ProcessPath: `C:\Users\Public\wins.exe`}, Ghost, ""},
		{"wins.exe connecting out to 42", Observation{Port: 42, Proto: TCP, Direction: Outbound, ProcessName: "wins.exe"}, Ghost, ""},
		{"another process on 42", Observation{Port: 42, Proto: TCP, Direction: Listen, ProcessName: "svchost.exe"}, Ghost, ""},

		{"MSMQ on 2105", Observation{Port: 2105, Proto: TCP, Direction: Listen, ProcessName: "mqsvc.exe", ProcessPath: `C:\Windows\system32\mqsvc.exe`}, Expected, "windows-msmq"},
		{"MSMQ, upper case", Observation{Port: 2105, Proto: TCP, Direction: Inbound, ProcessName: "MQSVC.EXE"}, Expected, "windows-msmq"},
		{"mqsvc.exe on 2105/udp", Observation{Port: 2105, Proto: UDP, Direction: Listen, ProcessName: "mqsvc.exe"}, Ghost, ""},
		{"mqsvc without .exe is not a Windows name", Observation{Port: 2105, Proto: TCP, Direction: Listen, ProcessName: "MQSVC"}, Ghost, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := r.Lookup(tt.o.Port, tt.o.Proto)
			if !ok {
				t.Fatalf("%d/%s is not in the built-in registry", tt.o.Port, TransportName(tt.o.Proto))
			}
			got, reason := r.Judge(e, tt.o)
			if got != tt.want {
				t.Errorf("verdict %s, want %s (%s)", got, tt.want, reason)
			}
			named := strings.Contains(reason, "[expected owner ")
			switch {
			case tt.rule != "" && !strings.Contains(reason, "[expected owner "+tt.rule+"]"):
				t.Errorf("reason does not name rule %s: %s", tt.rule, reason)
			case tt.rule == "" && named:
				t.Errorf("no rule may match, but: %s", reason)
			case tt.rule != "" && !strings.Contains(reason, e.Service):
				t.Errorf("reason does not name the registration %s: %s", e.Service, reason)
			}
		})
	}
}

func TestAllowRulesComeBeforeExpectedOwners(t *testing.T) {
	r := *builtin(t)
	r.allow = []AllowRule{{PortLow: 6010, PortHigh: 6063, Transports: []uint8{TCP}, Process: "sshd", Comment: "ticket OPS-7", File: "admin.yml", Line: 3}}
	e, _ := r.Lookup(6010, TCP)
	v, reason := r.Judge(e, Observation{Port: 6010, Proto: TCP, Direction: Listen, LocalAddr: loop4, ProcessName: "sshd"})
	if v != Allowed || !strings.Contains(reason, "OPS-7") {
		t.Errorf("got %s (%s), want allowed by the admin's rule", v, reason)
	}
}

func TestMayBeRPC(t *testing.T) {
	tests := []struct {
		o    Observation
		want bool
	}{
		{Observation{Port: 611, Proto: UDP, Direction: Listen, PID: -1}, true},
		{Observation{Port: 611, Proto: TCP, Direction: Inbound, ProcessName: "java"}, true},
		{Observation{Port: 611, Proto: UDP, Direction: Listen, ProcessName: "rpc.statd"}, false}, // the name says it already
		{Observation{Port: 611, Proto: UDP, Direction: Outbound}, false},
		{Observation{Port: 23, Proto: TCP, Direction: Listen}, false},
	}
	for _, tt := range tests {
		if got := MayBeRPC(tt.o); got != tt.want {
			t.Errorf("MayBeRPC(%+v) = %v, want %v", tt.o, got, tt.want)
		}
	}
}

// TestExpectedOwnersTable checks the table's own invariants: each rule is
// documented, narrowed, gives a verdict that makes sense, and covers at
// least one port of the built-in registry (a rule for ports the registry
// does not hold would never fire).
func TestExpectedOwnersTable(t *testing.T) {
	r := builtin(t)
	seen := map[string]bool{}
	for _, x := range expectedOwners {
		if x.ID == "" || seen[x.ID] {
			t.Errorf("rule %q: missing or duplicate id", x.ID)
		}
		seen[x.ID] = true
		if x.Reason == "" || x.Source == "" {
			t.Errorf("rule %s: a reason and a source are required", x.ID)
		}
		if !slices.Contains([]Verdict{Expected, Insecure, RPCDynamic}, x.Verdict) {
			t.Errorf("rule %s: verdict %q", x.ID, x.Verdict)
		}
		if len(x.Processes) == 0 && x.PID == 0 && !x.RPCMapped && !x.Loopback {
			t.Errorf("rule %s matches any process anywhere", x.ID)
		}
		if x.RPCMapped && len(x.Processes) > 0 {
			t.Errorf("rule %s: an rpcbind mapping stands for the process, give one or the other", x.ID)
		}
		inRegistry := false
		for _, pr := range x.Ports {
			if pr.Low > pr.High {
				t.Errorf("rule %s: range %d-%d", x.ID, pr.Low, pr.High)
			}
			for p := int(pr.Low); p <= int(pr.High); p++ {
				for _, proto := range x.Transports {
					inRegistry = inRegistry || r.Has(uint16(p), proto)
				}
			}
		}
		if !inRegistry {
			t.Errorf("rule %s covers no port of the built-in registry", x.ID)
		}
	}
}
