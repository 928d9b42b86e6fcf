package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem in a data file, located by file and line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// errList gathers located errors so that one pass reports all of them.
type errList struct {
	file string
	errs []error
}

func (l *errList) add(line int, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (l *errList) err() error { return errors.Join(l.errs...) }

// DataFile is one parsed registry file.
type DataFile struct {
	Name    string
	Updated string
	Entries []*Entry
}

var (
	serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	isoDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// yamlRoot decodes data and returns its top-level mapping, or an error that
// names the file and line.
func yamlRoot(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: name, Msg: "file is empty"}
	}
	// A reader of YAML takes the first document and drops the rest without
	// a word; what the admin wrote after a "---" must not vanish so.
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Error{File: name, Line: next.Line, Msg: "a second YAML document starts here; the file must hold one"}
	case !errors.Is(err, io.EOF):
		return nil, yamlError(name, err)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Msg: "expected a mapping with top-level keys"}
	}
	return root, nil
}

func yamlError(name string, err error) error {
	return &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

// Parse reads one built-in data file. Nothing of a file with errors is used:
// it returns every problem it found, each with its line.
func Parse(name string, data []byte) (*DataFile, error) {
	root, err := yamlRoot(name, data)
	if err != nil {
		return nil, err
	}
	l := &errList{file: name}
	f := &DataFile{Name: name}
	for k, v := range pairs(l, root) {
		switch k.Value {
		case "updated":
			if !isoDate.MatchString(v.Value) {
				l.add(v.Line, "updated: want a date YYYY-MM-DD, got %q", v.Value)
			}
			f.Updated = v.Value
		case "entries":
			f.Entries = parseEntries(l, v, "builtin")
		default:
			l.add(k.Line, "unknown key %q (want updated, entries)", k.Value)
		}
	}
	if f.Updated == "" {
		l.add(root.Line, "missing key updated")
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// pairs iterates over the key and value nodes of a mapping. A key given
// twice is reported and its later values skipped: a YAML reader keeps one of
// them without a word.
func pairs(l *errList, m *yaml.Node) func(func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		seen := map[string]bool{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if seen[k.Value] {
				l.add(k.Line, "key %q given twice", k.Value)
				continue
			}
			seen[k.Value] = true
			if !yield(k, m.Content[i+1]) {
				return
			}
		}
	}
}

func parseEntries(l *errList, seq *yaml.Node, source string) []*Entry {
	if seq.Kind != yaml.SequenceNode {
		l.add(seq.Line, "entries: expected a list")
		return nil
	}
	out := make([]*Entry, 0, len(seq.Content))
	for _, n := range seq.Content {
		if e := parseEntry(l, n, source); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// parseEntry reads and validates one entry; it returns nil if anything is wrong.
func parseEntry(l *errList, n *yaml.Node, source string) *Entry {
	before := len(l.errs)
	if n.Kind != yaml.MappingNode {
		l.add(n.Line, "entry: expected a mapping")
		return nil
	}
	e := &Entry{File: l.file, Line: n.Line, Source: source}
	seen := map[string]bool{}
	for k, v := range pairs(l, n) {
		seen[k.Value] = true
		setField(l, e, k, v)
	}
	for _, req := range []string{"port", "transport", "service", "description", "category", "retired", "replaced_by", "confidence", "references"} {
		if !seen[req] {
			l.add(n.Line, "entry %s: missing key %s", describe(e), req)
		}
	}
	if len(l.errs) > before {
		return nil
	}
	return e
}

func describe(e *Entry) string {
	if e.Service != "" {
		return e.Ports() + " " + e.Service
	}
	return "at port " + e.Ports()
}

// setField validates one key of an entry and stores it.
func setField(l *errList, e *Entry, k, v *yaml.Node) {
	scalar := func() (string, bool) {
		if v.Kind != yaml.ScalarNode {
			l.add(v.Line, "%s: expected a single value", k.Value)
			return "", false
		}
		return strings.TrimSpace(v.Value), true
	}
	text := func(dst *string) {
		if s, ok := scalar(); ok {
			if s == "" {
				l.add(v.Line, "%s: must not be empty", k.Value)
			}
			*dst = s
		}
	}
	switch k.Value {
	case "port":
		if s, ok := scalar(); ok {
			lo, hi, err := ParsePorts(s)
			if err != nil {
				l.add(v.Line, "port: %v", err)
			}
			e.PortLow, e.PortHigh = lo, hi
		}
	case "transport":
		e.Transports = parseTransports(l, k, v)
	case "service":
		text(&e.Service)
		if e.Service != "" && !serviceName.MatchString(e.Service) {
			l.add(v.Line, "service: %q is not a well-formed IANA service name (letters, digits, hyphens)", e.Service)
		}
	case "description":
		text(&e.Description)
	case "category":
		if s, ok := scalar(); ok {
			e.Category = Category(s)
			if !slices.Contains(Categories, e.Category) {
				l.add(v.Line, "category: unknown value %q (want one of %s)", s, categoryList())
			}
		}
	case "retired":
		if s, ok := scalar(); ok {
			y, err := parseYear(s)
			if err != nil {
				l.add(v.Line, "retired: %v", err)
			}
			e.Retired = y
		}
	case "replaced_by":
		text(&e.ReplacedBy)
	case "confidence":
		if s, ok := scalar(); ok {
			e.Confidence = Confidence(s)
			if e.Confidence != High && e.Confidence != Medium && e.Confidence != Low {
				l.add(v.Line, "confidence: unknown value %q (want high, medium or low)", s)
			}
		}
	case "references":
		e.References = parseStrings(l, k, v)
		if len(e.References) == 0 {
			l.add(v.Line, "references: at least one reference is required")
		}
	case "note":
		text(&e.Note)
	case "deassigned":
		text(&e.Deassigned)
		if e.Deassigned != "" && !isoDate.MatchString(e.Deassigned) {
			l.add(v.Line, "deassigned: want a date YYYY-MM-DD, got %q", e.Deassigned)
		}
	default:
		l.add(k.Line, "unknown key %q", k.Value)
	}
}

func categoryList() string {
	s := make([]string, len(Categories))
	for i, c := range Categories {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// ParsePorts reads "611" or "6000-6063".
func ParsePorts(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err = parsePort(a)
	if err != nil || !isRange {
		return lo, lo, err
	}
	hi, err = parsePort(b)
	if err != nil {
		return lo, lo, err
	}
	if hi <= lo {
		return lo, lo, fmt.Errorf("range %q: the end must be above the start", s)
	}
	return lo, hi, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number from 1 to 65535", s)
	}
	return uint16(n), nil
}

func parseYear(s string) (int, error) {
	if s == "unknown" {
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1970 || y > 2100 {
		return 0, fmt.Errorf("%q is neither a year nor \"unknown\"", s)
	}
	return y, nil
}

func parseStrings(l *errList, k, v *yaml.Node) []string {
	if v.Kind == yaml.ScalarNode {
		if s := strings.TrimSpace(v.Value); s != "" {
			return []string{s}
		}
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		l.add(v.Line, "%s: expected a list", k.Value)
		return nil
	}
	var out []string
	for _, item := range v.Content {
		s := strings.TrimSpace(item.Value)
		if item.Kind != yaml.ScalarNode || s == "" {
			l.add(item.Line, "%s: items must be non-empty text", k.Value)
			continue
		}
		out = append(out, s)
	}
	return out
}

func parseTransports(l *errList, k, v *yaml.Node) []uint8 {
	names := parseStrings(l, k, v)
	if len(names) == 0 {
		l.add(v.Line, "transport: at least one of tcp, udp is required")
	}
	var out []uint8
	for _, name := range names {
		p, ok := TransportNumber(name)
		switch {
		case !ok:
			l.add(v.Line, "transport: unknown value %q (want tcp or udp)", name)
		case slices.Contains(out, p):
			l.add(v.Line, "transport: %q listed twice", name)
		default:
			out = append(out, p)
		}
	}
	return out
}
