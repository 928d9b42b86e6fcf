package inventory

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// osquery results come in three shapes:
//   - osqueryi --json: one array of rows;
//   - osqueryd's result log, one JSON object per line: an event
//     ("columns" with "action" added or removed), a batch ("diffResults"
//     with "added" and "removed" arrays), or a snapshot ("snapshot");
//     https://osquery.readthedocs.io/en/stable/deployment/logging/
//   - rows of listening_ports (pid, port, protocol, family, address, fd,
//     socket, net_namespace) or process_open_sockets (local_address,
//     local_port, remote_address, remote_port, state, ...), joined or not
//     with processes (name, path, cmdline, uid; "process_name" and
//     "process_path" too). Values are strings, or numbers with
//     --logger_numerics.
//
// A result log is replayed: a snapshot replaces what its query said before,
// added and removed rows change it, and the state at the end is judged.

type osqRow map[string]any

func (r osqRow) text(keys ...string) string {
	for _, k := range keys {
		switch v := r[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case json.Number:
			return v.String()
		}
	}
	return ""
}

type osqLog struct {
	Name        string   `json:"name"`
	Action      string   `json:"action"`
	Columns     osqRow   `json:"columns"`
	Snapshot    []osqRow `json:"snapshot"`
	DiffResults *struct {
		Added   []osqRow `json:"added"`
		Removed []osqRow `json:"removed"`
	} `json:"diffResults"`
}

// osqState is what a result log says now, per query name.
type osqState struct {
	order []string
	rows  map[string]map[string]osqRow // query -> row key -> row
	lines map[string]int               // row key -> line it came from
}

func (st *osqState) query(name string) map[string]osqRow {
	if st.rows[name] == nil {
		st.rows[name] = map[string]osqRow{}
		st.order = append(st.order, name)
	}
	return st.rows[name]
}

func rowKey(r osqRow) string {
	b, _ := json.Marshal(r) // map keys are sorted
	return string(b)
}

// parseOsquery reads osquery's JSON and reports whether anything was read.
func parseOsquery(inv *Inventory, data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if trimmed[0] == '[' {
		return parseOsqueryArray(inv, data)
	}
	st := &osqState{rows: map[string]map[string]osqRow{}, lines: map[string]int{}}
	read := false
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var l osqLog
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&l); err != nil {
			inv.Problems = append(inv.Problems, Problem{Line: i + 1, Why: "not an osquery result log line: " + err.Error()})
			continue
		}
		q := st.query(l.Name)
		put := func(r osqRow) { k := rowKey(r); q[k] = r; st.lines[k] = i + 1 }
		switch {
		case l.Snapshot != nil || l.Action == "snapshot":
			clear(q)
			for _, r := range l.Snapshot {
				put(r)
			}
		case l.DiffResults != nil:
			for _, r := range l.DiffResults.Removed {
				delete(q, rowKey(r))
			}
			for _, r := range l.DiffResults.Added {
				put(r)
			}
		case l.Columns != nil && l.Action == "added":
			put(l.Columns)
		case l.Columns != nil && l.Action == "removed":
			delete(q, rowKey(l.Columns))
		default:
			inv.Problems = append(inv.Problems, Problem{Line: i + 1, Why: "an osquery log line with no snapshot, diffResults or columns"})
			continue
		}
		read = true
	}
	type kept struct {
		line int
		key  string
		row  osqRow
	}
	var all []kept
	for _, name := range st.order {
		for k, r := range st.rows[name] {
			all = append(all, kept{st.lines[k], k, r})
		}
	}
	slices.SortFunc(all, func(a, b kept) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.key, b.key)) })
	seen := map[string]bool{}
	for _, k := range all {
		addOsqRow(inv, k.row, k.line, seen)
	}
	return read
}

// parseOsqueryArray reads osqueryi --json: an array of rows, each reported
// with the line it starts on.
func parseOsqueryArray(inv *Inventory, data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// lineAt is the line of the first value at or after off.
	lineAt := func(off int64) int {
		for off < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n,"), data[off]) >= 0 {
			off++
		}
		return bytes.Count(data[:min(off, int64(len(data)))], []byte("\n")) + 1
	}
	if _, err := dec.Token(); err != nil {
		inv.Problems = append(inv.Problems, Problem{Line: 1, Why: err.Error()})
		return false
	}
	seen := map[string]bool{}
	read := false
	for dec.More() {
		start := lineAt(dec.InputOffset())
		var r osqRow
		if err := dec.Decode(&r); err != nil {
			// The decoder cannot resynchronise inside an array: keep the
			// rows read so far and say where it broke.
			inv.Problems = append(inv.Problems, Problem{Line: start, Why: "osqueryi --json array: " + err.Error()})
			return read
		}
		read = addOsqRow(inv, r, start, seen) || read
	}
	return read
}

