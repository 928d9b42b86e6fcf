package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// csvHeader is the header line of IANA's CSV export.
const csvHeader = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact," +
	"Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n"

// ianaFixture is a small extract in IANA's shape: shared ports, a range, a
// multi-line quoted field, a de-assigned port, a removed entry.
const ianaFixture = csvHeader + `,0,tcp,Reserved,,,,2024-12-20,[RFC6335],,,
,2,tcp,Reserved,,,,,,,,"De-assigned on 2025-02-13, previously compressnet by [Bernie_Volz]"
,2,udp,Reserved,,,,,,,,"De-assigned on 2025-02-13, previously compressnet by [Bernie_Volz]"
,47,tcp,Reserved,,,,,,,,This entry has been removed on 2017-05-18.
,47,udp,Reserved,,,,,,,,
exec,512,tcp,"remote process execution;
authentication performed using
passwords and UNIX login names",,,,,,,,
comsat,512,udp,,,,,,,,,
biff,512,udp,used by mail system to notify users,,,,,,,,
npmp-gui,611,tcp,npmp-gui,[John_Barnes],[John_Barnes],,,,,,
npmp-gui,611,udp,npmp-gui,[John_Barnes],[John_Barnes],,,,,,
dec-dlm,625,tcp,DEC DLM,,,,,,,,
dec_dlm,625,tcp,DEC DLM,,,,,,,,"This entry is now historic, not usable for use with many
common service discovery mechanisms."
netconf-beep,,tcp,NETCONF over BEEP,,,,,,,,
,700,sctp,Unassigned,,,,,,,,
CAIlic,216,tcp,Computer Associates Int'l License Server,,,,,,,,
CAIlic,216,udp,Computer Associates Int'l License Server,,,,,,,,
x11,6000-6003,tcp,X Window System,,,,,,,,
x11,6000-6003,udp,X Window System,,,,,,,,
,6004-6010,tcp,Unassigned,,,,,,,,
`

