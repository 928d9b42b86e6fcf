//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/legacy-ports/legacy-ports/registry"
)

// Bounds on the extension's memory after the calls, in bytes (MB, not
// MiB): issue 2's, and issue 8's, after 10,000 calls.
const (
	rssLimit   = 30e6
	rssLimit10 = 20e6
	rssEvents  = 40e6
)

// allocLimit is issue 8's bound on what a generate that finds nothing
// allocates with the busy proxy running.
const allocLimit = 1e6

// report is everything the bench prints.
type report struct {
	out       io.Writer
	cfg       config
	began     time.Time
	loadStart string
	ghosts    []ghostPorts
	skipped   []string // ghost ports that could not be used, and why
	adminPath string
	reg       *registry.Registry
	load      *load
	census    census
	// quietCensus is the host before any load; the busy fields are the
	// busy proxy and the host with it (zero with -busy 0).
	quietCensus            census
	busyProcs, busySockets int
	busyCensus             census
	probes                 []probe
	phases                 []phase
	ext                    extResult
	events                 eventsResult
	eventsRSS              eventsRSSResult
}

func (r *report) print() {
	w := r.out
	user := "root"
	if os.Geteuid() != 0 {
		user = "uid " + strconv.Itoa(os.Geteuid()) + " (not root)"
	}
	fmt.Fprintf(w, "legacy-ports make bench, %s\n", r.began.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "host: Linux %s, %s, %d CPUs, %s, %s\n", kernelRelease(), cpuModel(), runtime.NumCPU(), user, runtime.Version())
	fmt.Fprintf(w, "load: %d child processes holding %d sockets (TCP listeners, connected TCP pairs, bound and connected UDP; loopback, IPv4 and IPv6)\n",
		len(r.load.children), r.load.sockets)
	if r.busyProcs > 0 {
		fmt.Fprintf(w, "busy proxy (phases 3 and 4): %d processes holding %d TCP sockets in connected pairs, on 127.N.J.1 loopback addresses\n",
			r.busyProcs, r.busySockets)
	}
	r.printCensus("host as it is", r.quietCensus)
	r.printCensus("host with the load", r.census)
	if r.busyProcs > 0 {
		r.printCensus("host with the busy proxy too", r.busyCensus)
	}
	fmt.Fprintf(w, "registry: %d port/transport pairs%s\n", r.reg.Pairs(), r.ephemeralNote())
	var gs []string
	for _, g := range r.ghosts {
		s := strconv.Itoa(g.tcp) + "/tcp"
		if g.udp != 0 {
			s += "+udp"
		}
		gs = append(gs, s)
	}
	fmt.Fprintf(w, "ghosts (phases 4 and 5): %d children listen on 127.0.0.1 and connect to themselves on %s\n", len(r.ghosts), strings.Join(gs, ", "))
	for _, s := range r.skipped {
		fmt.Fprintf(w, "  skipped: %s\n", s)
	}
	if r.adminPath != "" {
		fmt.Fprintf(w, "  these are high ports added by a temporary admin's registry file (%s), passed to every\n  binary with --registry-file and to generate with setup.Options: the registry's own ports need root\n", r.adminPath)
	} else {
		fmt.Fprintln(w, "  these are the registry's own ports (running as root); no admin's registry file")
	}
	fmt.Fprintf(w, "method: per phase, each row once untimed, then %d timed runs round-robin (%d with the busy proxy); median [p10–p90] in ms;\n", r.cfg.runs, r.cfg.busyRuns)
	fmt.Fprintln(w, "  ×gen = the row's median / generate's median in the same phase")
	fmt.Fprintln(w)
	r.table()
	// generateProbe's warm run reports "N rows".
	if got := r.phases[phaseNothing].results[rowGenerate].found; got != "0 rows" {
		fmt.Fprintf(w, "WARNING: phase 1 is not \"nothing matches\": generate found %s; something else on this host uses a registry port\n", got)
	}
	fmt.Fprintln(w)
	r.found()
	fmt.Fprintln(w)
	e := r.ext
	fmt.Fprintf(w, "extension (real binary, fake osquery core, argv --socket P --timeout 3 --interval 3; ghosts present):\n")
	fmt.Fprintf(w, "  %d legacy_ports generate calls, context \"{}\", a new Thrift connection per call as osquery's core opens one\n", e.calls)
	fmt.Fprintf(w, "  call latency median %s, p90 %s, worst %s; %d calls in %s; %d rows in the last call\n",
		ms(e.median), ms(e.p90), ms(e.worst), e.calls, e.elapsed.Round(time.Millisecond), e.rows)
	fmt.Fprintf(w, "  VmRSS %s after the calls (%s once registered), VmHWM %s\n", mb(e.rss), mb(e.idleRSS), mb(e.hwm))
	fmt.Fprintf(w, "  %d write syscalls by the extension per call (/proc/PID/io syscw; the latency includes the Go Thrift client of the fake core)\n",
		e.writes/uint64(max(e.calls, 1)))
	fmt.Fprintln(w)
	r.printEvents()
	r.printEventsRSS()
	fmt.Fprintln(w)
	r.targets()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "load average: %s at the start, %s at the end; %s in all\n", r.loadStart, loadAverage(), time.Since(r.began).Round(time.Second))
}

