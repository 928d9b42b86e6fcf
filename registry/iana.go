package registry

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Diff is one disagreement between a registry entry and IANA's registry, for
// one (port, transport) the entry covers.
type Diff struct {
	Entry     *Entry // the registry entry; Entry.File and Entry.Line locate it
	Port      uint16
	Transport uint8  // TCP or UDP
	Msg       string // complete sentence, starting with "port/transport: "
}

func (d Diff) String() string {
	return fmt.Sprintf("%s:%d: %s", d.Entry.File, d.Entry.Line, d.Msg)
}

// ianaRow is what VerifyIANA keeps of one row of IANA's CSV.
type ianaRow struct {
	name  string // Service Name; empty for Reserved and Unassigned rows
	desc  string // Description ("Reserved", "Unassigned", ...)
	notes string // Assignment Notes
}

// The columns VerifyIANA reads, and the header it expects.
const (
	colName = iota
	colPort
	colTransport
	colDescription
	colNotes   = 11
	ianaFields = 12
)

var (
	ianaHeader = []string{"Service Name", "Port Number", "Transport Protocol", "Description"}

	// deassignNote matches the Assignment Notes IANA writes when it withdraws
	// a port: "De-assigned on ...", "This entry has been removed on ...",
	// "De-registered", "... released by [RFC9900]".
	deassignNote = regexp.MustCompile(`(?i)de-?assign|removed|de-?regist|released`)
	noteDate     = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
)

// VerifyIANA checks r against IANA's Service Name and Transport Protocol Port
// Number Registry, read as IANA's CSV export (12 columns, header first,
// quoted fields may span lines, Port Number may be a range like 6000-6063).
//
// For every entry and every (port, transport) it covers:
//
//   - an entry without Deassigned must carry a service name that IANA
//     registers on that port and transport. Service names are
//     case-insensitive (RFC 6335 §5.1), so the name is found ignoring case;
//     but the dataset promises IANA's exact spelling, so a name that differs
//     only in case is still reported, as a spelling Diff.
//   - an entry with Deassigned must find the port Reserved with an empty
//     service name, and Assignment Notes that mention the de-assignment or
//     removal. When the notes carry a YYYY-MM-DD date, it must equal
//     Deassigned.
//
// The Diffs are sorted by file, line, port and transport. An error is
// returned only when the CSV cannot be read or is malformed, and then it names
// the CSV line.
func VerifyIANA(r *Registry, csvData io.Reader) ([]Diff, error) {
	rows, err := readIANA(csvData, wantedPorts(r))
	if err != nil {
		return nil, err
	}
	var diffs []Diff
	for _, e := range r.Entries() {
		for p := int(e.PortLow); p <= int(e.PortHigh); p++ {
			for _, proto := range e.Transports {
				msg := checkEntry(e, uint16(p), proto, rows)
				if msg != "" {
					diffs = append(diffs, Diff{Entry: e, Port: uint16(p), Transport: proto,
						Msg: fmt.Sprintf("%d/%s: %s", p, TransportName(proto), msg)})
				}
			}
		}
	}
	slices.SortFunc(diffs, func(a, b Diff) int {
		return cmp.Or(
			cmp.Compare(a.Entry.File, b.Entry.File),
			cmp.Compare(a.Entry.Line, b.Entry.Line),
			cmp.Compare(a.Port, b.Port),
			cmp.Compare(a.Transport, b.Transport),
			cmp.Compare(a.Msg, b.Msg))
	})
	return diffs, nil
}

// wantedPorts is every port some entry covers. VerifyIANA keeps IANA's rows
// for these ports only, on both transports, so that a wrong transport can be
// told apart from a wrong name.
func wantedPorts(r *Registry) map[uint16]bool {
	want := map[uint16]bool{}
	for _, e := range r.Entries() {
		for p := int(e.PortLow); p <= int(e.PortHigh); p++ {
			want[uint16(p)] = true
		}
	}
	return want
}

