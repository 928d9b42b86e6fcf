package registry

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The registry's second edition corrected errors that a review found in the
// first. Each correction has a row below, so that the error cannot come back
// unnoticed, and the general checks state the rules those errors broke.

// fieldOf returns one field of an entry, by its YAML key, as text.
func fieldOf(e *Entry, field string) string {
	switch field {
	case "description":
		return e.Description
	case "replaced_by":
		return e.ReplacedBy
	case "note":
		return e.Note
	case "retired":
		return strconv.Itoa(e.Retired)
	case "references":
		return strings.Join(e.References, "\n")
	}
	panic("fieldOf: unknown field " + field)
}

// corrections pins the corrected entries: a field must contain (require) or
// must not contain (forbid) a text, compared case-insensitively.
var corrections = []struct {
	port    uint16
	proto   uint8
	field   string
	require bool
	text    string
	why     string
}{
	{105, TCP, "replaced_by", false, "DNS",
		"the CSNET name server was a directory of people, not of hosts"},
	{105, TCP, "replaced_by", true, "whois", "whois, CCSO Ph and X.500/LDAP followed CSNET's people directory"},
	{105, TCP, "replaced_by", true, "LDAP", "whois, CCSO Ph and X.500/LDAP followed CSNET's people directory"},
	{105, TCP, "description", false, "host", "the CSNET name server looked up people's mailboxes, not hosts"},
	{18, TCP, "references", true, "RFC 1360 (September 1992)", "RFC 1360 is dated September 1992, not August"},
	{95, TCP, "references", true, "RFC 1360 (September 1992)", "RFC 1360 is dated September 1992, not August"},
	{21, TCP, "retired", true, "2021",
		"insecure-legacy.yml sets retired once a major implementation dropped the protocol: Chrome 95 and Firefox 90 removed FTP in 2021"},
	{2105, TCP, "note", true, "MSMQ", "Microsoft Message Queuing listens on 2105 by default"},
	{259, TCP, "note", true, "Check Point", "259/tcp is Check Point's predefined FW1_clntauth_telnet"},
	{261, TCP, "note", true, "Check Point", "261/tcp is Check Point's predefined FW1_snauth"},
	{265, TCP, "note", true, "Check Point", "265/tcp is Check Point's predefined FW1_key"},
	{1745, TCP, "note", true, "KDE Connect", "KDE Connect and GSConnect listen on a port in 1714-1764"},
	{2100, TCP, "note", true, "Oracle XML DB", "Oracle XML DB's FTP server was conventionally put on 2100"},
}

func TestEdition2Corrections(t *testing.T) {
	r := builtin(t)
	for _, c := range corrections {
		verb := map[bool]string{true: "contain", false: "not contain"}[c.require]
		t.Run(fmt.Sprintf("%d/%s %s %s %q", c.port, TransportName(c.proto), c.field, verb, c.text), func(t *testing.T) {
			e, ok := r.Lookup(c.port, c.proto)
			if !ok {
				t.Fatalf("not in the registry (%s)", c.why)
			}
			value := fieldOf(e, c.field)
			if strings.Contains(strings.ToLower(value), strings.ToLower(c.text)) != c.require {
				t.Errorf("%s: %s must %s %q: %s\n%s: %q", at(e), c.field, verb, c.text, c.why, c.field, value)
			}
		})
	}
}

