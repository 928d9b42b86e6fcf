package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/osquery/osquery-go"
	genosquery "github.com/osquery/osquery-go/gen/osquery"

	"github.com/legacy-ports/legacy-ports/internal/buildinfo"
	"github.com/legacy-ports/legacy-ports/internal/logging"
	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/events"
	"github.com/legacy-ports/legacy-ports/table/osqplugin"
)

// extensionName is what osquery_extensions, --extensions_require and Fleet's
// presence checks know us by: never change it.
const extensionName = "legacy_ports"

const usage = `legacy_ports.ext: the legacy-ports osquery extension.

osquery starts it as
  legacy_ports.ext [--verbose] --socket PATH --timeout SECONDS --interval SECONDS
and it also takes
  --registry-file PATH
              the admin's registry file, for manual runs (default: the platform's path)
  --events auto|poll|off
              legacy_port_events' capture: eBPF where it loads, else polling
              (auto, the default); always polling; or none
  --events_expiry SECONDS
              how long an event is kept (default 3600)
  --events_max N
              at most this many rows are kept, the oldest dropped first (default 50000)
  --events_poll_interval SECONDS
              the poll capture's period (default 5)
  --spec      print the table specs as JSON and exit
  --version   print the version and exit
Unknown flags are reported and ignored, so that a newer osquery cannot stop it.
osquery passes only its own flags: to set the --events flags under osqueryd,
list a wrapper script in extensions.load that runs this binary with them.
`

// config is the command line, as osquery passes it.
type config struct {
	socket   string
	timeout  time.Duration // osquery's --extensions_timeout
	interval time.Duration // osquery's --extensions_interval: the ping period
	verbose  bool
	registry string // the admin's registry file; osquery never passes it
	events   setup.EventsConfig
	spec     bool
	version  bool
}

// defaultEvents are the --events flags' defaults: osquery's 3600 s for
// events_expiry, as its own events tables.
var defaultEvents = setup.EventsConfig{
	Mode: events.ModeAuto, Expiry: events.DefaultExpiry, Max: events.DefaultMax, PollInterval: events.DefaultPollInterval,
}

// seconds is a flag holding a duration given in seconds, as osquery passes
// it ("3"); "1.5" and Go durations ("500ms") are accepted too.
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return strconv.FormatFloat(s.d.Seconds(), 'f', -1, 64)
}

func (s seconds) Set(v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
		*s.d = time.Duration(f * float64(time.Second))
		return nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		*s.d = d
		return nil
	}
	return fmt.Errorf("%q is not a positive number of seconds", v)
}

// parseArgs reads the flags. A flag it does not know is logged as a warning
// and skipped, with its value when the value is a separate argument: an
// extension that exits on an unknown flag is respawned by osqueryd forever.
func parseArgs(args []string, log *slog.Logger) (config, error) {
	c := config{timeout: 3 * time.Second, interval: 3 * time.Second, events: defaultEvents}
	fs := flag.NewFlagSet("legacy_ports.ext", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.socket, "socket", "", "osquery's extension socket")
	fs.Var(seconds{&c.timeout}, "timeout", "seconds to wait for osquery")
	fs.Var(seconds{&c.interval}, "interval", "seconds between pings")
	fs.BoolVar(&c.verbose, "verbose", false, "log what happens")
	fs.StringVar(&c.registry, "registry-file", "", "the admin's registry file, for manual runs")
	fs.StringVar(&c.events.Mode, "events", c.events.Mode, "auto, poll or off")
	fs.Var(seconds{&c.events.Expiry}, "events_expiry", "seconds an event is kept")
	fs.IntVar(&c.events.Max, "events_max", c.events.Max, "rows kept at most")
	fs.Var(seconds{&c.events.PollInterval}, "events_poll_interval", "seconds between polls")
	fs.BoolVar(&c.spec, "spec", false, "print the table specs")
	fs.BoolVar(&c.version, "version", false, "print the version")

	var known []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil || !strings.HasPrefix(a, "-") {
			known = append(known, a)
			// A value given as the next argument is the flag's, even "-1".
			if f != nil && !hasValue && !isBool(f) && i+1 < len(args) {
				i++
				known = append(known, args[i])
			}
			continue
		}
		if name == "h" || name == "help" {
			return c, flag.ErrHelp
		}
		skipped := a
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++
			skipped += " " + args[i]
		}
		log.Warn("ignoring unknown flag " + skipped)
	}
	if err := fs.Parse(known); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		log.Warn(fmt.Sprintf("ignoring arguments %q", fs.Args()))
	}
	switch c.events.Mode {
	case events.ModeAuto, events.ModePoll, events.ModeOff:
	default:
		return c, fmt.Errorf("--events %q: want auto, poll or off", c.events.Mode)
	}
	if c.events.Max <= 0 {
		return c, fmt.Errorf("--events_max %d: want a positive number of rows", c.events.Max)
	}
	if c.socket == "" && !c.spec && !c.version {
		return c, errors.New("--socket is required: osquery passes it when it starts the extension")
	}
	return c, nil
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// run is the whole program; it returns the exit code. 0: osquery asked us
// to stop, or a signal did; 1: osquery went away or forgot us, so that
// osqueryd starts us again; 2: a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	log := logging.New(stderr, level)
	c, err := parseArgs(args, log)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "legacy_ports: %v\n\n%s", err, usage)
		return 2
	}
	if c.verbose {
		level.Set(slog.LevelInfo)
	}
	switch {
	case c.version:
		fmt.Fprintf(stdout, "legacy_ports.ext %s (%s)\n", buildinfo.Version, buildinfo.Commit)
		return 0
	case c.spec:
		// The schema alone: no registry, no socket source.
		out, _ := json.MarshalIndent(osqplugin.Specs(table.Schemas()), "", "  ")
		fmt.Fprintf(stdout, "%s\n", out)
		return 0
	}
	opts, err := setup.Options(stderr, c.registry)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The capture starts before registration and stops, releasing every
	// eBPF program, link and map, whichever way serve ends.
	mgr, err := setup.Events(opts, c.events, stderr)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	captureCtx, stopCapture := context.WithCancel(ctx)
	mgr.Start(captureCtx)
	defer func() {
		stopCapture()
		if err := mgr.Wait(); err != nil {
			log.Warn("events capture: " + err.Error())
		}
	}()
	info := mgr.Info()
	log.Info("events", "source", info.Source, "reason", info.Reason)
	opts.Events = mgr
	if err := serve(ctx, c, opts, log); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

