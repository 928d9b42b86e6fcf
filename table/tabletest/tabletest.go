// Package tabletest helps the tests of the tables and of their front ends.
package tabletest

import (
	"testing"

	"github.com/legacy-ports/legacy-ports/registry"
)

// Registry parses and loads a registry data file given as text.
func Registry(t testing.TB, text string) *registry.Registry {
	t.Helper()
	f, err := registry.Parse("test.yml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
