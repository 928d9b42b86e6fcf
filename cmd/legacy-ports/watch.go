package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/internal/render"
	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/events"
)

const watchUsage = `usage: legacy-ports watch [--format table|json] [--source auto|ebpf|poll] [--poll-interval SECONDS]

Prints every event on a registry port as it happens (the rows legacy_port_events
records), until Ctrl-C. The source: ebpf sees every bind, listen, connect,
accept, send and close, even those that last a millisecond (Linux 5.8 or later
with BTF, as root); poll lists the sockets every --poll-interval seconds and
misses those that come and go in between; auto uses eBPF where it loads, else
polls. The first line on stderr names the source in use.

Exit status: 0 after Ctrl-C or SIGTERM; 2 when no event source can run here.

flags:
`

// watchTableColumns are the columns the aligned table shows unless
// --columns says otherwise.
const watchTableColumns = "time,action,pid,process_name,transport,local_address,local_port,remote_address,remote_port,port,service,verdict"

// watchWidths keep the aligned table's columns steady as rows arrive.
var watchWidths = map[string]int{
	table.ColTime: 10, table.ColPID: 7, table.ColProcessName: 15, table.ColLocalAddress: 15,
	table.ColLocalPort: 5, table.ColRemoteAddress: 15, table.ColRemotePort: 5, table.ColService: 12, table.ColAction: 7,
}

// watchBuffer is how many events may wait for the terminal before the
// oldest waiting are dropped (and counted, on exit).
const watchBuffer = 4096

func runWatch(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlags("watch", stderr)
	format := fs.String("format", "table", "output format: table (aligned) or json (one object per line)")
	columns := fs.String("columns", "", "comma-separated columns, or all (default: all for json, a short list for table)")
	source := fs.String("source", "auto", "auto (eBPF where it loads, else poll), ebpf or poll")
	interval := fs.Float64("poll-interval", events.DefaultPollInterval.Seconds(), "seconds between polls of the poll source")
	adminFile := cli.RegistryFileFlag(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, watchUsage)
		fs.PrintDefaults()
	}
	if code, stop := cli.ParseFlags(fs, args); stop {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "legacy-ports watch: "+format+"\n", a...)
		return cli.ExitError
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	mode := events.ModeAuto
	switch *source {
	case "auto", "ebpf":
	case "poll":
		mode = events.ModePoll
	default:
		return fail("--source %q: want auto, ebpf or poll", *source)
	}
	if !(*interval > 0) || *interval > 86400 {
		return fail("--poll-interval %v: want a number of seconds above 0, at most 86400", *interval)
	}
	spec := *columns
	if spec == "" {
		spec = "all"
		if *format == "table" {
			spec = watchTableColumns
		}
	}
	var def table.Definition
	for _, d := range table.Schemas() {
		if d.Name == table.PortEvents {
			def = d
		}
	}
	cols, err := pickColumns(spec, cli.ColumnNames(def.Columns))
	if err != nil {
		return fail("--columns: %v", err)
	}
	out, err := render.NewStream(stdout, *format, cols, watchWidths)
	if err != nil {
		return fail("--format: %v", err)
	}

	opts, err := setup.Options(stderr, *adminFile)
	if err != nil {
		return fail("%v", err)
	}
	m, err := setup.Events(opts, setup.EventsConfig{Mode: mode, PollInterval: time.Duration(*interval * float64(time.Second))}, stderr)
	if err != nil {
		return fail("%v", err)
	}
	sub := m.Subscribe(watchBuffer)
	defer sub.Close()
	capture, stopCapture := context.WithCancel(ctx)
	m.Start(capture)
	stop := func() error {
		stopCapture()
		return m.Wait()
	}
	info := m.Info()
	if *source == "ebpf" && info.Source != events.StateEBPF {
		_ = stop()
		return fail("the eBPF source cannot run here: %s", info.Reason)
	}
	fmt.Fprintln(stderr, watchHeader(info, *interval, opts.State().Registry.Pairs()))

	for {
		select {
		case <-ctx.Done():
			err := stop()
			if n := sub.Dropped(); n > 0 {
				fmt.Fprintf(stderr, "legacy-ports watch: %d event(s) were not printed: the terminal did not keep up\n", n)
			}
			if err != nil {
				return fail("the capture failed: %v", err)
			}
			return cli.ExitClean
		case r := <-sub.C:
			if err := out.Write(table.EventRow(&r).Text()); err != nil {
				_ = stop()
				return fail("%v", err)
			}
		}
	}
}

// watchHeader names the source in use, and why eBPF is not.
func watchHeader(info events.Info, interval float64, pairs int) string {
	if info.Source == events.StateEBPF {
		return fmt.Sprintf("legacy-ports watch: source ebpf: every event on %d registry port/transport pairs; Ctrl-C to stop", pairs)
	}
	return fmt.Sprintf("legacy-ports watch: source poll, every %ss (%s): sockets that open and close between two polls are missed; Ctrl-C to stop",
		strconv.FormatFloat(interval, 'f', -1, 64), info.Reason)
}