// liveDefaults are ports that a living product opens by default. An entry on
// one of them would call that product a ghost on every host that runs it, so
// the registry must not claim them (the first edition claimed the first six).
var liveDefaults = []struct {
	port  uint16
	proto uint8
	owner string
}{
	{750, UDP, "MIT Kerberos krb5kdc: its second default KDC port (kdc_ports 88,750); was kerberos-iv"},
	{257, TCP, "Check Point FW1_log: gateways send logs to the management or log server here; was set"},
	{264, TCP, "Check Point FW1_topo: remote-access clients fetch the VPN topology here; was bgmp"},
	{1533, TCP, "HCL (formerly IBM Lotus) Sametime Community Server, the descendant of Ubique's Virtual Places; was virtual-places"},
	{912, TCP, "VMware Workstation's vmware-authd, next to 902 (netstat -b on Windows hosts); was apex-mesh"},
	{5050, UDP, "Windows 10 and 11 Connected Devices Platform service (CDPSvc); was mmcc"},
	{754, TCP, "MIT Kerberos kpropd (krb5_prop), database propagation to replica KDCs"},
	{5678, TCP, "n8n workflow automation, default HTTP port"},
	{9993, UDP, "ZeroTier One"},
	{9997, TCP, "Splunk indexers receiving from forwarders"},
	{7680, TCP, "Windows Delivery Optimization (ms-do)"},
	{1716, TCP, "KDE Connect and GSConnect"},
	{1527, TCP, "Apache Derby / Java DB network server"},
	{2535, UDP, "Windows DHCP Server's MADCAP"},
	{2701, TCP, "Microsoft Configuration Manager remote control (CmRcService)"},
	{1645, UDP, "Cisco IOS's default RADIUS authentication port"},
	{1646, UDP, "Cisco IOS's default RADIUS accounting port"},
	{992, TCP, "IBM i Telnet over TLS"},
	{4000, TCP, "NoMachine NX server"},
	{5000, TCP, "macOS AirPlay Receiver (Monterey and later)"},
	{9090, TCP, "Prometheus and Cockpit"},
	{3000, TCP, "Grafana"},
	{8500, TCP, "HashiCorp Consul HTTP API"},
	{8200, TCP, "HashiCorp Vault"},
	{7800, TCP, "IBM App Connect Enterprise HTTP listener"},
	{7070, TCP, "AnyDesk direct connections"},
	{9875, UDP, "SAP session announcements in AES67 audio networks"},
}

// TestEdition2Size holds the second edition's floor: the issue asked for at
// least 600 entries.
func TestEdition2Size(t *testing.T) {
	const minEntries = 600
	if n := builtin(t).Len(); n < minEntries {
		t.Errorf("the registry has %d entries, want at least %d", n, minEntries)
	}
}

func TestEdition2SparesLiveDefaults(t *testing.T) {
	r := builtin(t)
	for _, d := range liveDefaults {
		if e, ok := r.Lookup(d.port, d.proto); ok {
			t.Errorf("%d/%s is opened by default by %s, but %s claims it", d.port, TransportName(d.proto), d.owner, at(e))
		}
	}
}

// rfcDates are the publication dates of the RFCs that the data cites with a
// date, from the RFC Editor's index. RFC 9900 is given as IANA's registry
// cites it (its rows for 831-833 changed on 2025-09-29); it was not checked
// against the RFC Editor's index.
var rfcDates = map[int]string{
	407: "October 1972", 734: "October 1977", 740: "November 1977", 759: "August 1980",
	818: "November 1982", 887: "December 1983", 913: "September 1984", 937: "February 1985",
	953: "October 1985", 972: "January 1986", 996: "February 1987", 1021: "October 1987",
	1028: "November 1987", 1056: "June 1988", 1068: "August 1988", 1078: "November 1988",
	1083: "December 1988", 1100: "April 1989", 1140: "May 1990", 1159: "June 1990",
	1189: "October 1990", 1203: "February 1991", 1227: "May 1991", 1249: "August 1991",
	1339: "June 1992", 1360: "September 1992", 1410: "March 1993", 1436: "March 1993",
	1440: "July 1993", 1476: "June 1993", 1492: "July 1993", 1500: "August 1993",
	1540: "October 1993", 1835: "August 1995", 1861: "October 1995", 1986: "August 1996",
	1992: "August 1996", 2188: "September 1997", 2205: "September 1997", 2229: "October 1997",
	2244: "November 1997", 2522: "March 1999", 2832: "May 2000", 3340: "July 2002",
	3529: "April 2003", 3561: "July 2003", 3620: "October 2003", 3684: "February 2004",
	3913: "September 2004", 3981: "January 2005", 3983: "January 2005", 4227: "January 2006",
	4430: "March 2006", 4707: "October 2006", 4743: "December 2006", 4744: "December 2006",
	4767: "March 2007", 4992: "August 2007", 4993: "August 2007", 7805: "April 2016",
	9900: "December 2025",
}