// testRegistry builds a registry from compact entries, one per line of the
// data file "test.yml": "PORTS TRANSPORTS SERVICE [DEASSIGNED]", e.g.
// "611 tcp,udp npmp-gui" or "2 tcp compressnet 2025-02-13".
func testRegistry(t *testing.T, entries ...string) *Registry {
	t.Helper()
	var b strings.Builder
	b.WriteString("updated: 2026-11-22\nentries:\n")
	for _, s := range entries {
		f := strings.Fields(s)
		fmt.Fprintf(&b, "  - {port: %q, transport: [%s], service: %s, description: d, category: dead-protocol,"+
			" retired: unknown, replaced_by: none, confidence: low, references: [r]", f[0], f[1], f[2])
		if len(f) > 3 {
			fmt.Fprintf(&b, ", deassigned: %s", f[3])
		}
		b.WriteString("}\n")
	}
	file, err := Parse("test.yml", []byte(b.String()))
	if err != nil {
		t.Fatalf("Parse:\n%s\n%v", b.String(), err)
	}
	r, err := Load(file)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

func TestVerifyIANA(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		want    []string // Diff.String(); entry i is on line i+3 of test.yml
	}{
		{
			name:    "correct names",
			entries: []string{"611 tcp,udp npmp-gui", "512 tcp exec", "512 udp biff", "625 tcp dec-dlm"},
		},
		{
			name:    "wrong name",
			entries: []string{"611 tcp,udp npmp-guy"},
			want: []string{
				"test.yml:3: 611/tcp: IANA registers npmp-gui, registry says npmp-guy",
				"test.yml:3: 611/udp: IANA registers npmp-gui, registry says npmp-guy",
			},
		},
		{
			name:    "several names on the port",
			entries: []string{"512 udp exec"},
			want: []string{
				"test.yml:3: 512/udp: IANA registers comsat and biff, registry says exec; IANA registers exec on tcp only",
			},
		},
		{
			name:    "wrong transport",
			entries: []string{"625 tcp,udp dec-dlm"},
			want: []string{
				"test.yml:3: 625/udp: IANA has no row for this port, registry says dec-dlm; IANA registers dec-dlm on tcp only",
			},
		},
		{
			name:    "range covered",
			entries: []string{"6000-6003 tcp,udp x11"},
		},
		{
			name:    "range part of IANA's range",
			entries: []string{"6001 tcp x11"},
		},
		{
			name:    "range beyond IANA's range",
			entries: []string{"6002-6005 tcp x11"},
			want: []string{
				"test.yml:3: 6004/tcp: IANA lists the port as Unassigned, registry says x11",
				"test.yml:3: 6005/tcp: IANA lists the port as Unassigned, registry says x11",
			},
		},
		{
			name:    "de-assigned",
			entries: []string{"2 tcp,udp compressnet 2025-02-13", "47 tcp ni-ftp 2017-05-18"},
		},
		{
			name:    "de-assigned on another date",
			entries: []string{"2 tcp compressnet 2025-02-14"},
			want: []string{
				`test.yml:3: 2/tcp: IANA's note says "De-assigned on 2025-02-13, previously compressnet by [Bernie_Volz]", registry says de-assigned on 2025-02-14`,
			},
		},
		{
			name:    "de-assigned without IANA's note",
			entries: []string{"47 tcp,udp ni-ftp 2017-05-18"},
			want: []string{
				"test.yml:3: 47/udp: registry says de-assigned on 2017-05-18, but IANA lists the port as Reserved without a de-assignment note",
			},
		},
		{
			name:    "de-assigned but still registered",
			entries: []string{"611 tcp npmp-gui 2020-01-01"},
			want: []string{
				"test.yml:3: 611/tcp: registry says de-assigned on 2020-01-01, but IANA registers npmp-gui",
			},
		},
		{
			name:    "de-assigned by IANA, not in the registry",
			entries: []string{"2 tcp compressnet"},
			want: []string{
				`test.yml:3: 2/tcp: IANA lists the port as Reserved, registry says compressnet` +
					` (IANA's note: "De-assigned on 2025-02-13, previously compressnet by [Bernie_Volz]"; set deassigned?)`,
			},
		},
		{
			name:    "case differs",
			entries: []string{"216 tcp cailic", "611 udp NPMP-GUI"},
			want: []string{
				"test.yml:3: 216/tcp: IANA spells the name CAIlic, registry says cailic",
				"test.yml:4: 611/udp: IANA spells the name npmp-gui, registry says NPMP-GUI",
			},
		},
		{
			name:    "no row at all",
			entries: []string{"9999 tcp ghost"},
			want:    []string{"test.yml:3: 9999/tcp: IANA has no row for this port, registry says ghost"},
		},
		{
			name:    "sorted by file line, then port and transport",
			entries: []string{"9999 udp,tcp ghost", "611 tcp npmp-guy"},
			want: []string{
				"test.yml:3: 9999/tcp: IANA has no row for this port, registry says ghost",
				"test.yml:3: 9999/udp: IANA has no row for this port, registry says ghost",
				"test.yml:4: 611/tcp: IANA registers npmp-gui, registry says npmp-guy",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs, err := VerifyIANA(testRegistry(t, tt.entries...), strings.NewReader(ianaFixture))
			if err != nil {
				t.Fatalf("VerifyIANA: %v", err)
			}
			var got []string
			for _, d := range diffs {
				got = append(got, d.String())
				if !strings.HasPrefix(d.Msg, fmt.Sprintf("%d/%s: ", d.Port, TransportName(d.Transport))) {
					t.Errorf("Msg %q does not start with its port and transport", d.Msg)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("diffs:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestVerifyIANAMalformed(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		want string // in the error
	}{
		{"empty", "", "file is empty"},
		{"wrong header", "Name,Port,Proto,Desc,a,b,c,d,e,f,g,h\n", "line 1: header starts"},
		{"too few fields", csvHeader + "x,1,tcp,d,,,,,,,,\ny,2,tcp,d\n", "record on line 3: wrong number of fields"},
		{"bare quote", csvHeader + "x,1,tcp,d,,,,,,,,\ny,2,tcp,a \"quoted\" word,,,,,,,,\n", "line 3"},
		{"unterminated quote", csvHeader + "x,1,tcp,\"d,,,,,,,,\n", "extraneous or missing \" in quoted-field"},
		{"bad port", csvHeader + "x,1,tcp,\"two\nlines\",,,,,,,,\ny,twelve,tcp,d,,,,,,,,\n", `line 4: port number "twelve"`},
		{"bad range", csvHeader + "x,20-10,udp,d,,,,,,,,\n", `line 2: port number "20-10"`},
		{"port too high", csvHeader + "x,70000,tcp,d,,,,,,,,\n", `line 2: port number "70000"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs, err := VerifyIANA(testRegistry(t, "611 tcp npmp-gui"), strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("VerifyIANA error = %v, want one containing %q", err, tt.want)
			}
			if diffs != nil {
				t.Errorf("diffs = %v, want none with an error", diffs)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestVerifyIANAUnreadable(t *testing.T) {
	_, err := VerifyIANA(testRegistry(t, "611 tcp npmp-gui"), failingReader{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("VerifyIANA error = %v, want the read error", err)
	}
}

// repoRoot is the directory of the module's go.mod, found upwards from the
// test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// sharedData is the path of a file of the team's shared research data, which
// lives next to the repository, not in it; the test skips when it is absent.
func sharedData(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "..", "shared", "data", name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found (%v): the check against it needs the shared research data next to the repository", path, err)
	}
	return path
}

// TestBuiltinMatchesIANA checks every built-in entry against IANA's registry.
func TestBuiltinMatchesIANA(t *testing.T) {
	path := sharedData(t, "iana-service-names-port-numbers.csv")
	r, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	diffs, err := VerifyIANA(r, f)
	if err != nil {
		t.Fatalf("VerifyIANA(%s): %v", path, err)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("%d entries, %d (port, transport) pairs checked against %s: %d diffs", r.Len(), r.Pairs(), path, len(diffs))
}