// addOsqRow turns one row into a socket; a row that is not one becomes a
// problem at its line. seen drops the same socket given by two queries
// (listening_ports and process_open_sockets both list listeners).
func addOsqRow(inv *Inventory, r osqRow, line int, seen map[string]bool) bool {
	s, pid, err := osqSocket(r)
	if err != nil {
		inv.Problems = append(inv.Problems, Problem{Line: line, Why: err.Error()})
		return false
	}
	if s.Family == 0 {
		return true // a unix socket
	}
	key := fmt.Sprint(pid, r.text("fd"), s.Protocol, s.Local, s.Remote)
	if seen[key] {
		return true
	}
	seen[key] = true
	if pid >= 0 {
		fd := int64(-1)
		if n, err := strconv.ParseInt(r.text("fd"), 10, 64); err == nil {
			fd = n
		}
		s.Owners = []sockets.Owner{{PID: pid, FD: fd}}
		p := sockets.Process{Name: r.text("process_name", "name"), Path: r.text("process_path"), Cmdline: r.text("cmdline"), Username: r.text("username"), UID: -1}
		if p.Path == "" && strings.ContainsAny(r.text("path"), `/\`) && s.Family != 0 {
			p.Path = r.text("path") // processes.path, joined in; an inet socket has no path of its own
		}
		if uid, err := strconv.ParseInt(r.text("uid"), 10, 64); err == nil {
			p.UID = uid
		}
		inv.nameProcess(pid, p)
	}
	inv.Socks = append(inv.Socks, s)
	return true
}

// osqSocket reads the socket columns of a row; Family 0 means a socket
// that is not TCP or UDP over IP, which is skipped.
func osqSocket(r osqRow) (sockets.Socket, int32, error) {
	protoText := r.text("protocol")
	if protoText == "" {
		return sockets.Socket{}, 0, errNoProtocol
	}
	p, err := strconv.Atoi(protoText)
	if err != nil {
		return sockets.Socket{}, 0, fmt.Errorf("protocol %q is not a number", protoText)
	}
	fam := r.text("family")
	if (p != int(protoTCP) && p != int(protoUDP)) || fam == "1" {
		return sockets.Socket{}, 0, nil
	}
	proto := uint8(p)
	v6 := fam == "10" || fam == "23" || fam == "30" // AF_INET6 on Linux, Windows, macOS
	localAddr, localPort := r.text("local_address", "address"), r.text("local_port", "port")
	local, err := osqEndpoint(localAddr, localPort, v6)
	if err != nil {
		return sockets.Socket{}, 0, err
	}
	remote, err := osqEndpoint(r.text("remote_address"), r.text("remote_port"), local.Addr().Is6())
	if err != nil {
		return sockets.Socket{}, 0, err
	}
	state := ""
	_, fromOpenSockets := r["local_address"]
	switch st := r.text("state"); {
	case st != "":
		var ok bool
		if state, ok = tcpState(st); !ok {
			return sockets.Socket{}, 0, fmt.Errorf("unknown TCP state %q", st)
		}
	case proto == protoTCP && !fromOpenSockets:
		state = "LISTEN" // listening_ports has no state column
	}
	pid := int32(-1)
	if t := r.text("pid"); t != "" {
		n, err := strconv.ParseInt(t, 10, 32)
		if err != nil {
			return sockets.Socket{}, 0, fmt.Errorf("pid %q is not a number", t)
		}
		if n >= 0 {
			pid = int32(n)
		}
	}
	s := newSocket(proto, local, remote, state)
	if ino, err := strconv.ParseUint(r.text("socket"), 10, 64); err == nil && ino > 0 {
		s.Inode = ino
	}
	return s, pid, nil
}

var errNoProtocol = errors.New("row has no protocol column: not listening_ports or process_open_sockets")

func osqEndpoint(addr, port string, v6 bool) (netip.AddrPort, error) {
	var n uint64
	if port != "" {
		var err error
		if n, err = strconv.ParseUint(port, 10, 16); err != nil {
			return netip.AddrPort{}, fmt.Errorf("port %q is not a number", port)
		}
	}
	if addr == "" {
		return netip0(v6), nil
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q is not an IP address", addr)
	}
	return netip.AddrPortFrom(a.WithZone(""), uint16(n)), nil
}