// ephemeralNote says how many registry ports the kernel can hand out as
// ephemeral ports, and how often the load drew one.
func (r *report) ephemeralNote() string {
	lo, hi, err := ephemeralRange()
	if err != nil {
		return ""
	}
	n := 0
	for _, p := range registryPorts(r.reg) {
		if int(p) >= lo && int(p) <= hi {
			n++
		}
	}
	return fmt.Sprintf("; %d of its ports lie in the ephemeral range %d-%d, where the load drew %d port(s), drawn again", n, lo, hi, r.load.redraws)
}

func (r *report) nameWidth() int {
	n := 0
	for _, p := range r.probes {
		n = max(n, len(p.name))
	}
	return n
}

// timingCell is what res shows in one phase's columns; gen is generate's result.
func (r *report) timingCell(res, gen result) string {
	switch {
	case res.na != "":
		return res.na
	case res.err != nil:
		return "error (below)"
	}
	s := summarize(res.times)
	ratio := ""
	if g := summarize(gen.times); g.median > 0 {
		ratio = fmt.Sprintf("%.2f×", float64(s.median)/float64(g.median))
	}
	return fmt.Sprintf("%8s  %-15s %7s", num(s.median), "["+num(s.p10)+"–"+num(s.p90)+"]", ratio)
}

