package inventory

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds format detection and every parser arbitrary input: it
// must not panic, and what it returns must hold together. The fixtures are
// the seeds, so go test replays them.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, ".golden") || strings.HasSuffix(name, ".md") {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("tcp LISTEN 0 128 127.0.0.1:611 0.0.0.0:* users:((\"x\",pid=1,fd=3))\n"))
	f.Add([]byte("  TCP    0.0.0.0:660  0.0.0.0:0  LISTENING  880\r\n [x.exe]\r\n"))
	f.Add([]byte(`{"name":"q","diffResults":{"added":[{"pid":1,"address":"::","port":660,"protocol":17,"family":10}],"removed":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		if inv.Format == "" {
			t.Fatal("read without a format")
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range inv.Problems {
			if p.Line < 1 || p.Line > lines || p.Why == "" {
				t.Fatalf("problem %+v for an input of %d lines", p, lines)
			}
		}
		for _, s := range inv.Socks {
			if s.Protocol != protoTCP && s.Protocol != protoUDP {
				t.Fatalf("protocol %d", s.Protocol)
			}
			if !s.Local.IsValid() || !s.Remote.IsValid() || s.Local.Addr().Zone() != "" {
				t.Fatalf("addresses %v %v", s.Local, s.Remote)
			}
			if want := family(s.Local.Addr()); s.Family != want {
				t.Fatalf("family %d for %v", s.Family, s.Local)
			}
			if s.Protocol == protoUDP && s.State != "" {
				t.Fatalf("UDP with state %q", s.State)
			}
			for _, o := range s.Owners {
				if o.PID < 0 {
					t.Fatalf("owner with pid %d", o.PID)
				}
			}
		}
	})
}
