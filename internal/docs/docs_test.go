package docs

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/legacy-ports/legacy-ports/table"
)

var update = flag.Bool("update", false, "rewrite the column tables of README.md (make docs)")

var readmePath = filepath.Join("..", "..", "README.md")

// TestREADMEColumns fails when a column table of README.md is not what the
// table definitions say; `make docs` rewrites them.
func TestREADMEColumns(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Rewrite(string(data), table.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	if *update && want != string(data) {
		if err := os.WriteFile(readmePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want != string(data) {
		t.Errorf("README.md's column tables differ from the table definitions (table/columns.go); run make docs.\nwant:\n%s", diffLines(string(data), want))
	}
}

// diffLines shows the lines of want that got lacks.
func diffLines(got, want string) string {
	have := map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		have[l] = true
	}
	var out []string
	for _, l := range strings.Split(want, "\n") {
		if !have[l] {
			out = append(out, "  "+l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRewrite(t *testing.T) {
	def := table.Definition{Name: "t", Columns: []table.Column{
		{Name: "a", Type: table.Integer, Description: "A number"},
		{Name: "b", Type: table.Text, Description: "x | y"},
	}}
	in := "# T\n\n<!-- columns t -->\nold\n<!-- end columns -->\n\nprose\n"
	got, err := Rewrite(in, []table.Definition{def})
	want := "# T\n\n<!-- columns t -->\n| column | type | meaning |\n|---|---|---|\n| `a` | INTEGER | A number |\n| `b` | TEXT | x \\| y |\n<!-- end columns -->\n\nprose\n"
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
	for _, bad := range []string{"no markers\n", "<!-- columns t -->\nno end\n", "<!-- columns t -->\n<!-- end columns -->\n<!-- columns t -->\n<!-- end columns -->\n"} {
		if _, err := Rewrite(bad, []table.Definition{def}); err == nil {
			t.Errorf("Rewrite(%q) accepted it", bad)
		}
	}
}