// readIANA reads IANA's CSV and returns the tcp and udp rows for the wanted ports.
func readIANA(in io.Reader, want map[uint16]bool) (map[key][]ianaRow, error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = ianaFields
	cr.ReuseRecord = true
	rows := map[key][]ianaRow{}
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return nil, errors.New("IANA CSV: file is empty")
			}
			return rows, nil
		}
		if err != nil {
			// csv.ParseError already names the line.
			return nil, fmt.Errorf("IANA CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if n == 0 {
			if !slices.Equal(rec[:len(ianaHeader)], ianaHeader) {
				return nil, fmt.Errorf("IANA CSV line %d: header starts %q, want %q",
					line, rec[:len(ianaHeader)], ianaHeader)
			}
			continue
		}
		proto, ok := TransportNumber(strings.ToLower(strings.TrimSpace(rec[colTransport])))
		ports := strings.TrimSpace(rec[colPort])
		if !ok || ports == "" { // sctp, dccp, or a service name without a port
			continue
		}
		lo, hi, err := ianaPorts(ports)
		if err != nil {
			line, _ := cr.FieldPos(colPort)
			return nil, fmt.Errorf("IANA CSV line %d: %w", line, err)
		}
		row := ianaRow{
			name:  strings.TrimSpace(rec[colName]),
			desc:  strings.TrimSpace(rec[colDescription]),
			notes: strings.TrimSpace(rec[colNotes]),
		}
		for p := lo; p <= hi; p++ {
			if want[uint16(p)] {
				rows[key{uint16(p), proto}] = append(rows[key{uint16(p), proto}], row)
			}
		}
	}
}

// ianaPorts reads IANA's Port Number column: "0", "611" or "6000-6063".
// Unlike ParsePorts it accepts port 0, which IANA lists as Reserved.
func ianaPorts(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err = strconv.Atoi(a)
	if err == nil && isRange {
		hi, err = strconv.Atoi(b)
	} else {
		hi = lo
	}
	if err != nil || lo < 0 || hi < lo || hi > 65535 {
		return 0, 0, fmt.Errorf("port number %q is neither a port nor a range of ports", s)
	}
	return lo, hi, nil
}

// checkEntry returns what is wrong with e on (port, proto), or "".
func checkEntry(e *Entry, port uint16, proto uint8, rows map[key][]ianaRow) string {
	here := rows[key{port, proto}]
	if e.Deassigned != "" {
		return checkDeassigned(e, here)
	}
	var names []string
	for _, row := range here {
		switch {
		case row.name == e.Service:
			return ""
		case strings.EqualFold(row.name, e.Service):
			return fmt.Sprintf("IANA spells the name %s, registry says %s", row.name, e.Service)
		case row.name != "":
			names = append(names, row.name)
		}
	}
	var msg string
	switch {
	case len(names) > 0:
		msg = fmt.Sprintf("IANA registers %s, registry says %s", strings.Join(names, " and "), e.Service)
	case len(here) == 0:
		msg = "IANA has no row for this port, registry says " + e.Service
	default:
		msg = fmt.Sprintf("IANA lists the port as %s, registry says %s", here[0].desc, e.Service)
		if deassignNote.MatchString(here[0].notes) {
			msg += fmt.Sprintf(" (IANA's note: %q; set deassigned?)", here[0].notes)
		}
	}
	other := UDP
	if proto == UDP {
		other = TCP
	}
	for _, row := range rows[key{port, other}] {
		if strings.EqualFold(row.name, e.Service) {
			return msg + fmt.Sprintf("; IANA registers %s on %s only", row.name, TransportName(other))
		}
	}
	return msg
}

// checkDeassigned checks a de-assigned entry against IANA's rows for one
// (port, transport).
func checkDeassigned(e *Entry, here []ianaRow) string {
	var names []string
	for _, row := range here {
		if row.name != "" {
			names = append(names, row.name)
		}
	}
	if len(names) > 0 {
		return fmt.Sprintf("registry says de-assigned on %s, but IANA registers %s", e.Deassigned, strings.Join(names, " and "))
	}
	for _, row := range here {
		if !deassignNote.MatchString(row.notes) {
			continue
		}
		if dates := noteDate.FindAllString(row.notes, -1); len(dates) > 0 && !slices.Contains(dates, e.Deassigned) {
			return fmt.Sprintf("IANA's note says %q, registry says de-assigned on %s", row.notes, e.Deassigned)
		}
		return ""
	}
	if len(here) == 0 {
		return fmt.Sprintf("registry says de-assigned on %s, but IANA has no row for this port", e.Deassigned)
	}
	return fmt.Sprintf("registry says de-assigned on %s, but IANA lists the port as %s without a de-assignment note",
		e.Deassigned, here[0].desc)
}
