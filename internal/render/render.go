// Package render prints rows the way both `legacy-ports scan` and
// `legacy-ports query` show them: an aligned table, JSON, CSV or osqueryi's
// line mode.
package render

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Formats lists the accepted output formats.
var Formats = []string{"table", "json", "csv", "line"}

// Write prints rows with the given columns, in that order. Values are
// strings as osquery gives them; JSON keeps them as strings, as
// `osqueryi --json` does.
func Write(w io.Writer, format string, cols []string, rows []map[string]string) error {
	switch format {
	case "table":
		return writeTable(w, cols, rows)
	case "json":
		return writeJSON(w, cols, rows)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(cols)
		rec := make([]string, len(cols))
		for _, r := range rows {
			for i, c := range cols {
				rec[i] = r[c]
			}
			_ = cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "line":
		return writeLines(w, cols, rows)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// CheckFormat returns an error naming the accepted formats.
func CheckFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, cols []string, rows []map[string]string) error {
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = utf8.RuneCountInString(c)
		for _, r := range rows {
			width[i] = max(width[i], utf8.RuneCountInString(oneLine(r[c])))
		}
	}
	var b strings.Builder
	line := func(cell func(i int) string) {
		for i := range cols {
			if i > 0 {
				b.WriteString("  ")
			}
			s := cell(i)
			b.WriteString(s)
			if i < len(cols)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(s)))
			}
		}
		b.WriteString("\n")
	}
	line(func(i int) string { return cols[i] })
	line(func(i int) string { return strings.Repeat("-", width[i]) })
	for _, r := range rows {
		line(func(i int) string { return oneLine(r[cols[i]]) })
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine keeps a multi-line value (a command line, a note) on its row.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\t", " ").Replace(s)
}

func writeJSON(w io.Writer, cols []string, rows []map[string]string) error {
	var b strings.Builder
	b.WriteString("[")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  ")
		writeObject(&b, cols, r)
	}
	if len(rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLines(w io.Writer, cols []string, rows []map[string]string) error {
	pad := 0
	for _, c := range cols {
		pad = max(pad, len(c))
	}
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, c := range cols {
			fmt.Fprintf(&b, "%*s = %s\n", pad, c, r[c])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeObject writes one row as a JSON object, its keys in column order.
func writeObject(b *strings.Builder, cols []string, r map[string]string) {
	b.WriteString("{")
	for j, c := range cols {
		if j > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(c)
		v, _ := json.Marshal(r[c])
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteString("}")
}

// StreamFormats are the formats a Stream can write.
var StreamFormats = []string{"table", "json"}

// Stream prints rows one at a time, as they arrive: an aligned table whose
// header is written before the first row and whose columns are as wide as
// their headers or the widths given (a longer value widens its own line
// only), or JSON lines, one object per row.
type Stream struct {
	w      io.Writer
	format string
	cols   []string
	width  []int
	header bool
}

// NewStream returns a stream of rows with cols in format ("table" or
// "json"); widths gives the table's least width of some columns.
func NewStream(w io.Writer, format string, cols []string, widths map[string]int) (*Stream, error) {
	if format != "table" && format != "json" {
		return nil, fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(StreamFormats, ", "))
	}
	s := &Stream{w: w, format: format, cols: cols, width: make([]int, len(cols))}
	for i, c := range cols {
		s.width[i] = max(utf8.RuneCountInString(c), widths[c])
	}
	return s, nil
}

// Write prints one row.
func (s *Stream) Write(r map[string]string) error {
	var b strings.Builder
	if s.format == "json" {
		writeObject(&b, s.cols, r)
		b.WriteString("\n")
		_, err := io.WriteString(s.w, b.String())
		return err
	}
	line := func(cell func(i int) string) {
		for i := range s.cols {
			if i > 0 {
				b.WriteString("  ")
			}
			v := cell(i)
			b.WriteString(v)
			if i < len(s.cols)-1 {
				b.WriteString(strings.Repeat(" ", max(0, s.width[i]-utf8.RuneCountInString(v))))
			}
		}
		b.WriteString("\n")
	}
	if !s.header {
		s.header = true
		line(func(i int) string { return s.cols[i] })
		line(func(i int) string { return strings.Repeat("-", s.width[i]) })
	}
	line(func(i int) string { return oneLine(r[s.cols[i]]) })
	_, err := io.WriteString(s.w, b.String())
	return err
}
