//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	gnet "github.com/shirou/gopsutil/v4/net"

	"github.com/legacy-ports/legacy-ports/internal/setup"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
)

// probe is one row of the table, measured in each phase.
type probe struct {
	name      string
	inProcess bool // its allocation is measured too
	// warm runs it once, untimed, and says what it found.
	warm func(ctx context.Context) (found string, err error)
	// prepare does the untimed set-up of one run and returns the timed part.
	prepare func(ctx context.Context) (func(context.Context) error, error)
}

// notRun marks a row that a phase leaves out.
const notRun = "-"

// errNotBuilt marks a command the CLI does not have yet.
var errNotBuilt = errors.New("not built")

// result is one probe in one phase.
type result struct {
	found string
	na    string // why it was not measured
	err   error
	times []time.Duration
	alloc []uint64 // bytes allocated per run, in process only
}

// measure warms every probe of rows (nil: all), then runs them round-robin,
// so that load from elsewhere on the host falls on every row alike rather
// than on one. The other rows are marked as not run.
func measure(ctx context.Context, probes []probe, runs int, rows []int) ([]result, error) {
	res := make([]result, len(probes))
	for i, p := range probes {
		if rows != nil && !slices.Contains(rows, i) {
			res[i].na = notRun
			continue
		}
		found, err := p.warm(ctx)
		switch {
		case errors.Is(err, errNotBuilt):
			res[i].na = "n/a (" + err.Error() + ")"
		case err != nil:
			res[i].err = err
		}
		res[i].found = found
	}
	for range runs {
		for i, p := range probes {
			r := &res[i]
			if r.na != "" || r.err != nil {
				continue
			}
			timed, err := p.prepare(ctx)
			if err != nil {
				r.err = err
				continue
			}
			var before, after runtime.MemStats
			if p.inProcess {
				// The garbage of the previous row is not this row's to collect.
				runtime.GC()
				runtime.ReadMemStats(&before)
			}
			start := time.Now()
			err = timed(ctx)
			d := time.Since(start)
			if p.inProcess {
				runtime.ReadMemStats(&after)
				r.alloc = append(r.alloc, after.TotalAlloc-before.TotalAlloc)
			}
			if err != nil {
				r.err = err
				continue
			}
			r.times = append(r.times, d)
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// measureOnce times p's untimed run, for a row too slow to run again.
func measureOnce(ctx context.Context, p probe) result {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	found, err := p.warm(ctx)
	d := time.Since(start)
	runtime.ReadMemStats(&after)
	r := result{found: found, err: err}
	if err == nil {
		r.times = []time.Duration{d}
		if p.inProcess {
			r.alloc = []uint64{after.TotalAlloc - before.TotalAlloc}
		}
	}
	return r
}

// generateProbe calls legacy_ports' generate in this process, as both
// binaries do, on tables built afresh for each run: a new snapshot, so that
// the one-second snapshot never serves a measured call.
func generateProbe(adminPath string) probe {
	var def table.Definition
	setUp := func(context.Context) error {
		opts, err := setup.Options(io.Discard, adminPath)
		if err != nil {
			return err
		}
		opts.State() // reads the admin's file, as the first call of a binary does
		for _, d := range table.Definitions(opts) {
			if d.Name == table.LegacyPorts {
				def = d
				return nil
			}
		}
		return errors.New("no legacy_ports table")
	}
	return probe{
		name:      "legacy_ports generate (in process, new snapshot)",
		inProcess: true,
		warm: func(ctx context.Context) (string, error) {
			if err := setUp(ctx); err != nil {
				return "", err
			}
			rows, err := def.Generate(ctx, table.Request{})
			return fmt.Sprintf("%d rows", len(rows)), err
		},
		prepare: func(ctx context.Context) (func(context.Context) error, error) {
			if err := setUp(ctx); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				_, err := def.Generate(ctx, table.Request{})
				return err
			}, nil
		},
	}
}

// gopsutilProbe is what an extension built on gopsutil alone would do:
// every connection of this namespace, with its pid, joined with the
// registry on the local and the remote port.
func gopsutilProbe(reg *registry.Registry) probe {
	join := func(ctx context.Context) (matched, all int, err error) {
		conns, err := gnet.ConnectionsWithContext(ctx, "inet")
		if err != nil {
			return 0, 0, err
		}
		for _, c := range conns {
			proto := registry.TCP
			if c.Type == syscall.SOCK_DGRAM {
				proto = registry.UDP
			}
			if reg.Has(uint16(c.Laddr.Port), proto) || reg.Has(uint16(c.Raddr.Port), proto) {
				matched++
			}
		}
		return matched, len(conns), nil
	}
	return probe{
		name:      `gopsutil Connections("inet") + registry join`,
		inProcess: true,
		warm: func(ctx context.Context) (string, error) {
			m, n, err := join(ctx)
			return fmt.Sprintf("%d of %d connections", m, n), err
		},
		prepare: func(context.Context) (func(context.Context) error, error) {
			return func(ctx context.Context) error {
				_, _, err := join(ctx)
				return err
			}, nil
		},
	}
}

// commandProbe runs a whole process, output to /dev/null; okCodes are the
// exit codes that mean success. count says what the warm run's output holds.
func commandProbe(name string, okCodes []int, count func(out []byte) string, argv ...string) probe {
	return probe{
		name: name,
		warm: func(ctx context.Context) (string, error) {
			var out bytes.Buffer
			if err := runCommand(ctx, &out, okCodes, argv); err != nil {
				return "", err
			}
			return count(out.Bytes()), nil
		},
		prepare: func(context.Context) (func(context.Context) error, error) {
			return func(ctx context.Context) error {
				return runCommand(ctx, nil, okCodes, argv)
			}, nil
		},
	}
}

// runCommand runs argv with stdout to out; a nil out is /dev/null, which
// the child writes to directly, with no copy by us.
func runCommand(ctx context.Context, out io.Writer, okCodes []int, argv []string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && slices.Contains(okCodes, exit.ExitCode()) {
		return nil
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "unknown command") {
			return fmt.Errorf("%s %w", argv[1], errNotBuilt)
		}
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, firstLine(msg))
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// lines counts output lines after the header.
func lines(out []byte) string {
	return fmt.Sprintf("%d lines", max(0, bytes.Count(out, []byte("\n"))-1))
}

// socketCount is what floor prints: how many sockets it saw.
func socketCount(out []byte) string {
	return strings.TrimSpace(string(out)) + " sockets"
}

// jsonRows counts the rows of a JSON array.
func jsonRows(out []byte) string {
	var rows []json.RawMessage
	if err := json.Unmarshal(out, &rows); err != nil {
		return "output is not a JSON array"
	}
	return fmt.Sprintf("%d rows", len(rows))
}

// stats are the median and the 10th and 90th percentiles (nearest rank).
type stats[T ~int64 | ~float64] struct{ median, p10, p90 T }

func summarize[T ~int64 | ~float64](xs []T) stats[T] {
	if len(xs) == 0 {
		return stats[T]{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	rank := func(p int) T { return s[max(0, (p*n+99)/100-1)] }
	return stats[T]{median: med, p10: rank(10), p90: rank(90)}
}

func medianBytes(b []uint64) uint64 {
	if len(b) == 0 {
		return 0
	}
	s := slices.Clone(b)
	slices.Sort(s)
	return s[len(s)/2]
}
