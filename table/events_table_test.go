package table

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/sockets"
	"github.com/legacy-ports/legacy-ports/table/tabletest"
)

// evBase is when the fake events happen: the first at evBase, one a second.
var evBase = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

// fakeEvents records one event of each kind the table must render, a
// second apart from evBase.
func fakeEvents(t *testing.T, reg *registry.Registry, clk *clock) *tabletest.Events {
	t.Helper()
	src := tabletest.NewEvents(reg, clk.Now)
	curl := sockets.Process{Name: "curl", Path: "/usr/bin/curl", Cmdline: "curl telnet://10.0.0.7:609", UID: 1000, Username: "alice"}
	ghostd := sockets.Process{Name: "ghostd", Path: "/usr/sbin/ghostd", Cmdline: "ghostd", UID: 0, Username: "root"}
	add := func(i int, a events.Action, pid int32, local, remote string, proto uint8, p sockets.Process) {
		e := events.Event{Time: evBase.Add(time.Duration(i) * time.Second), Action: a, PID: pid, UID: p.UID, Family: 2,
			Protocol: proto, NetNS: hostNS, Source: events.SourceEBPF}
		if local != "" {
			e.Local = ap(local)
		}
		if remote != "" {
			e.Remote = ap(remote)
		}
		src.Add(t, e, p)
	}
	add(0, events.Bind, 10, "0.0.0.0:609", "", registry.TCP, ghostd)
	add(1, events.Listen, 10, "0.0.0.0:609", "", registry.TCP, ghostd)
	add(2, events.Connect, 30, "", "10.0.0.7:609", registry.TCP, curl)
	add(3, events.Accept, 10, "10.0.0.5:609", "10.0.0.9:40000", registry.TCP, ghostd)
	add(4, events.Send, -1, "", "10.0.0.8:611", registry.UDP, sockets.Process{UID: -1})
	add(5, events.Close, 30, "10.0.0.5:41000", "10.0.0.7:609", registry.TCP, curl)
	return src
}

func TestEventRows(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	rows, err := def(t, o, PortEvents).Generate(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	got := texts(rows)
	if len(got) != 6 {
		t.Fatalf("%d rows, want 6: %v", len(got), got)
	}
	sec := strconv.FormatInt(evBase.Unix(), 10)
	check := func(i int, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got[i][k] != v {
				t.Errorf("row %d (%s): %s = %q, want %q", i, got[i][ColAction], k, got[i][k], v)
			}
		}
	}
	check(0, map[string]string{ColTime: sec, ColTimeNS: sec + "000000000", ColEID: got[0][ColEID], ColAction: "bind", ColCount: "1",
		ColPID: "10", ColProcessName: "ghostd", ColLocalAddress: "0.0.0.0", ColLocalPort: "609", ColRemoteAddress: "", ColRemotePort: "0",
		ColPort: "609", ColDirection: "listen", ColNetNamespace: strconv.Itoa(hostNS), ColService: "npmp-trap",
		ColTransport: "tcp", ColProtocol: "6", ColFamily: "2", ColVerdict: "ghost", ColSource: "ebpf"})
	check(2, map[string]string{ColAction: "connect", ColPID: "30", ColProcessName: "curl", ColUsername: "alice", ColUID: "1000",
		ColLocalAddress: "", ColLocalPort: "0", ColRemoteAddress: "10.0.0.7", ColRemotePort: "609", ColPort: "609", ColDirection: "outbound"})
	check(3, map[string]string{ColAction: "accept", ColDirection: "inbound", ColPort: "609", ColRemoteAddress: "10.0.0.9"})
	check(4, map[string]string{ColAction: "send", ColPID: "-1", ColUID: "-1", ColTransport: "udp", ColPort: "611", ColDirection: "outbound"})
	check(5, map[string]string{ColAction: "close", ColPort: "609", ColDirection: "outbound"})
	for i := 1; i < len(got); i++ {
		if got[i][ColEID] <= got[i-1][ColEID] {
			t.Errorf("eid %q after %q: not increasing", got[i][ColEID], got[i-1][ColEID])
		}
	}
}

