package events

import (
	"slices"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/registry"
)

func TestClassify(t *testing.T) {
	reg := testRegistry(t, false)
	tests := []struct {
		name      string
		ev        Event
		port      uint16
		direction string
		ok        bool
	}{
		{"bind", ev(0, Bind, 1, "0.0.0.0:609", "0.0.0.0:0"), 609, registry.Listen, true},
		{"listen", ev(0, Listen, 1, "[::]:1033", "[::]:0"), 1033, registry.Listen, true},
		{"accept is the local port", ev(0, Accept, 1, "10.0.0.1:1033", "10.0.0.2:609"), 1033, registry.Inbound, true},
		{"connect is the remote port", ev(0, Connect, 1, "10.0.0.1:1033", "10.0.0.2:609"), 609, registry.Outbound, true},
		{"send is the remote port", func() Event {
			e := ev(0, Send, 1, "10.0.0.1:50000", "10.0.0.2:672")
			e.Protocol = registry.UDP
			return e
		}(), 672, registry.Outbound, true},
		{"close of a listener", ev(0, Close, 1, "0.0.0.0:609", "0.0.0.0:0"), 609, registry.Listen, true},
		{"close of a client", ev(0, Close, 1, "10.0.0.1:50000", "10.0.0.2:609"), 609, registry.Outbound, true},
		{"close of a server's connection", ev(0, Close, 1, "10.0.0.1:1033", "10.0.0.2:50000"), 1033, registry.Inbound, true},
		{"close with both ports registered counts the remote", ev(0, Close, 1, "10.0.0.1:1033", "10.0.0.2:609"), 609, registry.Outbound, true},
		{"connect from a registry port to another port", ev(0, Connect, 1, "10.0.0.1:609", "10.0.0.2:443"), 443, registry.Outbound, false},
		{"port of the other transport", func() Event {
			e := ev(0, Bind, 1, "0.0.0.0:1033", "0.0.0.0:0")
			e.Protocol = registry.UDP
			return e
		}(), 1033, registry.Listen, false},
		{"unknown action", ev(0, "frobnicate", 1, "10.0.0.1:609", "10.0.0.2:609"), 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, dir, ok := Classify(tt.ev, reg)
			if port != tt.port || dir != tt.direction || ok != tt.ok {
				t.Errorf("Classify = %d %q %v, want %d %q %v", port, dir, ok, tt.port, tt.direction, tt.ok)
			}
		})
	}
}

func TestPortsOf(t *testing.T) {
	got := PortsOf(testRegistry(t, false))
	want := []Port{{512, 6}, {609, 6}, {609, 17}, {672, 17}, {1033, 6}}
	if !slices.Equal(got, want) {
		t.Errorf("PortsOf = %v, want %v", got, want)
	}
}

func TestJudge(t *testing.T) {
	row := func(port uint16, dir, name, path string) Row {
		return Row{Port: port, Protocol: registry.TCP, Direction: dir, ProcessName: name, ProcessPath: path, Username: "root"}
	}
	tests := []struct {
		name    string
		allow   bool
		row     Row
		verdict registry.Verdict
		reason  string // a part of it
		service string
	}{
		{"ghost listener", false, row(1033, registry.Listen, "ghostd", "/usr/sbin/ghostd"), registry.Ghost, "ghostd listens on 1033/tcp", "netinfo-local"},
		{"ghost outbound", false, row(609, registry.Outbound, "curl", "/usr/bin/curl"), registry.Ghost, "connects to a remote 609/tcp", "npmp-trap"},
		{"insecure", false, row(512, registry.Inbound, "rexecd", ""), registry.Insecure, "accepted a connection on 512/tcp", "exec"},
		{"rpc daemon", false, row(609, registry.Listen, "rpc.statd", "/usr/sbin/rpc.statd"), registry.RPCDynamic, "Sun RPC daemon", "npmp-trap"},
		{"allowed by the admin", true, row(1033, registry.Listen, "ghostd", "/usr/sbin/ghostd"), registry.Allowed, "allowed by admin.yml", "netinfo-local"},
		{"allow rule wants the path", true, row(1033, registry.Listen, "ghostd", "/tmp/ghostd"), registry.Ghost, "ghostd listens", "netinfo-local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := Judge([]Row{tt.row}, testRegistry(t, tt.allow), nil)
			if len(rows) != 1 {
				t.Fatalf("%d rows", len(rows))
			}
			r := rows[0]
			if r.Verdict != tt.verdict || !strings.Contains(r.Reason, tt.reason) || r.Entry == nil || r.Entry.Service != tt.service {
				t.Errorf("got %s %q (%v), want %s containing %q for %s", r.Verdict, r.Reason, r.Entry, tt.verdict, tt.reason, tt.service)
			}
		})
	}
}

