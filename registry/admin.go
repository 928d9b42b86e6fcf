package registry

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Admin is the admin's own file: entries the organisation adds, fields of
// built-in entries it corrects, entries it disables, and processes it allows.
type Admin struct {
	Path      string
	Entries   []*Entry
	Overrides []Override
	Disabled  []Disable
	Allow     []AllowRule
}

// Override changes fields of the built-in entry on a port (or range).
type Override struct {
	PortLow, PortHigh uint16
	Transports        []uint8
	fields            []*yaml.Node // key, value pairs to apply
	Line              int
}

// Disable takes built-in (port, transport) pairs out of the registry.
type Disable struct {
	PortLow, PortHigh uint16
	Transports        []uint8
	Comment           string
	Line              int
}

// ParseAdmin reads the admin's file. A file with any error is rejected
// whole: every problem is returned with its line, and nothing is applied.
func ParseAdmin(path string, data []byte) (*Admin, error) {
	root, err := yamlRoot(path, data)
	if err != nil {
		return nil, err
	}
	l := &errList{file: path}
	a := &Admin{Path: path}
	for k, v := range pairs(l, root) {
		switch k.Value {
		case "entries":
			a.Entries = parseEntries(l, v, path)
		case "override":
			a.Overrides = parseList(l, v, k.Value, parseOverride)
		case "disable":
			a.Disabled = parseList(l, v, k.Value, parseDisable)
		case "allow":
			a.Allow = parseList(l, v, k.Value, parseAllow)
		default:
			l.add(k.Line, "unknown key %q (want entries, override, disable, allow)", k.Value)
		}
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return a, nil
}

func parseList[T any](l *errList, seq *yaml.Node, what string, item func(*errList, *yaml.Node) (T, bool)) []T {
	if seq.Kind != yaml.SequenceNode {
		l.add(seq.Line, "%s: expected a list", what)
		return nil
	}
	var out []T
	for _, n := range seq.Content {
		if n.Kind != yaml.MappingNode {
			l.add(n.Line, "%s: each item must be a mapping", what)
			continue
		}
		if v, ok := item(l, n); ok {
			out = append(out, v)
		}
	}
	return out
}

// selector reads the port and optional transport keys shared by override,
// disable and allow; without transport, both tcp and udp are meant.
type selector struct {
	lo, hi     uint16
	transports []uint8
	seen       bool
}

func (s *selector) read(l *errList, k, v *yaml.Node) bool {
	switch k.Value {
	case "port":
		lo, hi, err := ParsePorts(v.Value)
		if v.Kind != yaml.ScalarNode || err != nil {
			l.add(v.Line, "port: %v", portErr(err, v))
		}
		s.lo, s.hi, s.seen = lo, hi, true
	case "transport":
		s.transports = parseTransports(l, k, v)
	default:
		return false
	}
	return true
}

func portErr(err error, v *yaml.Node) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("expected a port or range, got a %s", kindName(v))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "value"
}

func (s *selector) finish(l *errList, n *yaml.Node, what string) bool {
	if !s.seen {
		l.add(n.Line, "%s: missing key port", what)
		return false
	}
	if s.transports == nil {
		s.transports = []uint8{TCP, UDP}
	}
	return true
}

// overridable are the fields an override may change.
var overridable = []string{"service", "description", "category", "retired", "replaced_by", "confidence", "references", "note"}

func parseOverride(l *errList, n *yaml.Node) (Override, bool) {
	before := len(l.errs)
	var s selector
	o := Override{Line: n.Line}
	for k, v := range pairs(l, n) {
		switch {
		case s.read(l, k, v):
		case slices.Contains(overridable, k.Value):
			// Validate now, with the entry parser, so that errors carry
			// their line even though the entry is only known at Apply.
			setField(l, &Entry{}, k, v)
			o.fields = append(o.fields, k, v)
		default:
			l.add(k.Line, "override: unknown key %q (want port, transport and any of %v)", k.Value, overridable)
		}
	}
	if !s.finish(l, n, "override") {
		return o, false
	}
	if len(o.fields) == 0 {
		l.add(n.Line, "override of port %d: nothing to change", s.lo)
	}
	o.PortLow, o.PortHigh, o.Transports = s.lo, s.hi, s.transports
	return o, len(l.errs) == before
}

