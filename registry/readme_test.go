package registry

import (
	"bytes"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated part of README.md")

const (
	readmePath  = "../README.md"
	tableBegin  = "<!-- expected-owners:begin (generated from registry/expected.go; go test ./registry -run README -update) -->\n"
	tableFinish = "<!-- expected-owners:end -->\n"
)

// expectedOwnersMarkdown renders the table of expected owners for the README.
func expectedOwnersMarkdown() string {
	var b strings.Builder
	b.WriteString("| rule | ports | process | conditions | verdict | why | source |\n|---|---|---|---|---|---|---|\n")
	for _, x := range expectedOwners {
		transports := make([]string, len(x.Transports))
		for i, p := range x.Transports {
			transports[i] = TransportName(p)
		}
		process := "any"
		if len(x.Processes) > 0 {
			process = "`" + strings.Join(x.Processes, "`, `") + "`"
		}
		var cond []string
		if len(x.Directions) > 0 {
			cond = append(cond, strings.Join(x.Directions, ", ")+" only")
		}
		if x.PID != 0 {
			cond = append(cond, "pid "+strconv.Itoa(int(x.PID)))
		}
		if x.Loopback {
			cond = append(cond, "loopback")
		}
		if x.RPCMapped {
			cond = append(cond, "rpcbind maps the port")
		}
		if len(x.Paths) > 0 {
			cond = append(cond, "path, when known: `"+strings.Join(x.Paths, "`, `")+"`")
		}
		row := []string{"`" + x.ID + "`", x.ports() + "/" + strings.Join(transports, "+"), process,
			strings.Join(cond, "; "), "`" + string(x.Verdict) + "`", x.Reason, x.Source}
		b.WriteString("| " + strings.ReplaceAll(strings.Join(row, " | "), "\n", " ") + " |\n")
	}
	return b.String()
}

// TestREADMEExpectedOwners fails when the README's table of expected owners
// and the Go table disagree; -update rewrites the README's copy.
func TestREADMEExpectedOwners(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(readme, []byte(tableBegin))
	j := bytes.Index(readme, []byte(tableFinish))
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q section", readmePath, tableBegin, tableFinish)
	}
	want := expectedOwnersMarkdown()
	got := string(readme[i+len(tableBegin) : j])
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("the table of expected owners in %s differs from registry/expected.go; run go test ./registry -run README -update", readmePath)
	}
	out := append([]byte{}, readme[:i+len(tableBegin)]...)
	out = append(out, want...)
	out = append(out, readme[j:]...)
	if err := os.WriteFile(readmePath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
