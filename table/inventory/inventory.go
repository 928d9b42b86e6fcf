// Package inventory reads the sockets of another host from the text that
// common tools print: `ss -tuan[p]`, Linux `netstat -tuan[p]`/`-tulpn`,
// Windows `netstat -ano` (and `-anob`), `lsof -nP -i` (macOS and Linux),
// and osquery's listening_ports or process_open_sockets results as JSON
// (osqueryi --json, or osqueryd's result log). It detects the format, keeps
// every line it can read, and says which lines it could not. The result is
// a sockets.Source, so the same table code judges it as it judges this host.
package inventory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Format names an input format.
type Format string

// The formats Parse detects.
const (
	SS             Format = "ss"
	NetstatLinux   Format = "netstat (Linux)"
	NetstatWindows Format = "netstat (Windows)"
	Lsof           Format = "lsof"
	OsqueryJSON    Format = "osquery JSON"
)

// Problem is a line that could not be read.
type Problem struct {
	Line int
	Why  string
}

func (p Problem) String() string { return fmt.Sprintf("%d: %s", p.Line, p.Why) }

// Inventory is what one input says about its host.
type Inventory struct {
	Format   Format
	Socks    []sockets.Socket
	Procs    map[int32]sockets.Process
	Problems []Problem
	// HasOwners is true when the input names the process of each socket (a
	// pid column), so that a socket without one has no process.
	HasOwners bool
}

// ErrNothingReadable is returned when no line of the input could be read.
var ErrNothingReadable = errors.New("no line could be read as the output of ss, netstat, lsof or osquery (JSON)")

// maxInput bounds what Parse reads: a host with a million sockets prints
// about 150 MB; more is not an inventory.
const maxInput = 256 << 20

// Parse reads an inventory, detecting its format. Lines it cannot read are
// listed in Problems; the error is set only when nothing could be read.
func Parse(r io.Reader) (*Inventory, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("input larger than %d MB", maxInput>>20)
	}
	inv := &Inventory{Procs: map[int32]sockets.Process{}}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		inv.Format, inv.HasOwners = OsqueryJSON, true
		read := parseOsquery(inv, data)
		slices.SortStableFunc(inv.Problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		if !read {
			return inv, ErrNothingReadable
		}
		return inv, nil
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	p, first, start := detect(lines)
	if p == nil {
		return inv, ErrNothingReadable
	}
	inv.Format, inv.HasOwners = p.format, p.owners
	for i := range first {
		if l := strings.TrimSpace(lines[i]); l != "" && !isTitle(l) {
			inv.Problems = append(inv.Problems, Problem{Line: i + 1, Why: "not part of the " + string(p.format) + " output that follows"})
		}
	}
	for i := start; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if why := p.line(inv, line); why != "" {
			inv.Problems = append(inv.Problems, Problem{Line: i + 1, Why: why})
		}
	}
	return inv, nil
}

// parser reads the lines of one format; line says why it could not read
// one ("" when it could, or when the line is one the format knows and
// ignores).
type parser struct {
	format Format
	owners bool
	line   func(inv *Inventory, line string) (why string)
}

// isTitle tells netstat's title lines ("Active Internet connections ...",
// "Active Connections", localized on Windows) from data.
func isTitle(l string) bool {
	f := strings.Fields(l)
	return len(f) > 0 && !strings.ContainsAny(l, ":*") && (f[0] == "Active" || len(f) <= 3)
}

// detect finds the format from its header line, or, when the header was
// left out (ss -H), from the first line that one of the formats reads. It
// returns the parser, the index of the line that identified it, and the
// index of the first data line.
func detect(lines []string) (*parser, int, int) {
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch {
		case (f[0] == "Netid" || f[0] == "State") && strings.Contains(l, "Recv-Q"):
			return newSS(l), i, i + 1
		case f[0] == "Proto" && strings.Contains(l, "Recv-Q"):
			return newNetstatLinux(l), i, i + 1
		case f[0] == "Proto" && strings.Contains(l, "Local Address"):
			return newNetstatWindows(l), i, i + 1
		case f[0] == "COMMAND" && strings.Contains(l, "PID") && strings.Contains(l, "NAME"):
			return newLsof(), i, i + 1
		}
		for _, p := range []*parser{newSS(""), newNetstatLinux(""), newNetstatWindows(""), newLsof()} {
			probe := &Inventory{Procs: map[int32]sockets.Process{}}
			if p.line(probe, l) == "" && len(probe.Socks) > 0 {
				return p, i, i
			}
		}
	}
	return nil, 0, 0
}

// nameProcess records what the input says of a process.
func (inv *Inventory) nameProcess(pid int32, p sockets.Process) {
	if pid < 0 {
		return
	}
	old, seen := inv.Procs[pid]
	if seen && old.Name != "" && p.Name == "" {
		return
	}
	if p.UID == 0 && p.Username == "" {
		p.UID = -1
	}
	inv.Procs[pid] = p
}

// Sockets returns the sockets that keep accepts, in input order.
func (inv *Inventory) Sockets(_ context.Context, keep sockets.Filter) ([]sockets.Socket, error) {
	out := make([]sockets.Socket, 0, len(inv.Socks))
	for _, s := range inv.Socks {
		if keep.Keep(s.Local.Port(), s.Remote.Port(), s.Protocol) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Owners finds nothing: the input gives each socket's owners with it, or
// not at all.
func (inv *Inventory) Owners(context.Context, map[uint64]struct{}, []int32) (map[uint64][]sockets.Owner, error) {
	return nil, nil
}

// Process describes a process as the input names it; a pid the input gives
// without a name (Windows netstat -ano) has no details.
func (inv *Inventory) Process(_ context.Context, pid int32) (sockets.Process, error) {
	if p, ok := inv.Procs[pid]; ok {
		return p, nil
	}
	return sockets.Process{UID: -1}, nil
}

// Capabilities says what the input could tell: owners when it has a pid
// column, never network namespaces.
func (inv *Inventory) Capabilities() sockets.Capabilities {
	a := sockets.None
	if inv.HasOwners {
		a = sockets.Full
	}
	return sockets.Capabilities{Attribution: a}
}

// Summary says in one line what was read, for people.
func (inv *Inventory) Summary() string {
	named := 0
	for _, p := range inv.Procs {
		if p.Name != "" {
			named++
		}
	}
	protos := map[string]int{}
	for _, s := range inv.Socks {
		protos[protoName(s.Protocol)]++
	}
	keys := make([]string, 0, len(protos))
	for k := range protos {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", protos[k], k)
	}
	return fmt.Sprintf("%s: %d socket(s) (%s), %d named process(es), %d unreadable line(s)",
		inv.Format, len(inv.Socks), strings.Join(parts, ", "), named, len(inv.Problems))
}
