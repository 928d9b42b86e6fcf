package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
)

// typicalHost is a fixture of the sockets of a typical host, built from each
// product's documented defaults (testdata/hosts/README.md names the
// sources), with the verdicts some of its sockets must get, and true
// findings that, appended to the fixture, must be caught.
type typicalHost struct {
	host   string
	file   string
	expect map[string]registry.Verdict // rows of the fixture as it is
	extra  string                      // lines in the fixture's own format
	found  map[string]registry.Verdict // rows the extra lines must give
}

// rowKey names a row for people: port/transport, direction, process.
func rowKey(r map[string]string) string {
	return fmt.Sprintf("%s/%s %s %s", r[table.ColPort], r[table.ColTransport], r[table.ColDirection], r[table.ColProcessName])
}

var typicalHosts = []typicalHost{
	{
		host: "Windows Server domain controller (with WINS and Message Queuing)", file: "windows-dc.log",
		expect: map[string]registry.Verdict{
			"2105/tcp listen mqsvc.exe": registry.Expected, "2105/tcp inbound mqsvc.exe": registry.Expected,
			"42/tcp listen wins.exe": registry.Insecure, "139/tcp listen System": registry.Insecure,
		},
		extra: `{"name":"pack_inventory_open_sockets","action":"added","columns":{"pid":"6666","name":"ghostd.exe","path":"C:\\Users\\Public\\ghostd.exe","fd":"-1","socket":"0","family":"2","protocol":"6","local_address":"0.0.0.0","local_port":"1033","remote_address":"0.0.0.0","remote_port":"0","state":"LISTEN"}}` + "\n" +
			`{"name":"pack_inventory_open_sockets","action":"added","columns":{"pid":"6667","name":"svchost.exe","path":"C:\\Users\\Public\\svchost.exe","fd":"-1","socket":"0","family":"2","protocol":"6","local_address":"0.0.0.0","local_port":"2105","remote_address":"0.0.0.0","remote_port":"0","state":"LISTEN"}}` + "\n",
		found: map[string]registry.Verdict{"1033/tcp listen ghostd.exe": registry.Ghost, "2105/tcp listen svchost.exe": registry.Ghost},
	},
	{
		host: "Windows 11 desktop", file: "windows11-netstat-anob.txt",
		expect: map[string]registry.Verdict{"137/udp listen System": registry.Insecure},
		extra: "  TCP    0.0.0.0:1214           0.0.0.0:0              LISTENING       5555\r\n [kazaa.exe]\r\n" +
			"  TCP    192.168.1.23:50400     198.51.100.7:5190      ESTABLISHED     7740\r\n [aim.exe]\r\n",
		found: map[string]registry.Verdict{"1214/tcp listen kazaa.exe": registry.Ghost, "5190/tcp outbound aim.exe": registry.Ghost},
	},
	{
		host: "macOS desktop", file: "macos-lsof.txt",
		expect: map[string]registry.Verdict{"137/udp listen netbiosd": registry.Insecure},
		extra: "Adium                        1377          alice   12u  IPv4 0x9a1c3e5f7b2d47a1      0t0  TCP 192.168.1.31:50444->192.0.2.80:5190 (ESTABLISHED)\n" +
			"ghostd                        999           root    3u  IPv4 0x9a1c3e5f7b2d47b1      0t0  TCP *:660 (LISTEN)\n",
		found: map[string]registry.Verdict{"5190/tcp outbound Adium": registry.Ghost, "660/tcp listen ghostd": registry.Ghost},
	},
	{
		host: "Ubuntu desktop with an ssh -X session", file: "ubuntu-ssh-x.txt",
		expect: map[string]registry.Verdict{
			"6010/tcp listen sshd": registry.Expected, "6010/tcp inbound sshd": registry.Expected, "6010/tcp outbound xterm": registry.Expected,
		},
		extra: "tcp   LISTEN 0      5                   0.0.0.0:1524               0.0.0.0:*     users:((\"nc\",pid=6666,fd=3))\n" +
			"tcp   LISTEN 0      128                 0.0.0.0:6011               0.0.0.0:*     users:((\"sshd\",pid=5400,fd=9))\n",
		found: map[string]registry.Verdict{"1524/tcp listen nc": registry.Ghost, "6011/tcp listen sshd": registry.Insecure},
	},
	{
		host: "Kubernetes node (kubeadm, containerd, Calico)", file: "k8s-node.txt",
		extra: "tcp   ESTAB  0      0          10.0.0.21:51800  198.51.100.20:3333  users:((\"xmrig\",pid=7777,fd=9))\n",
		found: map[string]registry.Verdict{"3333/tcp outbound xmrig": registry.Ghost},
	},
	{
		host: "Debian NFS server", file: "debian-nfs.txt",
		expect: map[string]registry.Verdict{"611/udp listen rpc.statd": registry.RPCDynamic, "660/tcp listen rpc.mountd": registry.RPCDynamic},
		extra:  "tcp        0      0 0.0.0.0:1524            0.0.0.0:*               LISTEN      6666/bash\n",
		found:  map[string]registry.Verdict{"1524/tcp listen bash": registry.Ghost},
	},
}