func TestEventConstraints(t *testing.T) {
	sec := func(i int) string { return strconv.FormatInt(evBase.Unix()+int64(i), 10) }
	req := func(cs ...any) Request {
		var r Request
		for i := 0; i < len(cs); i += 3 {
			r.Add(cs[i].(string), cs[i+1].(Operator), cs[i+2].(string))
		}
		return r
	}
	tests := []struct {
		name    string
		req     Request
		actions []string // the rows' actions, in order
		asked   bool     // whether the source was asked at all
	}{
		{"no constraint", Request{}, []string{"bind", "listen", "connect", "accept", "send", "close"}, true},
		{"time >", req(ColTime, GreaterThan, sec(3)), []string{"send", "close"}, true},
		{"time >=", req(ColTime, GreaterOrEqual, sec(3)), []string{"accept", "send", "close"}, true},
		{"time <", req(ColTime, LessThan, sec(1)), []string{"bind"}, true},
		{"time <=", req(ColTime, LessOrEqual, sec(1)), []string{"bind", "listen"}, true},
		{"time =", req(ColTime, Equals, sec(2)), []string{"connect"}, true},
		{"time between", req(ColTime, GreaterThan, sec(0), ColTime, LessThan, sec(3)), []string{"listen", "connect"}, true},
		{"time = 'abc'", req(ColTime, Equals, "abc"), nil, false},
		{"time > 1.5 is left to SQLite", req(ColTime, GreaterThan, "1.5"), []string{"bind", "listen", "connect", "accept", "send", "close"}, true},
		{"time LIKE is left to SQLite", req(ColTime, Like, "17%"), []string{"bind", "listen", "connect", "accept", "send", "close"}, true},
		{"port", req(ColPort, Equals, "611"), []string{"send"}, true},
		{"port IN", req(ColPort, Equals, "611", ColPort, Equals, "0609"), []string{"bind", "listen", "connect", "accept", "send", "close"}, true},
		{"port = 'abc'", req(ColPort, Equals, "abc"), nil, false},
		{"port out of range", req(ColPort, Equals, "70000"), nil, false},
		{"pid", req(ColPID, Equals, "30"), []string{"connect", "close"}, true},
		{"pid -1", req(ColPID, Equals, "-1"), []string{"send"}, true},
		{"action IN", req(ColAction, Equals, "accept", ColAction, Equals, "connect"), []string{"connect", "accept"}, true},
		{"action unknown", req(ColAction, Equals, "open"), nil, false},
		{"pid and action", req(ColPID, Equals, "10", ColAction, Equals, "listen"), []string{"listen"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _ := testOptions(t, fakeHost())
			src := o.Events.(*tabletest.Events)
			rows, err := def(t, o, PortEvents).Generate(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, r := range rows {
				actions = append(actions, r[ColAction].Text())
			}
			if !slices.Equal(actions, tt.actions) {
				t.Errorf("actions %v, want %v", actions, tt.actions)
			}
			if asked := len(src.Queries()) > 0; asked != tt.asked {
				t.Errorf("source asked: %v, want %v", asked, tt.asked)
			}
		})
	}
}

func TestEventsOffWithoutSource(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	o.Events = nil
	rows, err := def(t, o, PortEvents).Generate(t.Context(), Request{})
	if err != nil || len(rows) != 0 {
		t.Errorf("no source: %v, %v; want no rows", rows, err)
	}
	info, err := def(t, o, LegacyPortInfo).Generate(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	got := info[0].Text()
	want := map[string]string{ColEventsSource: "off", ColEventsDropped: "0", ColEventsEvicted: "0"}
	if got[ColEventsReason] == "" || !maps.Equal(map[string]string{ColEventsSource: got[ColEventsSource],
		ColEventsDropped: got[ColEventsDropped], ColEventsEvicted: got[ColEventsEvicted]}, want) {
		t.Errorf("info without events: %v", got)
	}
}

func TestEventsInfoCounts(t *testing.T) {
	o, _ := testOptions(t, fakeHost())
	src := o.Events.(*tabletest.Events)
	src.State = events.Info{Source: events.StatePoll, Reason: "eBPF: not root", Dropped: 7}
	info, err := def(t, o, LegacyPortInfo).Generate(t.Context(), Request{})
	if err != nil {
		t.Fatal(err)
	}
	got := info[0].Text()
	if got[ColEventsSource] != "poll" || got[ColEventsReason] != "eBPF: not root" || got[ColEventsDropped] != "7" {
		t.Errorf("info: %v", got)
	}
}

func TestAddrText(t *testing.T) {
	for _, tt := range []struct {
		in   netip.AddrPort
		want string
	}{
		{netip.AddrPort{}, ""},
		{ap("0.0.0.0:0"), ""},
		{ap("[::]:0"), ""},
		{ap("0.0.0.0:609"), "0.0.0.0"},
		{ap("[::ffff:10.0.0.1]:609"), "::ffff:10.0.0.1"},
		{ap("[fe80::1]:0"), "fe80::1"},
	} {
		if got := addrText(tt.in); got != tt.want {
			t.Errorf("addrText(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