// grid prints a table: a name column, then one column per phase, each as
// wide as its widest cell.
func (r *report) grid(title, sub string, cell func(ph phase, i int) string) {
	w, nw := r.out, max(r.nameWidth(), len(title))
	widths := make([]int, len(r.phases))
	for j, ph := range r.phases {
		widths[j] = max(utf8.RuneCountInString(ph.name), utf8.RuneCountInString(sub))
		for i := range r.probes {
			widths[j] = max(widths[j], utf8.RuneCountInString(cell(ph, i)))
		}
	}
	row := func(name string, cells func(j int) string) {
		var line strings.Builder
		fmt.Fprintf(&line, "%-*s", nw, name)
		for j := range r.phases {
			fmt.Fprintf(&line, "   %-*s", widths[j], cells(j))
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
	row(title, func(j int) string { return r.phases[j].name })
	if sub != "" {
		row("", func(int) string { return sub })
	}
	for i, p := range r.probes {
		row(p.name, func(j int) string { return cell(r.phases[j], i) })
	}
}

func (r *report) table() {
	r.grid("time per run", "  median  [p10–p90]          ×gen", func(ph phase, i int) string {
		return r.timingCell(ph.results[i], ph.results[rowGenerate])
	})
	for _, ph := range r.phases {
		for i, res := range ph.results {
			if res.err != nil {
				fmt.Fprintf(r.out, "error, %s, %s: %v\n", ph.name, r.probes[i].name, res.err)
			}
		}
	}
}

// found shows what each row saw, and what the in-process rows allocated.
func (r *report) found() {
	r.grid("what each row saw (untimed run)", "", func(ph phase, i int) string {
		res := ph.results[i]
		s := res.found
		if res.na != "" {
			s = res.na
		}
		if len(res.alloc) > 0 {
			s += ", " + mb(medianBytes(res.alloc)) + " allocated per run"
		}
		return s
	})
}

// targets prints issue 2's and issue 4's targets as ratios of medians.
func (r *report) targets() {
	w := r.out
	fmt.Fprintln(w, "targets (ratios of medians within this run; the bench exits 0 either way)")
	line := func(verdict, what, detail string) {
		fmt.Fprintf(w, "  %-5s %-66s %s\n", verdict, what, detail)
	}
	ratio := func(ph phase, what string, numer, denom int, limit float64, atMost bool) {
		a, b := ph.results[numer], ph.results[denom]
		for _, x := range []result{a, b} {
			if x.na != "" {
				line("n/a", what, x.na)
				return
			}
			if x.err != nil || len(x.times) == 0 {
				line("ERROR", what, "not measured (see the errors above)")
				return
			}
		}
		ta, tb := summarize(a.times).median, summarize(b.times).median
		got := float64(ta) / float64(tb)
		ok, op := got >= limit, "≥"
		if atMost {
			ok, op = got <= limit, "≤"
		}
		detail := fmt.Sprintf("%s / %s ms = %.2f (want %s %.2f)", num(ta), num(tb), got, op, limit)
		verdict := passFail(ok)
		if limit == 0 { // no target: the ratio is for information
			detail, verdict = fmt.Sprintf("%s / %s ms = %.2f", num(ta), num(tb), got), "info"
		}
		// Runs of one round ran back to back: their ratios show how far
		// the noise of this host moves the verdict.
		if len(a.times) == len(b.times) {
			per := make([]float64, len(a.times))
			for i := range per {
				per[i] = float64(a.times[i]) / float64(b.times[i])
			}
			s := summarize(per)
			detail += fmt.Sprintf("; per round %.2f [%.2f–%.2f]", s.median, s.p10, s.p90)
		}
		line(verdict, what, detail)
	}
	quiet, nothing, ghosts := r.phases[phaseQuiet], r.phases[phaseNothing], r.phases[phaseGhosts]
	busyNothing, busyGhosts := r.phases[phaseBusyNothing], r.phases[phaseBusyGhosts]
	fmt.Fprintln(w, " issue 2 and issue 4")
	ratio(nothing, "nothing matches: generate ≤ ss -tuan", rowGenerate, rowSS, 1, true)
	ratio(ghosts, "ghosts present: generate ≤ ss -tuanp", rowGenerate, rowSSP, 1, true)
	ratio(nothing, "nothing matches: gopsutil + join ≥ 5 × generate", rowGopsutil, rowGenerate, 5, false)
	ratio(ghosts, "ghosts present: gopsutil + join ≥ 5 × generate", rowGopsutil, rowGenerate, 5, false)
	line(passFail(r.ext.rss < rssLimit), fmt.Sprintf("extension VmRSS after %d generate calls < 30 MB", r.ext.calls), mb(r.ext.rss))
	ratio(nothing, "nothing matches: query ≤ 1.10 × scan (issue 4)", rowQuery, rowScan, 1.10, true)
	ratio(ghosts, "ghosts present: query ≤ 1.10 × scan (issue 4)", rowQuery, rowScan, 1.10, true)
	ratio(quiet, "host as it is: legacy-ports-query called directly / scan", rowQueryDirect, rowScan, 0, true)
	ratio(nothing, "nothing matches: legacy-ports-query called directly / scan", rowQueryDirect, rowScan, 0, true)
	ratio(ghosts, "ghosts present: legacy-ports-query called directly / scan", rowQueryDirect, rowScan, 0, true)
	fmt.Fprintln(w, " issue 8")
	ratio(quiet, "host as it is: scan ≤ 0.6 × ss -tuan", rowScan, rowSS, 0.6, true)
	ratio(nothing, "the load, nothing matches: scan ≤ 0.6 × ss -tuan", rowScan, rowSS, 0.6, true)
	ratio(quiet, "host as it is: floor (least Go program listing sockets) / ss -tuan", rowFloor, rowSS, 0, true)
	ratio(nothing, "the load, nothing matches: floor / ss -tuan", rowFloor, rowSS, 0, true)
	ratio(quiet, "host as it is: registry show 609 / ss -tuan", rowShow, rowSS, 0, true)
	ratio(nothing, "the load: registry show 609 / ss -tuan", rowShow, rowSS, 0, true)
	ratio(busyNothing, "busy proxy, nothing matches: generate ≤ 0.3 × ss -tuan", rowGenerate, rowSS, 0.3, true)
	if gen := busyNothing.results[rowGenerate]; len(gen.alloc) > 0 {
		a := medianBytes(gen.alloc)
		line(passFail(a < allocLimit), "busy proxy, nothing matches: generate allocates < 1 MB", mb(a)+" per run (median)")
	}
	ratio(busyGhosts, "busy proxy, ghosts present: generate ≤ 0.3 × ss -tuanp", rowGenerate, rowSSP, 0.3, true)
	ratio(ghosts, "the load, ghosts present: generate ≤ 0.3 × ss -tuanp", rowGenerate, rowSSP, 0.3, true)
	ratio(busyGhosts, "busy proxy, ghosts present: gopsutil + join ≥ 10 × generate", rowGopsutil, rowGenerate, 10, false)
	ratio(ghosts, "the load, ghosts present: gopsutil + join ≥ 10 × generate", rowGopsutil, rowGenerate, 10, false)
	line(passFail(r.ext.rss <= rssLimit10), fmt.Sprintf("extension VmRSS after %d generate calls ≤ 20 MB", r.ext.calls), mb(r.ext.rss))
	r.eventTargets(line)
	if e := r.eventsRSS; e.na == "" {
		line(passFail(e.rss <= rssEvents), fmt.Sprintf("extension VmRSS after %d events, default limits ≤ 40 MB", e.sent), mb(e.rss))
	} else {
		line("n/a", "extension VmRSS after a flood of events ≤ 40 MB", e.na)
	}
}

// printCensus says what the socket and descriptor walks had to get through.
func (r *report) printCensus(what string, c census) {
	fmt.Fprintf(r.out, "%s: %d processes, %d descriptors, %d TCP/UDP sockets in %d network namespace(s)", what, c.processes, c.fds, c.sockets, c.namespaces)
	if c.err != nil {
		fmt.Fprintf(r.out, " (partly read: %v)", c.err)
	}
	fmt.Fprintln(r.out)
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// num is a duration in milliseconds with three significant digits.
func num(d time.Duration) string {
	m := float64(d) / float64(time.Millisecond)
	switch {
	case m < 10:
		return fmt.Sprintf("%.2f", m)
	case m < 100:
		return fmt.Sprintf("%.1f", m)
	}
	return fmt.Sprintf("%.0f", m)
}

func ms(d time.Duration) string { return num(d) + " ms" }

func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