// scanInput runs scan --input on data and returns its rows and exit code.
func scanInput(t *testing.T, name string, data []byte) ([]map[string]string, int) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, name)
	admin := filepath.Join(dir, "legacy_ports.yml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(admin, []byte("# no local rules: the built-in registry and its expected owners only\nallow: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "scan", "--input", file, "--format", "json", "--registry-file", admin)
	if code == cli.ExitError || stderr != "" {
		t.Fatalf("scan --input %s: exit %d, stderr %q", name, code, stderr)
	}
	var rows []map[string]string
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	alarming := slices.ContainsFunc(rows, func(r map[string]string) bool {
		v := registry.Verdict(r[table.ColVerdict])
		return v == registry.Ghost || v == registry.Insecure
	})
	if alarming != (code == cli.ExitFound) {
		t.Errorf("exit %d with ghost or insecure rows: %v", code, alarming)
	}
	return rows, code
}

// falseAlarm says what to look at when a typical host gives a ghost.
func falseAlarm(host string, r map[string]string) string {
	return fmt.Sprintf("%s: false alarm: port %s/%s (%s, local %s:%s, remote %s:%s) held by pid %s %q (%s) judged ghost against entry %s (%s, %s); "+
		"if this use is legitimate by default, add an expected owner (registry/expected.go), else fix the fixture",
		host, r[table.ColPort], r[table.ColTransport], r[table.ColDirection], r[table.ColLocalAddress], r[table.ColLocalPort],
		r[table.ColRemoteAddress], r[table.ColRemotePort], r[table.ColPID], r[table.ColProcessName], r[table.ColProcessPath],
		r[table.ColService], r[table.ColCategory], r[table.ColReason])
}

// TestTypicalHostsFalseAlarms is the false-alarm budget: zero ghosts on
// typical hosts that do nothing wrong, and every true finding added to them
// caught. Its results are the README's table (-update rewrites it).
func TestTypicalHostsFalseAlarms(t *testing.T) {
	var results strings.Builder
	results.WriteString("| host | input | rows | ghost | insecure | expected | rpc-dynamic | true findings added, caught |\n|---|---|---|---|---|---|---|---|\n")
	for _, h := range typicalHosts {
		data, err := os.ReadFile(filepath.Join("testdata", "hosts", h.file))
		if err != nil {
			t.Fatal(err)
		}
		count := map[registry.Verdict]int{}
		t.Run(h.file, func(t *testing.T) {
			rows, _ := scanInput(t, h.file, data)
			got := map[string]registry.Verdict{}
			for _, r := range rows {
				v := registry.Verdict(r[table.ColVerdict])
				count[v]++
				got[rowKey(r)] = v
				if v == registry.Ghost {
					t.Error(falseAlarm(h.host, r))
				}
			}
			for k, v := range h.expect {
				if got[k] != v {
					t.Errorf("%s: %s judged %q, want %q", h.host, k, got[k], v)
				}
			}
		})
		caught := 0
		t.Run(h.file+"+findings", func(t *testing.T) {
			rows, code := scanInput(t, h.file, append(append([]byte{}, data...), h.extra...))
			got := map[string]registry.Verdict{}
			for _, r := range rows {
				got[rowKey(r)] = registry.Verdict(r[table.ColVerdict])
				if v := got[rowKey(r)]; v == registry.Ghost {
					if _, planted := h.found[rowKey(r)]; !planted {
						t.Error(falseAlarm(h.host, r))
					}
				}
			}
			for k, v := range h.found {
				if got[k] == v {
					caught++
				} else {
					t.Errorf("%s: the planted %s was judged %q, want %q", h.host, k, got[k], v)
				}
			}
			if code != cli.ExitFound {
				t.Errorf("%s with findings: exit %d, want %d", h.host, code, cli.ExitFound)
			}
		})
		fmt.Fprintf(&results, "| %s | `%s` | %d | %d | %d | %d | %d | %d of %d |\n", h.host, h.file,
			count[registry.Ghost]+count[registry.Insecure]+count[registry.Expected]+count[registry.RPCDynamic]+count[registry.Allowed],
			count[registry.Ghost], count[registry.Insecure], count[registry.Expected], count[registry.RPCDynamic], caught, len(h.found))
	}
	if !t.Failed() {
		checkREADMESection(t, "false-alarms", results.String())
	}
}

var updateREADME = flag.Bool("update", false, "rewrite the generated sections of README.md")

// checkREADMESection compares the README's generated section name with
// want, or rewrites it with -update.
func checkREADMESection(t *testing.T, name, want string) {
	t.Helper()
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin := []byte("<!-- " + name + ":begin (generated by go test ./cmd/legacy-ports -run TypicalHosts -update) -->\n")
	end := []byte("<!-- " + name + ":end -->\n")
	i, j := bytes.Index(readme, begin), bytes.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q section", path, begin, end)
	}
	if string(readme[i+len(begin):j]) == want {
		return
	}
	if !*updateREADME {
		t.Fatalf("the %s table in %s is out of date (go test ./cmd/legacy-ports -run TypicalHosts -update):\n%s", name, path, want)
	}
	out := slices.Concat(readme[:i+len(begin)], []byte(want), readme[j:])
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