func TestJudgeDropsPortsLeftTheRegistry(t *testing.T) {
	rows := []Row{
		{Port: 609, Protocol: registry.TCP, Direction: registry.Listen},
		{Port: 7777, Protocol: registry.TCP, Direction: registry.Listen},
		{Port: 1033, Protocol: registry.UDP, Direction: registry.Listen},
	}
	got := Judge(rows, testRegistry(t, false), nil)
	if len(got) != 1 || got[0].Port != 609 {
		t.Errorf("kept %+v", got)
	}
}

func TestJudgeAsksRPCBindOnlyWhereItMatters(t *testing.T) {
	var asked []uint16
	rpc := func(port uint16, _ uint8) []string {
		asked = append(asked, port)
		return []string{"100021"}
	}
	rows := []Row{
		{Port: 609, Protocol: registry.TCP, Direction: registry.Listen, ProcessName: "mystery"},   // asked: in 600-1023
		{Port: 609, Protocol: registry.TCP, Direction: registry.Listen, ProcessName: "mystery"},   // same judgement, not asked again
		{Port: 609, Protocol: registry.TCP, Direction: registry.Outbound, ProcessName: "mystery"}, // outbound: never RPC
		{Port: 1033, Protocol: registry.TCP, Direction: registry.Listen, ProcessName: "mystery"},  // outside 600-1023
		{Port: 609, Protocol: registry.TCP, Direction: registry.Listen, ProcessName: "rpc.statd"}, // the name says it
	}
	got := Judge(rows, testRegistry(t, false), rpc)
	if !slices.Equal(asked, []uint16{609}) {
		t.Errorf("asked rpcbind for %v", asked)
	}
	verdicts := make([]registry.Verdict, len(got))
	for i, r := range got {
		verdicts[i] = r.Verdict
	}
	want := []registry.Verdict{registry.RPCDynamic, registry.RPCDynamic, registry.Ghost, registry.Ghost, registry.RPCDynamic}
	if !slices.Equal(verdicts, want) {
		t.Errorf("verdicts %v, want %v", verdicts, want)
	}
}

// TestJudgeSeesPIDAndAddresses checks that the expected-owner rules that look
// at the pid and the address apply to events as to legacy_ports rows: sshd's
// X11 display is expected on loopback only, and the judgement of one row is
// not reused for another that differs only in its address.
func TestJudgeSeesPIDAndAddresses(t *testing.T) {
	reg := registry.New("2026-01-01", []*registry.Entry{{
		PortLow: 6010, PortHigh: 6010, Transports: []uint8{registry.TCP}, Service: "x11",
		Description: "X11 display 10", Category: registry.InsecureLegacy, Confidence: registry.High, Source: "builtin",
	}})
	sshd := func(local string) Row {
		return Row{Port: 6010, Protocol: registry.TCP, Direction: registry.Listen, PID: 812, Local: ap(local),
			ProcessName: "sshd", ProcessPath: "/usr/sbin/sshd", Username: "root"}
	}
	got := Judge([]Row{sshd("127.0.0.1:6010"), sshd("0.0.0.0:6010"), sshd("[::1]:6010")}, reg, nil)
	want := []registry.Verdict{registry.Expected, registry.Insecure, registry.Expected}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Verdict != want[i] {
			t.Errorf("row %d (%s): %s %q, want %s", i, r.Local, r.Verdict, r.Reason, want[i])
		}
	}
}
