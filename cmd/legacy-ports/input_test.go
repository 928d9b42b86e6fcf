package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/internal/cli"
	"github.com/legacy-ports/legacy-ports/table"
)

// TestScanInputMatchesLiveScan holds a ghost and an RPC daemon on registry
// ports, captures ss, netstat and lsof, and checks that scan --input on
// each capture gives the rows of a live scan, in every column the tool
// prints (fd, socket inode, path, command line and user are not in all of
// them).
func TestScanInputMatchesLiveScan(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("listening on registry ports in 600-1023 and seeing every owner needs root")
	}
	ports := freeRegistryPorts(t)
	pids := []int{
		holder(t, "rpc.statd", fmt.Sprintf("udp:%d", ports[0])),
		holder(t, "ghostd", fmt.Sprintf("tcp:%d", ports[1])),
	}
	compared := []string{table.ColPID, table.ColProcessName, table.ColFamily, table.ColProtocol, table.ColTransport,
		table.ColLocalAddress, table.ColLocalPort, table.ColRemoteAddress, table.ColRemotePort, table.ColState,
		table.ColPort, table.ColDirection, table.ColExposure, table.ColService, table.ColVerdict, table.ColReason}
	ours := func(stdout string) []string {
		var rows []map[string]string
		if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
			t.Fatalf("%v\n%s", err, stdout)
		}
		var out []string
		for _, r := range rows {
			if pid, _ := strconv.Atoi(r[table.ColPID]); slices.Contains(pids, pid) {
				var b strings.Builder
				for _, c := range compared {
					fmt.Fprintf(&b, "%s=%s ", c, r[c])
				}
				out = append(out, b.String())
			}
		}
		return out
	}
	captures := map[string][]string{"ss": {"-tuanp"}, "netstat": {"-tuanp"}, "lsof": {"-nP", "-i"}}
	outputs := map[string][]byte{}
	for tool, args := range captures {
		out, err := exec.CommandContext(t.Context(), tool, args...).Output()
		if err != nil {
			t.Fatalf("%s %v: %v", tool, args, err)
		}
		outputs[tool] = out
	}
	code, stdout, stderr := runCLI(t, "scan", "--format", "json")
	if code != cli.ExitFound {
		t.Fatalf("live scan: exit %d, stderr %q", code, stderr)
	}
	live := ours(stdout)
	if len(live) != 2 {
		t.Fatalf("live scan: want a row for each holder, got %v", live)
	}
	for tool, out := range outputs {
		t.Run(tool, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), tool+".txt")
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, "scan", "--input", file, "--format", "json")
			if code != cli.ExitFound {
				t.Errorf("exit %d, want %d; stderr %q", code, cli.ExitFound, stderr)
			}
			if got := ours(stdout); !slices.Equal(got, live) {
				t.Errorf("scan --input on %s output:\n%s\nlive scan:\n%s", tool, strings.Join(got, "\n"), strings.Join(live, "\n"))
			}
		})
	}
}

func TestScanInputErrors(t *testing.T) {
	good := "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" +
		"tcp LISTEN 0 128 127.0.0.1:660 0.0.0.0:* users:((\"ghostd\",pid=42,fd=3))\n" +
		"tcp LISTEN 0 128 127.0.0.1:nope 0.0.0.0:*\n" +
		"tcp LISTEN 0 128 127.0.0.1:22 0.0.0.0:* users:((\"sshd\",pid=7,fd=3))\n"
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		stdout   string // a substring
		stderr   []string
		noStdout bool
	}{
		{"stdin, with a bad line", []string{"scan", "--input", "-", "--format", "csv", "--columns", "pid,process_name,port,verdict"}, good, cli.ExitFound,
			"42,ghostd,660,ghost", []string{"stdin:3: address \"127.0.0.1:nope\": port \"nope\" is not a number"}, false},
		{"nothing readable", []string{"scan", "--input", "-"}, "hello\nworld\n", cli.ExitError, "", []string{"stdin: no line could be read"}, true},
		{"empty", []string{"scan", "--input", "-"}, "", cli.ExitError, "", []string{"stdin: no line could be read"}, true},
		{"missing file", []string{"scan", "--input", "/nonexistent/ss.txt"}, "", cli.ExitError, "", []string{"/nonexistent/ss.txt"}, true},
		{"a clean host", []string{"scan", "--input", "-", "--format", "json"}, "State Recv-Q Send-Q Local Address:Port Peer Address:Port\nLISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n", cli.ExitClean, "[]", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, strings.NewReader(tt.stdin), &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.stdout) || (tt.noStdout && out.Len() > 0) {
				t.Errorf("exit %d, stdout %q; want exit %d and %q", code, out.String(), tt.code, tt.stdout)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr %q lacks %q", errOut.String(), s)
				}
			}
		})
	}
}