// ioTimeout bounds each call on the connection to osquery core, the
// registration included, which is slow on some busy hosts.
func ioTimeout(c config) time.Duration { return max(c.timeout, 30*time.Second) }

// serve registers the tables with osquery and serves them until osquery asks
// us to stop (nil), ctx ends (nil), or osquery goes away or forgets us.
func serve(ctx context.Context, c config, opts table.Options, log *slog.Logger) error {
	if err := waitForCore(ctx, c.socket, max(c.timeout, 5*time.Second)); err != nil {
		return err
	}
	client, err := osquery.NewClient(c.socket, ioTimeout(c))
	if err != nil {
		return fmt.Errorf("connecting to osquery at %s: %w", c.socket, err)
	}
	defer client.Close()
	rc := &recordingClient{ExtensionManagerClient: client}
	server, err := osquery.NewExtensionManagerServer(extensionName, c.socket,
		osquery.WithClient(rc),
		osquery.ServerTimeout(ioTimeout(c)),
		osquery.ServerPingInterval(c.interval),
		osquery.ExtensionVersion(buildinfo.Version),
		// Unbuffered, every Thrift field is a write syscall: about 120 per
		// row (make bench); buffered, a few per call.
		osquery.WithTransportFactory(thrift.NewTBufferedTransportFactory(64<<10)),
	)
	if err != nil {
		return err
	}
	server.RegisterPlugin(osqplugin.Plugins(table.Definitions(opts))...)

	ran := make(chan error, 1)
	go func() { ran <- server.Run() }()
	forgotten := make(chan error, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		if err := watchRegistration(watchCtx, c, rc); err != nil {
			forgotten <- err
		}
	}()
	log.Info("serving", "extension", extensionName, "socket", c.socket)

	select {
	case err = <-ran:
	case err = <-forgotten:
	case <-ctx.Done():
		log.Info("signal received, shutting down")
	}
	if shutdownErr := server.Shutdown(context.Background()); shutdownErr != nil {
		log.Info("shutdown", "error", shutdownErr)
	}
	if err == nil {
		log.Info("osquery asked us to stop")
	}
	return err
}

// waitForCore waits until osquery's socket answers a ping: the file may not
// exist yet, and on Windows a pipe that does not exist fails at once.
func waitForCore(ctx context.Context, socket string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		last = pingCore(socket)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("osquery did not answer on %s within %s: %w", socket, limit, last)
		case <-tick.C:
		}
	}
}

func pingCore(socket string) error {
	client, err := osquery.NewClient(socket, time.Second)
	if err != nil {
		return err
	}
	defer client.Close()
	st, err := client.Ping()
	if err != nil {
		return err
	}
	if st.Code != 0 {
		return fmt.Errorf("ping status %d: %s", st.Code, st.Message)
	}
	return nil
}

// recordingClient remembers the UUID osquery gives us at registration, which
// osquery-go keeps to itself.
type recordingClient struct {
	*osquery.ExtensionManagerClient
	uuid atomic.Int64
}

func (r *recordingClient) RegisterExtension(info *genosquery.InternalExtensionInfo, reg genosquery.ExtensionRegistry) (*genosquery.ExtensionStatus, error) {
	st, err := r.ExtensionManagerClient.RegisterExtension(info, reg)
	if err == nil && st.Code == 0 {
		r.uuid.Store(int64(st.UUID))
	}
	return st, err
}

// watchRegistration returns an error when osquery, still alive, no longer
// lists our UUID: it then no longer routes queries to us (fleet#52093), and
// osquery-go would go on answering pings forever. Exiting lets osqueryd
// start us again. Errors talking to osquery are left to the ping loop.
func watchRegistration(ctx context.Context, c config, rc *recordingClient) error {
	client, err := osquery.NewClient(c.socket, ioTimeout(c))
	if err != nil {
		return nil //nolint:nilerr // a core that is gone is the ping loop's to report
	}
	defer client.Close()
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		uuid := rc.uuid.Load()
		if uuid == 0 {
			continue
		}
		list, err := client.Extensions()
		if err != nil {
			continue
		}
		if _, ok := list[genosquery.ExtensionRouteUUID(uuid)]; !ok {
			return fmt.Errorf("osquery no longer lists this extension (uuid %d); exiting so that osqueryd starts it again", uuid)
		}
	}
}
