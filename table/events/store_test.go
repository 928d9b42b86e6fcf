package events

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

var someProc = sockets.Process{Name: "ghostd", Path: "/usr/sbin/ghostd", Cmdline: "ghostd -f", UID: 0, Username: "root"}

func add(s *Store, e Event) Row {
	r, _ := s.Row(s.Add(e, someProc, e.Remote.Port(), "outbound"))
	return r
}

func TestFormatEID(t *testing.T) {
	tests := []struct {
		eid  uint64
		want string
	}{
		{1, "00000000000000000001"},
		{1234567890, "00000000001234567890"},
		{^uint64(0), "18446744073709551615"},
	}
	for _, tt := range tests {
		if got := FormatEID(tt.eid); got != tt.want {
			t.Errorf("FormatEID(%d) = %q, want %q", tt.eid, got, tt.want)
		}
	}
	if FormatEID(9) >= FormatEID(10) || FormatEID(99) >= FormatEID(100) {
		t.Error("text order is not numeric order")
	}
}

func TestStoreRowCarriesEverything(t *testing.T) {
	clk := newClock()
	s := NewStore(StoreConfig{Now: clk.Now})
	e := ev(0, Connect, 42, "10.0.0.1:40000", "10.0.0.2:609")
	e.Cgroup = "/system.slice/ghost.service"
	p := someProc
	p.Cmdline = strings.Repeat("é", MaxCmdline) // 2 bytes each: the cut must fall between characters
	got, ok := s.Row(s.Add(e, p, 609, "outbound"))
	if !ok {
		t.Fatal("the row just added is not there")
	}
	want := Row{
		EID: FormatEID(1), Time: t0.Unix(), TimeNS: t0.UnixNano(), Count: 1, Action: Connect, PID: 42,
		ProcessName: "ghostd", ProcessPath: "/usr/sbin/ghostd", Cmdline: strings.Repeat("é", MaxCmdline/2),
		UID: 0, Username: "root", Family: 2, Protocol: 6, Local: e.Local, Remote: e.Remote, Port: 609,
		Direction: "outbound", NetNS: 4026531840, Cgroup: "/system.slice/ghost.service", Source: SourceEBPF,
	}
	if got != want {
		t.Errorf("Add returned\n%+v\nwant\n%+v", got, want)
	}
	if rows := s.Query(Query{}); len(rows) != 1 || rows[0] != want {
		t.Errorf("Query returned %+v", rows)
	}
}

func TestStoreAddresses(t *testing.T) {
	tests := []struct{ name, local, remote string }{
		{"IPv4", "127.0.0.1:40000", "127.0.0.1:609"},
		{"IPv6", "[::1]:40000", "[2001:db8::7]:609"},
		{"IPv4-mapped stays IPv6", "[::ffff:127.0.0.1]:40000", "[::ffff:10.1.2.3]:609"},
		{"unspecified", "0.0.0.0:609", "0.0.0.0:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(StoreConfig{Now: newClock().Now})
			r := add(s, ev(0, Connect, 1, tt.local, tt.remote))
			if r.Local != ap(tt.local) || r.Remote != ap(tt.remote) {
				t.Errorf("got %v -> %v, want %s -> %s", r.Local, r.Remote, tt.local, tt.remote)
			}
		})
	}
	s := NewStore(StoreConfig{Now: newClock().Now})
	e := ev(0, Connect, 1, "10.0.0.1:1", "10.0.0.2:609")
	e.Local = netip.AddrPort{}
	if r := add(s, e); r.Local.Addr().IsValid() {
		t.Errorf("an unknown local address came back as %v", r.Local)
	}
}

