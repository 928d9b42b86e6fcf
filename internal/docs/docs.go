// Package docs writes the README's column tables from the table
// definitions, so that the two cannot drift: `make docs` rewrites them, and
// a test fails when README.md differs from what they say.
package docs

import (
	"fmt"
	"strings"

	"github.com/legacy-ports/legacy-ports/table"
)

// Markers enclose the generated column table of a table in README.md:
//
//	<!-- columns legacy_ports -->
//	...
//	<!-- end columns -->
const (
	beginMarker = "<!-- columns %s -->\n"
	endMarker   = "<!-- end columns -->\n"
)

// Columns writes a table's columns as a Markdown table.
func Columns(d table.Definition) string {
	var b strings.Builder
	b.WriteString("| column | type | meaning |\n|---|---|---|\n")
	for _, c := range d.Columns {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Name, c.Type, strings.ReplaceAll(c.Description, "|", `\|`))
	}
	return b.String()
}

// Rewrite replaces the text between each table's markers in readme with
// the table's columns. Every table must have its markers, once.
func Rewrite(readme string, defs []table.Definition) (string, error) {
	for _, d := range defs {
		begin := fmt.Sprintf(beginMarker, d.Name)
		if n := strings.Count(readme, begin); n != 1 {
			return "", fmt.Errorf("README.md has %d %q markers, want 1", n, strings.TrimSpace(begin))
		}
		before, rest, _ := strings.Cut(readme, begin)
		_, after, ok := strings.Cut(rest, endMarker)
		if !ok {
			return "", fmt.Errorf("README.md: %q has no %q after it", strings.TrimSpace(begin), strings.TrimSpace(endMarker))
		}
		readme = before + begin + Columns(d) + endMarker + after
	}
	return readme, nil
}