func parseDisable(l *errList, n *yaml.Node) (Disable, bool) {
	before := len(l.errs)
	var s selector
	d := Disable{Line: n.Line}
	for k, v := range pairs(l, n) {
		switch {
		case s.read(l, k, v):
		case k.Value == "comment":
			d.Comment = v.Value
		default:
			l.add(k.Line, "disable: unknown key %q (want port, transport, comment)", k.Value)
		}
	}
	if !s.finish(l, n, "disable") {
		return d, false
	}
	if d.Comment == "" {
		l.add(n.Line, "disable of port %d: a comment saying why is required", s.lo)
	}
	d.PortLow, d.PortHigh, d.Transports = s.lo, s.hi, s.transports
	return d, len(l.errs) == before
}

func parseAllow(l *errList, n *yaml.Node) (AllowRule, bool) {
	before := len(l.errs)
	var s selector
	a := AllowRule{File: l.file, Line: n.Line}
	for k, v := range pairs(l, n) {
		switch {
		case s.read(l, k, v):
		case k.Value == "process":
			a.Process = v.Value
		case k.Value == "user":
			a.User = v.Value
		case k.Value == "comment":
			a.Comment = v.Value
		default:
			l.add(k.Line, "allow: unknown key %q (want port, transport, process, user, comment)", k.Value)
		}
	}
	if !s.finish(l, n, "allow") {
		return a, false
	}
	if a.Process == "" {
		l.add(n.Line, "allow on port %d: process (a name or an executable path) is required", s.lo)
	}
	if a.Comment == "" {
		l.add(n.Line, "allow on port %d: a comment saying why is required", s.lo)
	}
	a.PortLow, a.PortHigh, a.Transports = s.lo, s.hi, s.transports
	return a, len(l.errs) == before
}

// Apply returns base changed by the admin's file: disables first, then
// overrides, then added entries, then allow rules. It fails, applying
// nothing, when an override or disable names a port the built-in registry
// does not have, or an added entry claims one it does.
func (a *Admin) Apply(base *Registry) (*Registry, error) {
	l := &errList{file: a.Path}
	baseIndex := base.index()
	index := maps.Clone(baseIndex)
	each := func(lo, hi uint16, transports []uint8, fn func(key)) {
		for p := int(lo); p <= int(hi); p++ {
			for _, t := range transports {
				fn(key{uint16(p), t})
			}
		}
	}
	for _, d := range a.Disabled {
		each(d.PortLow, d.PortHigh, d.Transports, func(k key) { delete(index, k) })
	}
	for _, o := range a.Overrides {
		copies := map[*Entry]*Entry{}
		each(o.PortLow, o.PortHigh, o.Transports, func(k key) {
			e, ok := baseIndex[k]
			if !ok {
				return
			}
			c, ok := copies[e]
			if !ok {
				c = o.apply(l, e, a.Path)
				copies[e] = c
			}
			if _, present := index[k]; present { // not disabled above
				index[k] = c
			}
		})
		if len(copies) == 0 {
			l.add(o.Line, "override: port %s is not in the built-in registry (add it under entries instead)", portText(o.PortLow, o.PortHigh))
		}
	}
	for _, e := range a.Entries {
		each(e.PortLow, e.PortHigh, e.Transports, func(k key) {
			if prev, ok := baseIndex[k]; ok {
				l.add(e.Line, "entries: %d/%s is already in the built-in registry as %s (use override to change it)", k.port, TransportName(k.proto), prev.Service)
				return
			}
			index[k] = e
		})
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	r := fromIndex(base.date, index)
	r.allow = slices.Clone(a.Allow)
	return r, nil
}

// apply returns a copy of e, limited to the override's ports and
// transports, with the override's fields set.
func (o Override) apply(l *errList, e *Entry, source string) *Entry {
	c := *e
	c.PortLow, c.PortHigh = max(e.PortLow, o.PortLow), min(e.PortHigh, o.PortHigh)
	c.Transports = slices.DeleteFunc(slices.Clone(e.Transports), func(t uint8) bool { return !slices.Contains(o.Transports, t) })
	c.References = slices.Clone(e.References)
	c.Source = source
	c.File, c.Line = l.file, o.Line
	for i := 0; i+1 < len(o.fields); i += 2 {
		setField(l, &c, o.fields[i], o.fields[i+1])
	}
	return &c
}

func portText(lo, hi uint16) string {
	if lo == hi {
		return strconv.FormatUint(uint64(lo), 10)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}
