package setup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/table"
)

const admin = `
allow:
  - port: 611
    process: ghostd
    comment: lab machine, ticket OPS-2
`

func info(t *testing.T, o table.Options) map[string]string {
	t.Helper()
	for _, d := range table.Definitions(o) {
		if d.Name == table.LegacyPortInfo {
			rows, err := d.Generate(t.Context(), table.Request{})
			if err != nil || len(rows) != 1 {
				t.Fatalf("info: %v %v", rows, err)
			}
			return rows[0].Text()
		}
	}
	t.Fatal("no info table")
	return nil
}

func TestAdminFileIsWatched(t *testing.T) {
	dir := t.TempDir() // owned by us, mode 0700: trusted
	path := filepath.Join(dir, "legacy_ports.yml")
	var warn bytes.Buffer
	o, err := Options(&warn, path)
	if err != nil {
		t.Fatal(err)
	}
	step := func(name, wantCustom, wantErr string) {
		t.Helper()
		r := info(t, o)
		if !strings.Contains(r[table.ColCustomRegistry], wantCustom) {
			t.Errorf("%s: custom_registry %q, want %q", name, r[table.ColCustomRegistry], wantCustom)
		}
		if wantErr == "" && r[table.ColErrors] != "" || !strings.Contains(r[table.ColErrors], wantErr) {
			t.Errorf("%s: errors %q, want %q", name, r[table.ColErrors], wantErr)
		}
	}

	step("explicit path missing", "rejected", "no such file")
	if err := os.WriteFile(path, []byte(admin), 0o644); err != nil {
		t.Fatal(err)
	}
	step("good file", "applied: 0 added, 0 overridden, 0 disabled, 1 allow rules", "")
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	step("made world-writable", "rejected", "lets group or others write it")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	step("fixed", "applied", "")
	if err := os.WriteFile(path, []byte(admin+"  - port: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step("syntax error", "rejected", "legacy_ports.yml")
	if !strings.Contains(warn.String(), "admin registry rejected") {
		t.Errorf("rejection not reported on stderr: %q", warn.String())
	}
	if got := o.State().Registry.Len(); got < 400 {
		t.Errorf("after a rejection the built-in registry must serve; it has %d entries", got)
	}
}

func TestDefaultPathMayBeAbsent(t *testing.T) {
	w := &adminWatch{path: filepath.Join(t.TempDir(), "absent.yml")}
	st := w.load(os.ErrNotExist)
	if len(st.Errors) != 0 || !strings.HasPrefix(st.Custom, "none") {
		t.Errorf("a missing default file is normal: %+v", st)
	}
}