var (
	// citedRFC matches "RFC 1360 (...)" and captures the number and the
	// parenthesis, where the data gives the date.
	citedRFC  = regexp.MustCompile(`RFC (\d+) \(([^)]*)\)`)
	citedYear = regexp.MustCompile(`\b(19|20)\d\d\b`)
	months    = regexp.MustCompile(`\b(January|February|March|April|May|June|July|August|September|October|November|December)\b`)
)

// TestEdition2RFCDates checks every RFC cited with a year against rfcDates:
// the year must match, and so must the month where one is given.
func TestEdition2RFCDates(t *testing.T) {
	r := builtin(t)
	cited := 0
	for _, e := range r.Entries() {
		for _, text := range append([]string{e.Description, e.ReplacedBy, e.Note}, e.References...) {
			for _, m := range citedRFC.FindAllStringSubmatch(text, -1) {
				year := citedYear.FindString(m[2])
				if year == "" {
					continue
				}
				cited++
				num, _ := strconv.Atoi(m[1])
				want, ok := rfcDates[num]
				if !ok {
					t.Errorf("%s cites RFC %d (%s): add its date from the RFC Editor's index to rfcDates", at(e), num, m[2])
					continue
				}
				if !strings.HasSuffix(want, year) {
					t.Errorf("%s cites RFC %d as %s; the RFC is dated %s", at(e), num, year, want)
				}
				if month := months.FindString(m[2]); month != "" && !strings.HasPrefix(want, month) {
					t.Errorf("%s cites RFC %d as %s %s; the RFC is dated %s", at(e), num, month, year, want)
				}
			}
		}
	}
	if cited == 0 {
		t.Fatal("no dated RFC citation found: the pattern no longer matches the data")
	}
}

// stdOneListing is the reference historic-rfc.yml gives for the first
// edition of STD 1 that listed a protocol as Historic.
var stdOneListing = regexp.MustCompile(`Historic Protocols in STD 1 from RFC (\d+)`)

// TestEdition2RetiredRules checks the retired year against each file's rule:
//   - historic-rfc.yml: the year of the first STD 1 edition that listed the
//     protocol as Historic;
//   - a withdrawn (deassigned) port: the year IANA withdrew it;
//   - insecure-legacy.yml: set once a major implementation dropped the
//     protocol (insecureDropped).
func TestEdition2RetiredRules(t *testing.T) {
	r := builtin(t)
	for _, e := range r.Entries() {
		if m := stdOneListing.FindStringSubmatch(strings.Join(e.References, "\n")); m != nil && e.Category == HistoricRFC {
			num, _ := strconv.Atoi(m[1])
			date, ok := rfcDates[num]
			switch {
			case !ok:
				t.Errorf("%s: STD 1 edition RFC %d has no date in rfcDates", at(e), num)
			case !strings.HasSuffix(date, strconv.Itoa(e.Retired)):
				t.Errorf("%s: retired %d, but RFC %d, the first STD 1 edition listing it as Historic, is dated %s", at(e), e.Retired, num, date)
			}
		}
		if e.Deassigned != "" && strconv.Itoa(e.Retired) != e.Deassigned[:4] {
			t.Errorf("%s: retired %d, but IANA withdrew the port on %s", at(e), e.Retired, e.Deassigned)
		}
	}
	for _, d := range insecureDropped {
		e, ok := r.Lookup(d.port, TCP)
		if !ok || e.Category != InsecureLegacy {
			t.Errorf("%d/tcp: want the insecure-legacy entry %s (%s)", d.port, d.service, d.why)
			continue
		}
		if e.Retired != d.year {
			t.Errorf("%s: retired %d, want %d: %s", at(e), e.Retired, d.year, d.why)
		}
	}
}

// insecureDropped are the insecure-legacy protocols that a major
// implementation dropped in a known year.
var insecureDropped = []struct {
	port    uint16
	service string
	year    int
	why     string
}{
	{21, "ftp", 2021, "Chrome 95 and Firefox 90 removed FTP support in 2021"},
	{1723, "pptp", 2016, "Apple removed PPTP from macOS Sierra and iOS 10 in 2016"},
}
