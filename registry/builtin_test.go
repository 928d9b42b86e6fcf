package registry_test

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/registry/internal/gen"
)

// TestBuiltinIsGenerated fails when builtin_gen.go is not what the data
// files give today, and when the compiled registry differs from the one the
// YAML loads into (a field the generator lost).
func TestBuiltinIsGenerated(t *testing.T) {
	fromYAML, err := gen.Load(os.DirFS("data"))
	if err != nil {
		t.Fatalf("the data files do not load:\n%v", err)
	}
	want, err := gen.Source(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("builtin_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		line, text := firstDifference(got, want)
		t.Fatalf("builtin_gen.go is out of date with registry/data/*.yml; run `go generate ./registry`\n"+
			"(first difference at line %d; the data give: %s)", line, text)
	}
	compiled, err := registry.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(compiled, fromYAML) {
		t.Error("Builtin() differs from the registry the data files load into, though builtin_gen.go is up to date: the generator loses something")
	}
}

// firstDifference returns the number and the wanted text of the first line
// where got and want differ.
func firstDifference(got, want []byte) (int, string) {
	g, w := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := range w {
		if i >= len(g) || !bytes.Equal(g[i], w[i]) {
			return i + 1, string(bytes.TrimSpace(w[i]))
		}
	}
	return len(w) + 1, "(end of file)"
}
