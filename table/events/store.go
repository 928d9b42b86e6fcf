package events

import (
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Defaults of StoreConfig, as osquery's --events_expiry and the issue's
// --events_max.
const (
	DefaultExpiry = time.Hour
	DefaultMax    = 50_000
	// FoldWindow is how close in time identical events must be to share a
	// row: a beacon connecting a thousand times a second makes one row a
	// second with its count, instead of pushing every other event out of the
	// store within a minute.
	FoldWindow = time.Second
	// MaxCmdline caps the command line kept per process: a store full of
	// distinct processes with 100 KB Java classpaths would otherwise hold
	// gigabytes. Once the process text held passes TextBudget, new command
	// lines keep only TightCmdline bytes, which bounds the store's memory
	// whatever the processes (see BenchmarkMillionEvents).
	MaxCmdline   = 4096
	TightCmdline = 256
	TextBudget   = 8 << 20
)

// StoreConfig configures a Store; zero fields take the defaults.
type StoreConfig struct {
	Expiry time.Duration
	Max    int
	Now    func() time.Time
}

// StoreStats counts what left the store other than by a query.
type StoreStats struct {
	Rows    int    // rows held now
	Evicted uint64 // oldest rows dropped to stay under Max
	Expired uint64 // rows dropped because they were older than Expiry
	Folded  uint64 // events counted into an earlier identical row
}

// Store keeps the events of the last Expiry, at most Max rows, in arrival
// order. It is safe for concurrent use.
//
// Rows are kept in arrival order, so an eid is a position and folding finds
// its row at once. Captures may deliver slightly out of time order (eBPF
// events from several CPUs, a clock stepped back), so each row also keeps
// the greatest time of any row up to it (maxNS, nondecreasing), and the store
// knows how late any row came (maxLate). A time range is then found by
// binary search on maxNS: every row at or after lo has maxNS >= lo, and
// every row at or before hi has maxNS <= hi + maxLate. When events arrive in
// order, maxLate is 0 and the search is exact; otherwise the few extra rows
// are filtered one by one.
type Store struct {
	expiry time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	buf     []record // ring; grows up to max
	start   int      // index in buf of the oldest row
	n       int      // rows held
	first   uint64   // eid of the oldest row
	next    uint64   // eid of the next new row
	procs   interner
	maxLate int64 // ns; the greatest maxNS-ns over the rows held
	// lateStale says the row that set maxLate has left: recompute it before
	// the next search, or one clock step would widen searches forever.
	lateStale bool
	stats     StoreStats

	// fold maps recent events to their row's eid, in two generations of one
	// second each, so that it holds only the last two seconds.
	fold, foldOld map[foldKey]uint64
	foldSec       int64
}

// record is one row, in 80 bytes and without pointers, so that the garbage
// collector never scans the store. Strings live in the interner.
type record struct {
	ns            int64 // unix nanoseconds of the event (of the first one, when folded)
	maxNS         int64 // greatest ns of this row and every earlier one
	local, remote [16]byte
	netns         uint64
	count         uint32
	pid           int32
	proc          uint32 // interned process details
	lport, rport  uint16
	port          uint16
	action        uint8
	family        uint8
	proto         uint8
	source        uint8
	dir           uint8
	flags         uint8 // addrFlag bits
}

const (
	localValid uint8 = 1 << iota
	localIs4
	remoteValid
	remoteIs4
)

type foldKey struct {
	pid           int32
	action, proto uint8
	source        uint8
	netns         uint64
	local, remote netip.AddrPort
}

// Small codes for the few values a record repeats; index 0 is "unknown".
var (
	actionCodes    = []Action{"", Bind, Listen, Connect, Accept, Send, Close}
	sourceCodes    = []string{"", SourceEBPF, SourcePoll}
	directionCodes = []string{"", "listen", "inbound", "outbound"}
)

func code[T comparable](codes []T, v T) uint8 {
	if i := slices.Index(codes, v); i > 0 {
		return uint8(i)
	}
	return 0
}

// NewStore returns an empty store.
func NewStore(c StoreConfig) *Store {
	if c.Expiry <= 0 {
		c.Expiry = DefaultExpiry
	}
	if c.Max <= 0 {
		c.Max = DefaultMax
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Store{
		expiry: c.Expiry, max: c.Max, now: c.Now, first: 1, next: 1,
		procs: newInterner(), fold: map[foldKey]uint64{}, foldOld: map[foldKey]uint64{},
	}
}

// Add records an event with the process details read on its arrival, the
// registry port it touches and its direction. An identical event (same pid,
// action, protocol, addresses, network namespace and source) within
// FoldWindow of a row's first event is counted in that row. Add returns the
// row's eid.
func (s *Store) Add(ev Event, p sockets.Process, port uint16, direction string) uint64 {
	ns := ev.Time.UnixNano()
	key := foldKey{pid: ev.PID, action: code(actionCodes, ev.Action), proto: ev.Protocol,
		source: code(sourceCodes, ev.Source), netns: ev.NetNS, local: ev.Local, remote: ev.Remote}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if eid, ok := s.foldTarget(key, ns); ok {
		r := s.at(int(eid - s.first))
		if r.count < math.MaxUint32 {
			r.count++
		}
		s.stats.Folded++
		return eid
	}
	if s.n == s.max {
		s.dropOldest()
		s.stats.Evicted++
	}
	r := record{
		ns: ns, maxNS: ns, netns: ev.NetNS, count: 1, pid: ev.PID,
		lport: ev.Local.Port(), rport: ev.Remote.Port(), port: port,
		action: key.action, family: ev.Family, proto: ev.Protocol, source: key.source,
		dir: code(directionCodes, direction),
	}
	r.flags = putAddr(&r.local, ev.Local.Addr(), localValid, localIs4) | putAddr(&r.remote, ev.Remote.Addr(), remoteValid, remoteIs4)
	if s.n > 0 {
		if last := s.at(s.n - 1).maxNS; last > ns {
			r.maxNS = last
			s.maxLate = max(s.maxLate, last-ns)
		}
	}
	limit := MaxCmdline
	if s.procs.bytes > TextBudget {
		limit = TightCmdline
	}
	r.proc = s.procs.acquire(procKey{
		name: p.Name, path: p.Path, cmdline: truncate(p.Cmdline, limit),
		username: p.Username, cgroup: ev.Cgroup, uid: p.UID,
	})
	s.push(r)
	eid := s.next
	s.next++
	s.fold[key] = eid
	return eid
}

// Row returns the row eid as it now stands, not yet judged; ok is false
// when it has left the store.
func (s *Store) Row(eid uint64) (row Row, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if eid < s.first || eid >= s.next {
		return Row{}, false
	}
	return s.row(s.at(int(eid-s.first)), eid), true
}

// foldTarget finds the row an event folds into, and rotates the fold
// generations as time moves on.
func (s *Store) foldTarget(key foldKey, ns int64) (uint64, bool) {
	if sec := floorDiv(ns, int64(time.Second)); sec > s.foldSec {
		if sec == s.foldSec+1 {
			s.fold, s.foldOld = s.foldOld, s.fold
			clear(s.fold)
		} else {
			clear(s.fold)
			clear(s.foldOld)
		}
		s.foldSec = sec
	}
	for _, m := range []map[foldKey]uint64{s.fold, s.foldOld} {
		eid, ok := m[key]
		if !ok || eid < s.first {
			continue
		}
		d := ns - s.at(int(eid-s.first)).ns
		if d > -int64(FoldWindow) && d < int64(FoldWindow) {
			return eid, true
		}
	}
	return 0, false
}

func (s *Store) at(i int) *record { return &s.buf[(s.start+i)%len(s.buf)] }

func (s *Store) push(r record) {
	if s.n == len(s.buf) {
		grown := make([]record, min(s.max, max(64, 2*len(s.buf))))
		for i := range s.n {
			grown[i] = *s.at(i)
		}
		s.buf, s.start = grown, 0
	}
	*s.at(s.n) = r
	s.n++
}

func (s *Store) dropOldest() {
	r := s.at(0)
	if s.maxLate > 0 && r.maxNS-r.ns == s.maxLate {
		s.lateStale = true
	}
	s.procs.release(r.proc)
	s.start = (s.start + 1) % len(s.buf)
	s.n--
	s.first++
	if s.n == 0 {
		s.maxLate, s.lateStale = 0, false
	}
}

// expire drops the rows older than the expiry. A row that arrived late may
// stay behind an unexpired one for a while; queries skip it.
func (s *Store) expire() {
	cutoff := s.cutoff()
	for s.n > 0 && s.at(0).ns < cutoff {
		s.dropOldest()
		s.stats.Expired++
	}
}

func (s *Store) cutoff() int64 { return s.now().Add(-s.expiry).UnixNano() }

// Stats returns the store's counters.
func (s *Store) Stats() StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	st := s.stats
	st.Rows = s.n
	return st
}

// Query returns the rows that match q, oldest first, not yet judged. The
// time constraints narrow the rows examined by binary search.
func (s *Store) Query(q Query) []Row {
	lo, hi := q.nsRange()
	if lo > hi || q.Ports != nil && len(q.Ports) == 0 || q.PIDs != nil && len(q.PIDs) == 0 ||
		q.Actions != nil && len(q.Actions) == 0 {
		return nil
	}
	actions := make([]uint8, len(q.Actions))
	for i, a := range q.Actions {
		actions[i] = code(actionCodes, a)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	lo = max(lo, s.cutoff())
	if s.lateStale {
		s.maxLate, s.lateStale = 0, false
		for i := range s.n {
			r := s.at(i)
			s.maxLate = max(s.maxLate, r.maxNS-r.ns)
		}
	}
	// Rows at or after lo have maxNS >= lo; rows at or before hi have
	// maxNS <= hi + maxLate.
	begin := sort.Search(s.n, func(i int) bool { return s.at(i).maxNS >= lo })
	end := sort.Search(s.n, func(i int) bool { return s.at(i).maxNS > satAdd(hi, s.maxLate) })
	var rows []Row
	for i := begin; i < end; i++ {
		r := s.at(i)
		if r.ns < lo || r.ns > hi ||
			q.Ports != nil && !slices.Contains(q.Ports, r.port) ||
			q.PIDs != nil && !slices.Contains(q.PIDs, r.pid) ||
			q.Actions != nil && !slices.Contains(actions, r.action) {
			continue
		}
		rows = append(rows, s.row(r, s.first+uint64(i)))
	}
	return rows
}

func (s *Store) row(r *record, eid uint64) Row {
	p := s.procs.get(r.proc)
	return Row{
		EID:         FormatEID(eid),
		Time:        floorDiv(r.ns, int64(time.Second)),
		TimeNS:      r.ns,
		Count:       r.count,
		Action:      actionCodes[r.action],
		PID:         r.pid,
		ProcessName: p.name,
		ProcessPath: p.path,
		Cmdline:     p.cmdline,
		UID:         p.uid,
		Username:    p.username,
		Family:      r.family,
		Protocol:    r.proto,
		Local:       netip.AddrPortFrom(getAddr(&r.local, r.flags, localValid, localIs4), r.lport),
		Remote:      netip.AddrPortFrom(getAddr(&r.remote, r.flags, remoteValid, remoteIs4), r.rport),
		Port:        r.port,
		Direction:   directionCodes[r.dir],
		NetNS:       r.netns,
		Cgroup:      p.cgroup,
		Source:      sourceCodes[r.source],
	}
}

// FormatEID renders an eid as legacy_port_events shows it: zero-padded to
// the 20 digits of the largest uint64, so that text order is numeric order.
func FormatEID(eid uint64) string {
	const width = 20
	s := strconv.FormatUint(eid, 10)
	if len(s) >= width {
		return s
	}
	b := make([]byte, width)
	for i := range width - len(s) {
		b[i] = '0'
	}
	copy(b[width-len(s):], s)
	return string(b)
}

// putAddr stores a in dst; zones are dropped (they do not fit the compact
// record, and link-local registry traffic is not worth 8 bytes a row).
func putAddr(dst *[16]byte, a netip.Addr, valid, is4 uint8) uint8 {
	if !a.IsValid() {
		return 0
	}
	*dst = a.As16()
	if a.Is4() {
		return valid | is4
	}
	return valid
}

func getAddr(b *[16]byte, flags, valid, is4 uint8) netip.Addr {
	switch {
	case flags&valid == 0:
		return netip.Addr{}
	case flags&is4 != 0:
		return netip.AddrFrom16(*b).Unmap()
	}
	return netip.AddrFrom16(*b)
}

// truncate cuts s to at most n bytes, on a character boundary, into a copy
// of its own: a slice would keep the whole original alive.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n])
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