func TestStoreFolds(t *testing.T) {
	const local, remote = "10.0.0.1:40000", "10.0.0.2:609"
	base := ev(0, Connect, 42, local, remote)
	tests := []struct {
		name   string
		second Event
		fold   bool
	}{
		{"same event 10 ms later", ev(10*time.Millisecond, Connect, 42, local, remote), true},
		{"same event 999 ms later", ev(999*time.Millisecond, Connect, 42, local, remote), true},
		{"same event delivered 500 ms early", ev(-500*time.Millisecond, Connect, 42, local, remote), true},
		{"same event a second later", ev(time.Second, Connect, 42, local, remote), false},
		{"another pid", ev(time.Millisecond, Connect, 43, local, remote), false},
		{"another action", ev(time.Millisecond, Close, 42, local, remote), false},
		{"another local port", ev(time.Millisecond, Connect, 42, "10.0.0.1:40001", remote), false},
		{"another remote address", ev(time.Millisecond, Connect, 42, local, "10.0.0.3:609"), false},
		{"another namespace", func() Event { e := ev(time.Millisecond, Connect, 42, local, remote); e.NetNS++; return e }(), false},
		{"another protocol", func() Event { e := ev(time.Millisecond, Connect, 42, local, remote); e.Protocol = 17; return e }(), false},
		{"another source", func() Event { e := ev(time.Millisecond, Connect, 42, local, remote); e.Source = SourcePoll; return e }(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(StoreConfig{Now: newClock().Now})
			first := add(s, base)
			second := add(s, tt.second)
			rows := s.Query(Query{})
			if tt.fold {
				if second.EID != first.EID || second.Count != 2 || len(rows) != 1 || rows[0].Count != 2 || rows[0].TimeNS != base.Time.UnixNano() {
					t.Errorf("not folded into the first row: second %+v, rows %+v", second, rows)
				}
				if s.Stats().Folded != 1 {
					t.Errorf("Folded = %d", s.Stats().Folded)
				}
				return
			}
			if second.EID == first.EID || second.Count != 1 || len(rows) != 2 {
				t.Errorf("folded: second %+v, rows %d", second, len(rows))
			}
		})
	}
}

