//go:build linux

// Command bench is `make bench`: it puts a socket load on this host and
// measures the legacy_ports table against what it must beat, printing the
// targets of issues 2 and 4 as ratios within the one run.
//
//	go run ./internal/bench [-runs 20] [-children 200] [-sockets 5000] [-ghosts 10]
//	    [-busy 100000] [-busy-runs 3] [-calls 10000] [-ports auto|real|admin]
//	    [-timeout 15m] [-cpuprofile PREFIX]
//
// First the host as it is: the whole-process rows (ss, scan, query through
// legacy-ports and called directly, registry show, and floor, the least any
// Go program listing sockets can take: see internal/bench/floor) and
// generate, before any load. The load: -children processes (this program re-executed in a child mode)
// hold -sockets TCP and UDP sockets in all, on loopback ephemeral ports:
// listeners (a third IPv6), connected pairs, bound and connected UDP. An
// ephemeral port that lands on a registry port is drawn again. Then two
// phases: "nothing matches", the normal case, and "ghosts present", where
// -ghosts children also listen on registry ports and connect to themselves.
// As root these are the registry's own ports (609, 610, 611, 625, 660, 672,
// 1033, then others); otherwise (or with -ports admin) high ports that a
// temporary admin's registry file adds, given to everything with
// --registry-file.
//
// Between the two, a busy proxy joins: -busy TCP sockets more (0: none), in
// connected pairs held by processes of up to 16,000 descriptors each, which
// raise their soft limit to the hard one, on listeners at 127.N.J.1 so that
// ephemeral ports do not run out. generate is measured against ss with
// nothing matching, then, after the ghosts are placed, with ghosts present;
// these phases run -busy-runs times, but gopsutil, which takes most of a
// minute and a gigabyte and a half there, runs once, its untimed run timed;
// the proxy ends before the last phase, the load with ghosts.
//
// In each phase every row runs once untimed, then -runs times round-robin,
// so that load from elsewhere on the host falls on every row alike; the
// table shows medians. legacy_ports generate runs in this process on tables
// built afresh for each run, so its one-second snapshot never serves a run;
// gopsutil too; ss, scan and query are whole processes, output to /dev/null.
// Then the real extension runs against a fake osquery core with osquery's
// argv, gets -calls generate calls of legacy_ports, each on a new Thrift
// connection as osquery's core makes them, and its VmRSS and VmHWM are read.
//
// Exit status: 0 when the measurements were made, whether or not the targets
// pass (it is a measurement, not a test: the verdicts are printed); 1 when it
// could not measure (no load, a build failed, the deadline passed). Children
// end when their stdin closes, when the bench dies (Pdeathsig), and at the
// deadline; nothing is left running.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

type config struct {
	runs, children, sockets, ghosts, calls int
	busy, busyRuns                         int
	ports                                  string
	timeout                                time.Duration
	cpuprofile                             string
	events                                 eventsConfig
	floodEvents                            int
}

func main() {
	os.Exit(run()) //nolint:forbidigo // the one exit, in main; the rule's exclusion covers cmd/ only
}

