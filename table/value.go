package table

import "strconv"

// Kind is what a Value holds.
type Kind uint8

// The kinds of value a cell can hold.
const (
	Null Kind = iota // no value: an unknown retirement year, an absent column
	Int              // an INTEGER or BIGINT cell
	Str              // a TEXT cell
)

// Value is one typed cell. The zero Value is NULL. The front ends convert
// it: the osquery adapter to osquery's strings (NULL is ""), the SQLite
// adapter to SQLite's values, the command-line tool through Text.
type Value struct {
	kind Kind
	n    int64
	s    string
}

// IntValue returns an integer cell.
func IntValue[T ~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64](n T) Value {
	return Value{kind: Int, n: int64(n)}
}

// TextValue returns a text cell.
func TextValue(s string) Value { return Value{kind: Str, s: s} }

// Kind reports what v holds.
func (v Value) Kind() Kind { return v.kind }

// Int returns v's integer; ok is false unless v is an integer.
func (v Value) Int() (n int64, ok bool) { return v.n, v.kind == Int }

// Text is v as osquery writes a cell: NULL is the empty string.
func (v Value) Text() string {
	switch v.kind {
	case Int:
		return strconv.FormatInt(v.n, 10)
	case Str:
		return v.s
	}
	return ""
}

// String is Text, so that a Value prints as osquery shows it.
func (v Value) String() string { return v.Text() }

// Row is one row: column name to typed value. A column missing from a row
// is NULL.
type Row map[string]Value

// Text returns the row as osquery's strings, one entry per column present.
func (r Row) Text() map[string]string {
	out := make(map[string]string, len(r))
	for k, v := range r {
		out[k] = v.Text()
	}
	return out
}

// ParseValue reads s as a value of a column of type t, the way a user or
// osquery writes one: for INTEGER and BIGINT, a decimal integer, with the
// SQLite affinity's leniency (" 0611 " and "611.0" are 611). ok is false
// when s cannot be such a value.
func ParseValue(t ColumnType, s string) (v Value, ok bool) {
	if t == Text {
		return TextValue(s), true
	}
	n, ok := parseInteger(s)
	if !ok {
		return Value{}, false
	}
	return IntValue(n), true
}
