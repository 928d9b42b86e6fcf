package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const baseYAML = `
updated: 2026-01-02
entries:
  - port: 23
    transport: tcp
    service: telnet
    description: Telnet.
    category: insecure-legacy
    retired: unknown
    replaced_by: ssh
    confidence: high
    references: ["RFC 854"]
  - port: 611
    transport: [tcp, udp]
    service: npmp-gui
    description: GUI port of an ISP's tool.
    category: dead-product
    retired: unknown
    replaced_by: none
    confidence: low
    references: ["IANA registration"]
  - port: 6000-6003
    transport: tcp
    service: x11
    description: X Window System.
    category: insecure-legacy
    retired: unknown
    replaced_by: ssh -X
    confidence: high
    references: ["X11"]
`

func base(t testing.TB) *Registry {
	t.Helper()
	f, err := Parse("base.yml", []byte(baseYAML))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const goodAdmin = `
# our own retired ports, corrections and allowed processes
entries:
  - port: 7777
    transport: tcp
    service: acme-billing
    description: The billing daemon we retired in 2019.
    category: dead-product
    retired: 2019
    replaced_by: billing API
    confidence: high
    references: ["ticket OPS-1"]
override:
  - port: 611
    transport: udp
    confidence: medium
    note: Seen on our NIS servers.
disable:
  - port: 6002-6003
    comment: Kiosk displays use these.
allow:
  - port: 611
    transport: tcp
    process: /usr/sbin/ghostd
    user: root
    comment: Kept for the lab until 2027, ticket OPS-2.
`

func TestAdminApply(t *testing.T) {
	a, err := ParseAdmin("/etc/osquery/legacy_ports.yml", []byte(goodAdmin))
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Apply(base(t))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := r.Lookup(7777, TCP); !ok || e.Service != "acme-billing" || e.Source != "/etc/osquery/legacy_ports.yml" {
		t.Errorf("added entry: %+v %v", e, ok)
	}
	udp, _ := r.Lookup(611, UDP)
	tcp, _ := r.Lookup(611, TCP)
	if udp.Confidence != Medium || udp.Note == "" || udp.Source == "builtin" || !udp.HasTransport(UDP) || udp.HasTransport(TCP) {
		t.Errorf("override of 611/udp: %+v", udp)
	}
	if tcp.Confidence != Low || tcp.Source != "builtin" {
		t.Errorf("611/tcp must be untouched: %+v", tcp)
	}
	for _, p := range []uint16{6002, 6003} {
		if r.Has(p, TCP) {
			t.Errorf("%d/tcp still in the registry after disable", p)
		}
	}
	if !r.Has(6001, TCP) {
		t.Error("6001/tcp was disabled too")
	}
	b := base(t)
	if b.Has(7777, TCP) || !b.Has(6002, TCP) {
		t.Error("Apply modified the base registry")
	}

	obs := Observation{Port: 611, Proto: TCP, Direction: Listen, ProcessName: "ghostd", ProcessPath: "/usr/sbin/ghostd", Username: "root"}
	if v, reason := r.Judge(tcp, obs); v != Allowed || !strings.Contains(reason, "OPS-2") || !strings.Contains(reason, "legacy_ports.yml:") {
		t.Errorf("allowed process: %s %q", v, reason)
	}
	obs.Username = "alice"
	if v, _ := r.Judge(tcp, obs); v != Ghost {
		t.Errorf("allow rule for root matched alice: %s", v)
	}
	obs.Username, obs.ProcessPath = "root", "/tmp/ghostd"
	if v, _ := r.Judge(tcp, obs); v != Ghost {
		t.Errorf("allow rule by path matched another binary of the same name: %s", v)
	}
}

func TestAdminErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each must appear in the error
		applyOnly  bool     // the file parses; Apply must reject it
	}{
		{name: "syntax error names the line", yaml: "allow:\n  - port: 611\n    process: [x\n", want: []string{"f.yml", "line"}},
		{name: "unknown top key", yaml: "allows: []\n", want: []string{"f.yml:1:", `unknown key "allows"`}},
		{name: "allow needs a comment", yaml: "allow:\n  - port: 611\n    process: ghostd\n", want: []string{"f.yml:2:", "comment"}},
		{name: "allow needs a process", yaml: "allow:\n  - port: 611\n    comment: x\n", want: []string{"f.yml:2:", "process"}},
		{name: "bad port", yaml: "disable:\n  - port: 70000\n    comment: x\n", want: []string{"f.yml:2:", "70000"}},
		{name: "bad transport", yaml: "disable:\n  - port: 611\n    transport: sctp\n    comment: x\n", want: []string{"f.yml:3:", "sctp"}},
		{name: "override of unknown field", yaml: "override:\n  - port: 611\n    colour: red\n", want: []string{"f.yml:3:", "colour"}},
		{name: "override with a bad value", yaml: "override:\n  - port: 611\n    confidence: sure\n", want: []string{"f.yml:3:", "sure"}},
		{name: "entry missing fields", yaml: "entries:\n  - port: 7777\n    service: acme\n", want: []string{"f.yml:2:", "missing key description"}},
		{name: "key given twice", yaml: "allow:\n  - port: 611\n    port: 612\n    process: ghostd\n    comment: x\n", want: []string{"f.yml:3:", `key "port" given twice`}},
		{name: "section given twice", yaml: "allow: []\ndisable: []\nallow: []\n", want: []string{"f.yml:3:", `key "allow" given twice`}},
		{name: "second document", yaml: "allow: []\n---\ndisable:\n  - port: 611\n    comment: x\n", want: []string{"f.yml:2:", "second YAML document"}},
		{name: "syntax error in a second document", yaml: "allow: []\n---\ndisable: [\n", want: []string{"f.yml", "line 3"}},
		{name: "comments only", yaml: "# nothing yet\n", want: []string{"f.yml: file is empty"}},
		{name: "override of a port not in the registry", yaml: "override:\n  - port: 612\n    confidence: high\n", want: []string{"f.yml:2:", "612 is not in the built-in registry"}, applyOnly: true},
		{name: "added entry on a built-in port", yaml: `entries:
  - port: 23
    transport: tcp
    service: telnet
    description: d
    category: dead-protocol
    retired: unknown
    replaced_by: none
    confidence: low
    references: [x]
`, want: []string{"f.yml:2:", "already in the built-in registry"}, applyOnly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAdmin("f.yml", []byte(tt.yaml))
			if tt.applyOnly {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				_, err = a.Apply(base(t))
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestReadAdminFileTrust(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ownership cases need root to chown; the mode cases below need it too, to build a root-owned tree")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(goodAdmin), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("root-owned 0644 is read", func(t *testing.T) {
		if _, err := ReadAdminFile(write("good.yml", 0o644)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("world-writable is rejected", func(t *testing.T) {
		_, err := ReadAdminFile(write("ww.yml", 0o666))
		if err == nil || !strings.Contains(err.Error(), "lets group or others write it") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("group-writable is rejected", func(t *testing.T) {
		_, err := ReadAdminFile(write("gw.yml", 0o664))
		if err == nil || !strings.Contains(err.Error(), "mode 0664") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("foreign owner is rejected", func(t *testing.T) {
		p := write("nobody.yml", 0o644)
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		_, err := ReadAdminFile(p)
		if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("writable directory is rejected", func(t *testing.T) {
		open := filepath.Join(dir, "open")
		if err := os.Mkdir(open, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(open, 0o777); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(open, "x.yml")
		if err := os.WriteFile(p, []byte(goodAdmin), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadAdminFile(p)
		if err == nil || !strings.Contains(err.Error(), "not trusted") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a symlink to an untrusted file is rejected", func(t *testing.T) {
		target := write("target.yml", 0o666)
		link := filepath.Join(dir, "link.yml")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadAdminFile(link); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := ReadAdminFile(filepath.Join(dir, "absent.yml"))
		if err == nil || !strings.Contains(err.Error(), "absent.yml") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestJudge(t *testing.T) {
	r := base(t)
	gui, _ := r.Lookup(611, UDP)
	telnet, _ := r.Lookup(23, TCP)
	tests := []struct {
		name string
		e    *Entry
		o    Observation
		want Verdict
	}{
		{"ghost listener", gui, Observation{Port: 611, Proto: UDP, Direction: Listen, ProcessName: "ghostd"}, Ghost},
		{"rpc daemon by name", gui, Observation{Port: 611, Proto: UDP, Direction: Listen, ProcessName: "rpc.statd"}, RPCDynamic},
		{"rpc daemon by path", gui, Observation{Port: 611, Proto: UDP, Direction: Listen, ProcessName: "statd-wrapper", ProcessPath: "/sbin/rpc.statd"}, RPCDynamic},
		{"kernel service mapped by rpcbind", gui, Observation{Port: 611, Proto: UDP, Direction: Listen, RPCPrograms: []string{"nlockmgr"}}, RPCDynamic},
		{"rpc rule is for local ports only", gui, Observation{Port: 611, Proto: UDP, Direction: Outbound, ProcessName: "rpc.statd"}, Ghost},
		{"insecure service", telnet, Observation{Port: 23, Proto: TCP, Direction: Listen, ProcessName: "in.telnetd"}, Insecure},
		{"rpc rule is for 600-1023 only", telnet, Observation{Port: 23, Proto: TCP, Direction: Listen, ProcessName: "rpcbind"}, Insecure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := r.Judge(tt.e, tt.o)
			if got != tt.want {
				t.Errorf("got %s (%s), want %s", got, reason, tt.want)
			}
			if reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

// FuzzAdminFile feeds any bytes to the admin's file parser and applies what
// parses to a small registry. The file may be rejected, never with a panic,
// and always with errors that name it; what is accepted must give a
// consistent registry in which every allow rule allows.
// The seeds are under testdata/fuzz/FuzzAdminFile.
func FuzzAdminFile(f *testing.F) {
	reg := base(f)
	const name = "/etc/osquery/legacy_ports.yml"
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAdmin(name, data)
		if err != nil {
			checkLocated(t, err, name)
			return
		}
		r, err := a.Apply(reg)
		if err != nil {
			checkLocated(t, err, name)
			return
		}
		visited, last := 0, -1
		r.Each(func(port uint16, proto uint8, e *Entry) {
			visited++
			at := int(port)<<8 | int(proto)
			if at <= last {
				t.Fatalf("Each visits %d/%s out of order (port order, tcp before udp)", port, TransportName(proto))
			}
			last = at
			if got, _ := r.Lookup(port, proto); got != e {
				t.Fatalf("%d/%s: Each gives %s, Lookup %v", port, TransportName(proto), e.Service, got)
			}
			if port < e.PortLow || port > e.PortHigh || !e.HasTransport(proto) {
				t.Fatalf("%d/%s resolves to %s %v, which does not cover it", port, TransportName(proto), e.Ports(), e.Transports)
			}
		})
		if visited != r.Pairs() {
			t.Fatalf("Each visits %d pairs, Pairs says %d", visited, r.Pairs())
		}
		for _, rule := range a.Allow {
			e, ok := r.Lookup(rule.PortLow, rule.Transports[0])
			if !ok {
				continue
			}
			o := Observation{Port: rule.PortLow, Proto: rule.Transports[0], Direction: Listen,
				ProcessName: rule.Process, ProcessPath: rule.Process, Username: rule.User}
			if v, reason := r.Judge(e, o); v != Allowed {
				t.Fatalf("the allow rule at line %d does not allow its own process: %s (%s)", rule.Line, v, reason)
			}
		}
	})
}

// checkLocated fails unless every error joined in err is an *Error for file.
func checkLocated(t *testing.T, err error, file string) {
	t.Helper()
	errs := []error{err}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var located *Error
		if !errors.As(e, &located) || located.File != file || located.Msg == "" {
			t.Fatalf("error %q does not name %s", e, file)
		}
	}
}