func run() int {
	if os.Getenv(childEnv) != "" {
		return runChild()
	}
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 20, "timed runs of each row in each phase")
	flag.IntVar(&cfg.children, "children", 200, "processes holding the load")
	flag.IntVar(&cfg.sockets, "sockets", 5000, "sockets held by the load in all")
	flag.IntVar(&cfg.ghosts, "ghosts", 10, "children that also listen on registry ports in the second phase")
	flag.IntVar(&cfg.calls, "calls", 10000, "generate calls sent to the extension before its memory is read")
	flag.IntVar(&cfg.floodEvents, "event-flood", 1000000, "registry-port events sent to the real extension before its memory is read")
	flag.IntVar(&cfg.busy, "busy", 100000, "TCP sockets of the busy proxy phases (0: no such phases)")
	flag.IntVar(&cfg.busyRuns, "busy-runs", 3, "timed runs of each row in the busy proxy phases")
	flag.StringVar(&cfg.ports, "ports", "auto", "ghost ports: real (the registry's, needs root), admin (high ports added by an admin's file), auto (real as root)")
	flag.DurationVar(&cfg.timeout, "timeout", 15*time.Minute, "deadline for the whole bench")
	flag.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write CPU profiles of generate in each phase to PREFIX-nothing.pprof and PREFIX-ghosts.pprof")
	cfg.events.flags()
	flag.Parse()
	if cfg.runs < 1 || cfg.children < 1 || cfg.sockets < cfg.children || cfg.ghosts < 1 || cfg.ghosts > cfg.children || cfg.calls < 1 ||
		cfg.busy < 0 || cfg.busyRuns < 1 {
		fmt.Fprintln(os.Stderr, "bench: want runs, busy-runs, calls, ghosts >= 1, ghosts <= children <= sockets, busy >= 0")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

// Rows of the table, in the order of the probes.
const (
	rowGenerate = iota
	rowSS
	rowSSP
	rowGopsutil
	rowScan
	rowQuery
	rowQueryDirect
	rowShow
	rowFloor
)

// The phases, in the order they run.
const (
	phaseQuiet = iota
	phaseNothing
	phaseBusyNothing
	phaseBusyGhosts
	phaseGhosts
)

// phase is one set of measurements.
type phase struct {
	name    string
	results []result
}

// busyChildSockets is what one process of the busy proxy holds: below the
// 20,000 descriptors a process may have here, with room for the rest.
const busyChildSockets = 16000

func bench(ctx context.Context, cfg config, out io.Writer) error {
	began := time.Now()
	report := &report{out: out, cfg: cfg, began: began, loadStart: loadAverage()}
	dir, err := os.MkdirTemp("", "lpbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	base, err := registry.Builtin()
	if err != nil {
		return err
	}
	mode := cfg.ports
	if mode == "auto" {
		mode = "admin"
		if os.Geteuid() == 0 {
			mode = "real"
		}
	}
	var adminPath string
	var candidates []ghostPorts
	switch mode {
	case "real":
		candidates = realGhosts(base)
	case "admin":
		candidates, adminPath, err = adminGhosts(base, 3*cfg.ghosts, dir)
	default:
		err = fmt.Errorf("-ports %q: want auto, real or admin", cfg.ports)
	}
	if err != nil {
		return err
	}
	report.adminPath = adminPath
	reg, err := registryInForce(adminPath)
	if err != nil {
		return err
	}
	report.reg = reg
	ss, err := exec.LookPath("ss")
	if err != nil {
		return err
	}

	progress("building both binaries")
	bins, err := buildBinaries(ctx, dir)
	if err != nil {
		return err
	}
	// regFlag gives argv the admin's file, if any, after its first n words.
	regFlag := func(n int, argv ...string) []string {
		if adminPath != "" {
			argv = append(argv[:n:n], append([]string{"--registry-file", adminPath}, argv[n:]...)...)
		}
		return argv
	}
	probes := []probe{
		rowGenerate: generateProbe(adminPath),
		rowSS:       commandProbe("ss -tuan", []int{0}, lines, ss, "-tuan"),
		rowSSP:      commandProbe("ss -tuanp", []int{0}, lines, ss, "-tuanp"),
		rowGopsutil: gopsutilProbe(reg),
		rowScan:     commandProbe("legacy-ports scan --format json", []int{0, 1}, jsonRows, regFlag(2, bins.cli, "scan", "--format", "json")...),
		// query renders as scan does and runs as users run it (legacy-ports
		// becomes legacy-ports-query), so that the difference is the SQL layer.
		rowQuery: commandProbe(`legacy-ports query --format json "SELECT * FROM legacy_ports"`, []int{0, 1}, jsonRows,
			regFlag(2, bins.cli, "query", "--format", "json", "SELECT * FROM legacy_ports")...),
		// The same, the program called by its own name: what the step
		// through legacy-ports costs is the difference.
		rowQueryDirect: commandProbe(`legacy-ports-query --format json "SELECT * FROM legacy_ports"`, []int{0, 1}, jsonRows,
			regFlag(1, bins.query, "--format", "json", "SELECT * FROM legacy_ports")...),
		rowShow:  commandProbe("legacy-ports registry show 609", []int{0}, lines, bins.cli, "registry", "show", "609"),
		rowFloor: commandProbe("floor: the least Go program listing sockets", []int{0}, socketCount, bins.floor),
	}
	report.probes = probes
	run := func(i int, name string, runs int, rows ...int) error {
		progress("phase %d/5, %s: %d runs", i+1, name, runs)
		res, err := measure(ctx, probes, runs, rows)
		if err != nil {
			return err
		}
		report.phases = append(report.phases, phase{name, res})
		return nil
	}

	if err := run(phaseQuiet, "the host as it is", cfg.runs, rowGenerate, rowSS, rowScan, rowQuery, rowQueryDirect, rowShow, rowFloor); err != nil {
		return err
	}
	report.quietCensus = takeCensus(ctx)

	perChild := cfg.sockets / cfg.children
	progress("starting %d children holding %d sockets each", cfg.children, perChild)
	sp := newSpawner()
	l, err := startLoad(ctx, sp, cfg.children, perChild, registryPorts(reg), nil)
	if err != nil {
		return err
	}
	defer l.stop()
	report.load = l
	report.census = takeCensus(ctx)

	if err := run(phaseNothing, "the load, nothing matches", cfg.runs); err != nil {
		return err
	}
	if err := profile(ctx, cfg.cpuprofile, "nothing", probes[rowGenerate]); err != nil {
		return err
	}

	var busy *load
	skip := func(name string) {
		res := make([]result, len(probes))
		for i := range res {
			res[i].na = "no busy proxy (-busy 0)"
		}
		report.phases = append(report.phases, phase{name, res})
	}
	if cfg.busy == 0 {
		skip("busy proxy, nothing matches")
	} else {
		n := (cfg.busy + busyChildSockets - 1) / busyChildSockets
		progress("busy proxy: %d processes holding %d TCP sockets", n, cfg.busy)
		busy, err = startLoad(ctx, sp, n, cfg.busy/n, registryPorts(reg), func(i int) []string {
			return []string{busyEnv + "=" + strconv.Itoa(100+i)}
		})
		if err != nil {
			return fmt.Errorf("busy proxy: %w", err)
		}
		defer busy.stop()
		report.busyProcs, report.busySockets = len(busy.children), busy.sockets
		report.busyCensus = takeCensus(ctx)
		if err := run(phaseBusyNothing, "busy proxy, nothing matches", cfg.busyRuns, rowGenerate, rowSS); err != nil {
			return err
		}
	}

	progress("placing ghosts: %d children listen on registry ports", cfg.ghosts)
	if err := report.placeGhosts(ctx, l, candidates); err != nil {
		return err
	}
	if busy == nil {
		skip("busy proxy, ghosts present")
	} else {
		if err := run(phaseBusyGhosts, "busy proxy, ghosts present", cfg.busyRuns, rowGenerate, rowSS, rowSSP); err != nil {
			return err
		}
		progress("gopsutil once with the busy proxy")
		report.phases[phaseBusyGhosts].results[rowGopsutil] = measureOnce(ctx, probes[rowGopsutil])
		busy.stop()
	}
	if err := run(phaseGhosts, "the load, ghosts present", cfg.runs); err != nil {
		return err
	}
	if err := profile(ctx, cfg.cpuprofile, "ghosts", probes[rowGenerate]); err != nil {
		return err
	}

	progress("extension: %d generate calls over Thrift", cfg.calls)
	report.ext, err = measureExtension(ctx, sp, bins.ext, adminPath, cfg.calls)
	if err != nil {
		return fmt.Errorf("extension: %w", err)
	}
	progress("events: the eBPF capture's cost and its count of lost events")
	if report.events, err = measureEvents(ctx, cfg.events, reg); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	progress("extension: %d registry-port events", cfg.floodEvents)
	if report.eventsRSS, err = measureEventsRSS(ctx, sp, bins.ext, reg, cfg.floodEvents); err != nil {
		return fmt.Errorf("extension with events: %w", err)
	}
	report.print()
	return nil
}

// placeGhosts has cfg.ghosts children, spread over the load, listen on
// candidate ports. A port that fails (another process holds it: other tests
// on this host listen on registry ports too) is skipped and said.
func (r *report) placeGhosts(ctx context.Context, l *load, candidates []ghostPorts) error {
	step := len(l.children) / r.cfg.ghosts
	next := 0
	for i := range r.cfg.ghosts {
		for {
			if next == len(candidates) {
				return fmt.Errorf("ran out of ghost ports after %d (%d skipped)", len(r.ghosts), len(r.skipped))
			}
			g := candidates[next]
			next++
			err := l.children[i*step].ghost(ctx, g)
			if err == nil {
				r.ghosts = append(r.ghosts, g)
				break
			}
			if ctx.Err() != nil {
				return err
			}
			r.skipped = append(r.skipped, err.Error())
		}
	}
	return nil
}

// profile runs generate for a few seconds under the CPU profiler, on tables
// built afresh each time as in the measurements, when prefix is set.
func profile(ctx context.Context, prefix, name string, p probe) error {
	if prefix == "" {
		return nil
	}
	path := prefix + "-" + name + ".pprof"
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	runs := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); runs++ {
		timed, err := p.prepare(ctx)
		if err != nil {
			return err
		}
		if err := timed(ctx); err != nil {
			return err
		}
	}
	progress("CPU profile of %d generate runs (%s): %s", runs, name, path)
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	var a, b5, c string
	if _, err := fmt.Sscan(string(b), &a, &b5, &c); err != nil {
		return "unknown"
	}
	return a + " " + b5 + " " + c
}

// census counts what the socket and descriptor walks have to get through.
type census struct {
	processes, fds, sockets, namespaces int
	err                                 error
}

func takeCensus(ctx context.Context) census {
	var c census
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return census{err: err}
	}
	for _, p := range procs {
		if p.Name()[0] < '0' || p.Name()[0] > '9' {
			continue
		}
		c.processes++
		if fds, err := os.ReadDir("/proc/" + p.Name() + "/fd"); err == nil {
			c.fds += len(fds)
		}
	}
	socks, err := sockets.Default().Sockets(ctx, sockets.KeepAll)
	c.sockets = len(socks)
	ns := map[uint64]bool{}
	for _, s := range socks {
		ns[s.NetNS] = true
	}
	c.namespaces = len(ns)
	c.err = err
	return c
}

// cpuModel is /proc/cpuinfo's first model name.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