func TestStoreFoldWindowIsAnchored(t *testing.T) {
	// A steady stream makes one row per second, not one row forever.
	s := NewStore(StoreConfig{Now: newClock().Now})
	for i := range 30 {
		add(s, ev(time.Duration(i)*100*time.Millisecond, Connect, 42, "10.0.0.1:40000", "10.0.0.2:609"))
	}
	var counts []uint32
	for _, r := range s.Query(Query{}) {
		counts = append(counts, r.Count)
	}
	if want := []uint32{10, 10, 10}; !slices.Equal(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
}

func TestStoreEvictsOldestAndReleasesStrings(t *testing.T) {
	s := NewStore(StoreConfig{Max: 3, Now: newClock().Now})
	for i := range 5 {
		p := someProc
		p.Cmdline = "ghostd --run " + string(rune('a'+i))
		e := ev(time.Duration(i)*time.Second, Connect, int32(100+i), "10.0.0.1:40000", "10.0.0.2:609")
		s.Add(e, p, 609, "outbound")
	}
	rows := s.Query(Query{})
	var pids []int32
	var eids []string
	for _, r := range rows {
		pids = append(pids, r.PID)
		eids = append(eids, r.EID)
	}
	if !slices.Equal(pids, []int32{102, 103, 104}) || !slices.Equal(eids, []string{FormatEID(3), FormatEID(4), FormatEID(5)}) {
		t.Errorf("kept pids %v eids %v, want the three newest", pids, eids)
	}
	if st := s.Stats(); st.Evicted != 2 || st.Rows != 3 || st.Expired != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := s.procs.len(); n != 3 {
		t.Errorf("interner holds %d process descriptions for 3 rows", n)
	}
	if r, ok := s.Row(2); ok {
		t.Errorf("evicted row 2 still there: %+v", r)
	}
	if _, ok := s.Row(6); ok {
		t.Error("row 6 exists before it was added")
	}
}

func TestStoreCommandLineBudget(t *testing.T) {
	s := NewStore(StoreConfig{Now: newClock().Now})
	long := strings.Repeat("a", 2*MaxCmdline)
	var last Row
	for i := 0; s.procs.bytes <= TextBudget; i++ {
		p := someProc
		p.Cmdline = strconv.Itoa(i) + long // distinct, so nothing is shared
		e := ev(time.Duration(i)*time.Millisecond, Connect, int32(i), "10.0.0.1:40000", "10.0.0.2:609")
		last, _ = s.Row(s.Add(e, p, 609, "outbound"))
		if len(last.Cmdline) != MaxCmdline {
			t.Fatalf("row %d under the budget kept %d bytes of the command line", i, len(last.Cmdline))
		}
	}
	p := someProc
	p.Cmdline = "x" + long
	over, _ := s.Row(s.Add(ev(time.Hour/2, Connect, 1, "10.0.0.1:40000", "10.0.0.2:609"), p, 609, "outbound"))
	if len(over.Cmdline) != TightCmdline || !strings.HasPrefix(long, over.Cmdline[1:]) {
		t.Errorf("over the budget: kept %d bytes", len(over.Cmdline))
	}
}

func TestStoreExpires(t *testing.T) {
	clk := newClock()
	s := NewStore(StoreConfig{Expiry: time.Minute, Now: clk.Now})
	add(s, ev(0, Connect, 1, "10.0.0.1:40000", "10.0.0.2:609"))
	add(s, ev(30*time.Second, Connect, 2, "10.0.0.1:40000", "10.0.0.2:609"))
	// A late arrival older than the row before it.
	add(s, ev(10*time.Second, Connect, 3, "10.0.0.1:40000", "10.0.0.2:609"))
	pids := func() (out []int32) {
		for _, r := range s.Query(Query{}) {
			out = append(out, r.PID)
		}
		return out
	}
	steps := []struct {
		at   time.Duration
		want []int32
	}{
		{59 * time.Second, []int32{1, 2, 3}},
		{61 * time.Second, []int32{2, 3}},
		{71 * time.Second, []int32{2}}, // 3 waits behind 2 in the ring, but is not shown
		{91 * time.Second, nil},
	}
	for _, st := range steps {
		clk.Advance(t0.Add(st.at).Sub(clk.Now()))
		if got := pids(); !slices.Equal(got, st.want) {
			t.Errorf("at +%v: pids %v, want %v", st.at, got, st.want)
		}
	}
	if st := s.Stats(); st.Expired != 3 || st.Rows != 0 || st.Evicted != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestStoreQuery(t *testing.T) {
	s := NewStore(StoreConfig{Now: func() time.Time { return t0.Add(time.Hour) }})
	// Seconds 0..9, one event each, at +0.5 s, alternating pids and actions.
	for i := range 10 {
		e := ev(time.Duration(i)*time.Second+500*time.Millisecond, []Action{Connect, Accept}[i%2], int32(100+i%3), "10.0.0.1:40000", "10.0.0.2:609")
		port := uint16(609)
		if i >= 5 {
			port = 1033
		}
		s.Add(e, someProc, port, "outbound")
	}
	sec := func(i int64) int64 { return t0.Unix() + i }
	tests := []struct {
		name string
		q    Query
		want []int // offsets in seconds of the rows expected
	}{
		{"everything", Query{}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"time =", Query{Time: []TimeBound{{OpEq, sec(3)}}}, []int{3}},
		{"time >", Query{Time: []TimeBound{{OpGt, sec(7)}}}, []int{8, 9}},
		{"time >=", Query{Time: []TimeBound{{OpGe, sec(7)}}}, []int{7, 8, 9}},
		{"time <", Query{Time: []TimeBound{{OpLt, sec(2)}}}, []int{0, 1}},
		{"time <=", Query{Time: []TimeBound{{OpLe, sec(2)}}}, []int{0, 1, 2}},
		{"time between", Query{Time: []TimeBound{{OpGe, sec(2)}, {OpLt, sec(5)}}}, []int{2, 3, 4}},
		{"empty range", Query{Time: []TimeBound{{OpGt, sec(5)}, {OpLt, sec(5)}}}, nil},
		{"far past", Query{Time: []TimeBound{{OpGt, -1 << 62}}}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"far future", Query{Time: []TimeBound{{OpGt, 1 << 62}}}, nil},
		{"port", Query{Ports: []uint16{1033}}, []int{5, 6, 7, 8, 9}},
		{"port not seen", Query{Ports: []uint16{1}}, nil},
		{"port that cannot match", Query{Ports: []uint16{}}, nil},
		{"pid IN", Query{PIDs: []int32{100, 102}}, []int{0, 2, 3, 5, 6, 8, 9}},
		{"action", Query{Actions: []Action{Accept}}, []int{1, 3, 5, 7, 9}},
		{"unknown action", Query{Actions: []Action{"frobnicate"}}, nil},
		{"all together, none left", Query{Time: []TimeBound{{OpGe, sec(4)}}, Ports: []uint16{1033}, PIDs: []int32{101}, Actions: []Action{Connect}}, nil},
		{"all together", Query{Time: []TimeBound{{OpGe, sec(4)}}, Ports: []uint16{1033}, PIDs: []int32{100}, Actions: []Action{Connect}}, []int{6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, r := range s.Query(tt.q) {
				got = append(got, int(r.Time-t0.Unix()))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got seconds %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStoreOutOfOrder checks time queries against a plain filter when
// events arrive out of time order: slightly (as from several CPUs) and once
// very late (as after a clock step).
func TestStoreOutOfOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := NewStore(StoreConfig{Max: 500, Now: func() time.Time { return t0.Add(time.Hour) }})
	var all []Row
	for i := range 800 {
		at := time.Duration(i)*50*time.Millisecond + time.Duration(rng.IntN(300))*time.Millisecond
		if i == 600 {
			at = 2 * time.Second // a clock stepped back
		}
		e := ev(at, Connect, int32(i), "10.0.0.1:40000", "10.0.0.2:609")
		all = append(all, add(s, e))
	}
	kept := all[len(all)-500:]
	if s.maxLate < int64(time.Second) {
		t.Fatalf("maxLate %v: the test did not deliver out of order", time.Duration(s.maxLate))
	}
	for range 200 {
		a, b := t0.Unix()+int64(rng.IntN(45)), t0.Unix()+int64(rng.IntN(45))
		ops := []Op{OpEq, OpGt, OpGe, OpLt, OpLe}
		q := Query{Time: []TimeBound{{ops[rng.IntN(5)], a}, {ops[rng.IntN(5)], b}}}
		var want []string
		for _, r := range kept {
			if matches(r.Time, q.Time) {
				want = append(want, r.EID)
			}
		}
		var got []string
		for _, r := range s.Query(q) {
			got = append(got, r.EID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: got %d rows, want %d", q.Time, len(got), len(want))
		}
	}
}

func TestStoreForgetsLatenessOfEvictedRows(t *testing.T) {
	s := NewStore(StoreConfig{Max: 4, Now: func() time.Time { return t0.Add(time.Hour) }})
	add(s, ev(time.Minute, Connect, 1, "10.0.0.1:40000", "10.0.0.2:609"))
	add(s, ev(0, Connect, 2, "10.0.0.1:40000", "10.0.0.2:609")) // a minute late
	for i := range 4 {
		add(s, ev(time.Minute+time.Duration(i)*time.Second, Connect, int32(3+i), "10.0.0.1:40000", "10.0.0.2:609"))
	}
	if got := s.Query(Query{Time: []TimeBound{{OpLe, t0.Unix() + 60}}}); len(got) != 1 || got[0].PID != 3 {
		t.Errorf("rows %+v", got)
	}
	if s.maxLate != 0 {
		t.Errorf("maxLate %v after the late row left", time.Duration(s.maxLate))
	}
}

func matches(sec int64, bounds []TimeBound) bool {
	for _, b := range bounds {
		ok := map[Op]bool{OpEq: sec == b.Sec, OpGt: sec > b.Sec, OpGe: sec >= b.Sec, OpLt: sec < b.Sec, OpLe: sec <= b.Sec}[b.Op]
		if !ok {
			return false
		}
	}
	return true
}
