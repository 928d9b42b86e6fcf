package registry

import (
	"encoding/csv"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// builtin returns the embedded registry, failing the test if it does not load.
func builtin(t *testing.T) *Registry {
	t.Helper()
	r, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	return r
}

func at(e *Entry) string { return fmt.Sprintf("%s:%d: %s %s", e.File, e.Line, e.Ports(), e.Service) }

// TestBuiltinLoads checks that the embedded data parses, that no (port,
// transport) is claimed twice (Load refuses that), and that the size is sane.
func TestBuiltinLoads(t *testing.T) {
	r := builtin(t)
	const minEntries = 400 // the curated dataset's floor; fewer means a data file went missing
	if r.Len() < minEntries {
		t.Errorf("Builtin has %d entries, want at least %d", r.Len(), minEntries)
	}
	// Every entry must own all of its (port, transport) pairs: New silently lets
	// a later entry replace an earlier one, Load must not have let that happen.
	pairs := 0
	for _, e := range r.Entries() {
		pairs += (int(e.PortHigh) - int(e.PortLow) + 1) * len(e.Transports)
		for p := int(e.PortLow); p <= int(e.PortHigh); p++ {
			for _, proto := range e.Transports {
				if got, _ := r.Lookup(uint16(p), proto); got != e {
					t.Errorf("%s: %d/%s resolves to %v, not to this entry", at(e), p, TransportName(proto), got)
				}
			}
		}
	}
	if pairs != r.Pairs() {
		t.Errorf("entries cover %d (port, transport) pairs, the index holds %d", pairs, r.Pairs())
	}
	t.Logf("%d entries, %d (port, transport) pairs, updated %s", r.Len(), r.Pairs(), r.Date())
}

// TestBuiltinEntryInvariants checks what the loader cannot: the loader
// validates each field on its own, this test the data's house rules.
func TestBuiltinEntryInvariants(t *testing.T) {
	r := builtin(t)
	updatedYear, err := strconv.Atoi(r.Date()[:4])
	if err != nil {
		t.Fatalf("registry date %q: %v", r.Date(), err)
	}
	for _, e := range r.Entries() {
		bad := func(format string, args ...any) { t.Errorf("%s: %s", at(e), fmt.Sprintf(format, args...)) }

		if e.Source != "builtin" || e.File == "" || e.Line <= 0 {
			bad("source %q, file %q, line %d: want builtin with a location", e.Source, e.File, e.Line)
		}
		// One file per category, named after it; the key still sits on each entry.
		if want := strings.TrimSuffix(path.Base(e.File), ".yml"); string(e.Category) != want {
			bad("category %q in file %s, want %q", e.Category, e.File, want)
		}
		if !slices.Contains(Categories, e.Category) {
			bad("unknown category %q", e.Category)
		}
		if !slices.Contains([]Confidence{High, Medium, Low}, e.Confidence) {
			bad("unknown confidence %q", e.Confidence)
		}
		if len(e.Transports) == 0 {
			bad("no transport")
		}
		for _, proto := range e.Transports {
			if proto != TCP && proto != UDP {
				bad("transport %d is neither tcp nor udp", proto)
			}
		}
		if len(e.References) == 0 {
			bad("no references")
		}
		for _, ref := range e.References {
			if strings.TrimSpace(ref) == "" || strings.ContainsAny(ref, "\r\n") {
				bad("reference %q must be one non-empty line", ref)
			}
		}
		for field, text := range map[string]string{"description": e.Description, "replaced_by": e.ReplacedBy, "note": e.Note} {
			if strings.ContainsAny(text, "\r\n") {
				bad("%s spans several lines: %q", field, text)
			}
		}
		if e.Description == "" || e.ReplacedBy == "" {
			bad("empty description or replaced_by")
		}
		if e.Retired != 0 && (e.Retired < 1970 || e.Retired > updatedYear) {
			bad("retired %d is not a plausible year (1970 to %d)", e.Retired, updatedYear)
		}
		if e.Deassigned > r.Date() { // both YYYY-MM-DD
			bad("deassigned %s is after the data's date %s", e.Deassigned, r.Date())
		}
		// historic-rfc means the IETF (or the IAB's STD 1 list) made it Historic;
		// the entry must say where.
		if e.Category == HistoricRFC && !slices.ContainsFunc(e.References, func(ref string) bool {
			return strings.Contains(strings.ToLower(ref), "historic")
		}) {
			bad("historic-rfc entry without a reference that gives the Historic status")
		}
	}
}

// mustNeverMatch are (port, transport) pairs of live protocols that look old;
// flagging any of them would be a false positive on most hosts.
var mustNeverMatch = []struct {
	port  uint16
	proto uint8
	what  string
}{
	{22, TCP, "ssh"},
	{25, TCP, "smtp"},
	{53, TCP, "dns"},
	{53, UDP, "dns"},
	{88, UDP, "kerberos"},
	{102, TCP, "iso-tsap (Siemens S7, IEC 61850)"},
	{111, TCP, "sunrpc portmapper"},
	{123, UDP, "ntp"},
	{161, UDP, "snmp"},
	{162, TCP, "snmptrap"},
	{162, UDP, "snmptrap"},
	{389, TCP, "ldap"},
	{389, UDP, "ldap (CLDAP)"},
	{443, TCP, "https"},
	{445, TCP, "smb"},
	{514, UDP, "syslog"},
	{520, UDP, "rip (RIPv2)"},
	{548, TCP, "afp (Netatalk NAS)"},
	{830, TCP, "netconf-ssh"},
	{902, TCP, "VMware authd"},
	{2049, TCP, "nfs"},
	{7000, TCP, "afs3-fileserver"},
}

// TestBuiltinSparesAlivePorts checks that no entry claims a port that is alive:
// a hard-coded list always, and the team's do-not-flag list when present.
func TestBuiltinSparesAlivePorts(t *testing.T) {
	r := builtin(t)
	t.Run("must-never-match", func(t *testing.T) {
		for _, tt := range mustNeverMatch {
			if e, ok := r.Lookup(tt.port, tt.proto); ok {
				t.Errorf("%d/%s (%s) is alive, but %s claims it", tt.port, TransportName(tt.proto), tt.what, at(e))
			}
		}
	})
	t.Run("alive-ports.tsv", func(t *testing.T) {
		alive := readAlivePorts(t, sharedData(t, "alive-ports.tsv"))
		for _, a := range alive {
			if e, ok := r.Lookup(a.port, a.proto); ok {
				t.Errorf("%d/%s is on the do-not-flag list as %s, but %s claims it",
					a.port, TransportName(a.proto), a.name, at(e))
			}
		}
		t.Logf("%d alive (port, transport) pairs checked", len(alive))
	})
}

type alivePort struct {
	port  uint16
	proto uint8
	name  string
}

// readAlivePorts reads the do-not-flag list: tab-separated, a header, then
// port (or range), protocols separated by "/", IANA name, reason. Only its
// tcp and udp pairs are returned.
func readAlivePorts(t *testing.T, file string) []alivePort {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma = '\t'
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(rows) < 2 || !slices.Equal(rows[0][:3], []string{"port", "protocols", "iana_name"}) {
		t.Fatalf("%s: unexpected header or no rows: %q", file, rows[:min(len(rows), 1)])
	}
	var out []alivePort
	for i, row := range rows[1:] {
		lo, hi, err := ParsePorts(row[0])
		if err != nil {
			t.Fatalf("%s: row %d: %v", file, i+2, err)
		}
		for p := int(lo); p <= int(hi); p++ {
			for _, name := range strings.Split(row[1], "/") {
				if proto, ok := TransportNumber(name); ok {
					out = append(out, alivePort{uint16(p), proto, row[2]})
				}
			}
		}
	}
	return out
}

// TestBuiltinSeedFacts pins the verdicts on the claims the project started
// from (see the shared DATASET.md, section 3): the names IANA really has on
// these ports, and not the myths.
func TestBuiltinSeedFacts(t *testing.T) {
	r := builtin(t)
	tests := []struct {
		port    uint16
		service string
	}{
		{609, "npmp-trap"},
		{610, "npmp-local"},
		{611, "npmp-gui"},
		{625, "dec-dlm"},
		{660, "mac-srvr-admin"},
		{672, "vpps-qua"},
		{1033, "netinfo-local"},
	}
	for _, tt := range tests {
		for _, proto := range []uint8{TCP, UDP} {
			t.Run(fmt.Sprintf("%d/%s", tt.port, TransportName(proto)), func(t *testing.T) {
				e, ok := r.Lookup(tt.port, proto)
				if !ok {
					t.Fatalf("not in the registry, want %s", tt.service)
				}
				if e.Service != tt.service {
					t.Errorf("%s: want service %s", at(e), tt.service)
				}
			})
		}
	}

	// 609-611 and 672 were never NetInfo's: a text on them that names NetInfo
	// must also carry the denial, a sentence with "not" before "NetInfo".
	denial := regexp.MustCompile(`(?i)\bnot\b[^.]*\bnetinfo\b`)
	for _, port := range []uint16{609, 610, 611, 672} {
		for _, proto := range []uint8{TCP, UDP} {
			e, ok := r.Lookup(port, proto)
			if !ok {
				continue // reported above
			}
			texts := append([]string{e.Description, e.ReplacedBy, e.Note}, e.References...)
			for _, text := range texts {
				if strings.Contains(strings.ToLower(text), "netinfo") && !denial.MatchString(text) {
					t.Errorf("%s repeats the NetInfo myth: %q", at(e), text)
				}
			}
			if strings.Contains(strings.ToLower(e.Description), "netinfo") {
				t.Errorf("%s: the description names NetInfo; keep the denial in the note", at(e))
			}
		}
	}

	// "apple-xsrvr-admin" is nmap's label for 625, not an IANA name.
	for _, e := range r.Entries() {
		if strings.EqualFold(e.Service, "apple-xsrvr-admin") {
			t.Errorf("%s: apple-xsrvr-admin is not an IANA service name (625 is dec-dlm)", at(e))
		}
	}
}

// parseBase is a valid data file with one entry; its lines are numbered for
// the error messages below.
const parseBase = `updated: 2026-11-22
entries:
  - port: 611
    transport: [tcp, udp]
    service: npmp-gui
    description: GUI port of npmp.
    category: dead-protocol
    retired: unknown
    replaced_by: none
    confidence: low
    references: ["IANA: npmp-gui"]
`

func TestParseErrors(t *testing.T) {
	if _, err := Parse("t.yml", []byte(parseBase)); err != nil {
		t.Fatalf("the base file must parse: %v", err)
	}
	tests := []struct {
		name     string
		old, new string // edit applied to parseBase
		want     string // in the error
	}{
		{"unknown entry key", "    references:", "    colour: red\n    references:",
			`t.yml:11: unknown key "colour"`},
		{"unknown top-level key", "entries:", "version: 2\nentries:",
			`t.yml:2: unknown key "version" (want updated, entries)`},
		{"missing updated", "updated: 2026-11-22\n", "",
			`t.yml:1: missing key updated`},
		{"bad updated", "2026-11-22", "22/11/2026",
			`t.yml:1: updated: want a date YYYY-MM-DD, got "22/11/2026"`},
		{"bad category", "category: dead-protocol", "category: ghost",
			`t.yml:7: category: unknown value "ghost"`},
		{"port out of range", "port: 611", "port: 70000",
			`t.yml:3: port: "70000" is not a port number from 1 to 65535`},
		{"port zero", "port: 611", "port: 0",
			`t.yml:3: port: "0" is not a port number from 1 to 65535`},
		{"port not a number", "port: 611", "port: six",
			`t.yml:3: port: "six" is not a port number`},
		{"backward range", "port: 611", "port: 6063-6000",
			`t.yml:3: port: range "6063-6000": the end must be above the start`},
		{"missing references", `    references: ["IANA: npmp-gui"]` + "\n", "",
			`t.yml:3: entry 611 npmp-gui: missing key references`},
		{"empty references", `["IANA: npmp-gui"]`, "[]",
			`t.yml:11: references: at least one reference is required`},
		{"bad transport", "[tcp, udp]", "[tcp, sctp]",
			`t.yml:4: transport: unknown value "sctp" (want tcp or udp)`},
		{"ill-formed service name", "service: npmp-gui", "service: npmp_gui",
			`t.yml:5: service: "npmp_gui" is not a well-formed IANA service name`},
		{"implausible year", "retired: unknown", "retired: 1850",
			`t.yml:8: retired: "1850" is neither a year nor "unknown"`},
		{"bad confidence", "confidence: low", "confidence: certain",
			`t.yml:10: confidence: unknown value "certain"`},
		{"key given twice", "    confidence: low\n", "    confidence: low\n    confidence: high\n",
			`t.yml:11: key "confidence" given twice`},
		{"bad deassigned date", "    confidence: low\n", "    confidence: low\n    deassigned: 2025\n",
			`t.yml:11: deassigned: want a date YYYY-MM-DD, got "2025"`},
		{"YAML syntax: tab indent", "  - port: 611", "\t- port: 611",
			`t.yml: line 3: found character that cannot start any token`},
		{"YAML syntax: mapping in a value", "service: npmp-gui", "service: npmp: gui",
			`t.yml: line 5: mapping values are not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(parseBase, tt.old, tt.new, 1)
			if src == parseBase {
				t.Fatalf("edit %q -> %q changed nothing", tt.old, tt.new)
			}
			f, err := Parse("t.yml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v\nwant one containing %q\nsource:\n%s", err, tt.want, src)
			}
			if f != nil {
				t.Errorf("Parse returned a file along with the error")
			}
		})
	}
}

func TestLoadRejectsDuplicates(t *testing.T) {
	tests := []struct {
		name       string
		aPort      string // parseBase's 611 tcp/udp in a.yml becomes this
		bPort      string // and b.yml holds the same entry on this port
		bTransport string
		want       string // in the error; "" for no error
	}{
		{"same port and transport", "611", "611", "[udp]",
			"b.yml:3: 611/udp is already claimed by npmp-gui at a.yml:3"},
		{"same port, other transport", "611", "611", "[tcp]",
			"b.yml:3: 611/tcp is already claimed by npmp-gui at a.yml:3"},
		{"range overlaps a port", "6000-6063", "6010", "[tcp]",
			"b.yml:3: 6010/tcp is already claimed by npmp-gui at a.yml:3"},
		{"neighbours do not clash", "611", "612", "[tcp, udp]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse("a.yml", []byte(strings.Replace(parseBase, "port: 611", "port: "+tt.aPort, 1)))
			if err != nil {
				t.Fatal(err)
			}
			bSrc := strings.Replace(parseBase, "port: 611", "port: "+tt.bPort, 1)
			b, err := Parse("b.yml", []byte(strings.Replace(bSrc, "[tcp, udp]", tt.bTransport, 1)))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Load(a, b)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if r.Len() != 2 {
					t.Errorf("Load kept %d entries, want 2", r.Len())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want one containing %q", err, tt.want)
			}
			if r != nil {
				t.Errorf("Load returned a registry along with the error")
			}
		})
	}
}
