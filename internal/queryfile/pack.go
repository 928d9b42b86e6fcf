package queryfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// jsonFile is an osquery pack or configuration, read in file order with the
// line of each key, which encoding/json's maps do not keep.
type jsonFile struct {
	path string
	data []byte
}

// jsonValue is a raw value and where it starts in the file.
type jsonValue struct {
	raw json.RawMessage
	off int
}

type jsonMember struct {
	key string
	val jsonValue
}

func (f *jsonFile) where(off int) string {
	return fmt.Sprintf("%s:%d", f.path, bytes.Count(f.data[:off], []byte("\n"))+1)
}

// elements reads an object's members (keys set) or an array's elements.
func (f *jsonFile) elements(v jsonValue) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(v.raw))
	open, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.where(v.off), err)
	}
	isObject := open == json.Delim('{')
	var out []jsonMember
	for dec.More() {
		var m jsonMember
		if isObject {
			k, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.where(v.off), err)
			}
			m.key, _ = k.(string)
		}
		if err := dec.Decode(&m.val.raw); err != nil {
			return nil, fmt.Errorf("%s: %w", f.where(v.off), err)
		}
		m.val.off = v.off + int(dec.InputOffset()) - len(m.val.raw)
		out = append(out, m)
	}
	return out, nil
}

// kind names a JSON value's type for messages.
func (v jsonValue) kind() byte {
	for _, c := range v.raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

func (f *jsonFile) object(v jsonValue, what string) ([]jsonMember, error) {
	if v.kind() != '{' {
		return nil, fmt.Errorf("%s: %s: want an object", f.where(v.off), what)
	}
	return f.elements(v)
}

func (f *jsonFile) array(v jsonValue, what string) ([]jsonMember, error) {
	if v.kind() != '[' {
		return nil, fmt.Errorf("%s: %s: want a list", f.where(v.off), what)
	}
	return f.elements(v)
}

func (f *jsonFile) str(v jsonValue, what string) (string, error) {
	var s string
	if err := json.Unmarshal(v.raw, &s); err != nil {
		return "", fmt.Errorf("%s: %s: want a string, got %s", f.where(v.off), what, v.raw)
	}
	return s, nil
}

// Pack reads an osquery pack ("queries", "discovery") or an osquery
// configuration ("schedule", "packs", "decorators"). Like osquery, it
// ignores whole lines that are # or // comments.
func Pack(path string, data []byte) ([]Query, error) {
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		// Blanked, not removed, so that offsets keep their line.
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//") {
			body := strings.TrimSuffix(l, "\n")
			lines[i] = strings.Repeat(" ", len(body)) + l[len(body):]
		}
	}
	data = []byte(strings.Join(lines, ""))
	var syntax any
	if err := json.Unmarshal(data, &syntax); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: %w", (&jsonFile{path, data}).where(int(se.Offset)), err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := &jsonFile{path: path, data: data}
	return f.pack(jsonValue{raw: data}, "", 0)
}

// pack reads the queries of one pack or configuration; prefix names the
// pack inside a configuration.
func (f *jsonFile) pack(v jsonValue, prefix string, depth int) ([]Query, error) {
	top, err := f.object(v, "the file")
	if err != nil {
		return nil, err
	}
	var qs []Query
	add := func(name string, sql jsonValue) error {
		s, err := f.str(sql, name)
		if err != nil {
			return err
		}
		more, err := named(prefix+name, f.where(sql.off), s)
		qs = append(qs, more...)
		return err
	}
	for _, m := range top {
		switch m.key {
		case "queries", "schedule":
			entries, err := f.object(m.val, m.key)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				fields, err := f.object(e.val, m.key+"."+e.key)
				if err != nil {
					return nil, err
				}
				var sql *jsonValue
				for _, fl := range fields {
					if fl.key == "query" {
						sql = &fl.val
					}
				}
				if sql == nil {
					return nil, fmt.Errorf("%s: %s.%s: no \"query\"", f.where(e.val.off), m.key, e.key)
				}
				if err := add(e.key, *sql); err != nil {
					return nil, err
				}
			}
		case "discovery":
			list, err := f.array(m.val, m.key)
			if err != nil {
				return nil, err
			}
			for i, e := range list {
				if err := add(fmt.Sprintf("discovery %d", i+1), e.val); err != nil {
					return nil, err
				}
			}
		case "packs":
			packs, err := f.object(m.val, m.key)
			if err != nil {
				return nil, err
			}
			for _, p := range packs {
				more, err := f.packRef(p, depth)
				if err != nil {
					return nil, err
				}
				qs = append(qs, more...)
			}
		case "decorators":
			more, err := f.decorators(m.val, prefix)
			if err != nil {
				return nil, err
			}
			qs = append(qs, more...)
		}
	}
	return qs, nil
}

// packRef reads a pack of a configuration: inline, or a path to a pack file.
func (f *jsonFile) packRef(p jsonMember, depth int) ([]Query, error) {
	if p.val.kind() == '{' {
		return f.pack(p.val, p.key+"/", depth+1)
	}
	ref, err := f.str(p.val, "packs."+p.key)
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(ref) {
		ref = filepath.Join(filepath.Dir(f.path), ref)
	}
	if depth > 0 {
		return nil, fmt.Errorf("%s: packs.%s: a pack inside a pack", f.where(p.val.off), p.key)
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: packs.%s: %w", f.where(p.val.off), p.key, err)
	}
	qs, err := Pack(ref, data)
	for i := range qs {
		qs[i].Name = p.key + "/" + qs[i].Name
	}
	return qs, err
}

// decorators reads osquery's decorator queries: "load" and "always" lists,
// and "interval", lists by period.
func (f *jsonFile) decorators(v jsonValue, prefix string) ([]Query, error) {
	kinds, err := f.object(v, "decorators")
	if err != nil {
		return nil, err
	}
	var qs []Query
	list := func(name string, l jsonValue) error {
		items, err := f.array(l, name)
		if err != nil {
			return err
		}
		for i, it := range items {
			s, err := f.str(it.val, name)
			if err != nil {
				return err
			}
			more, err := named(fmt.Sprintf("%s%s %d", prefix, name, i+1), f.where(it.val.off), s)
			if err != nil {
				return err
			}
			qs = append(qs, more...)
		}
		return nil
	}
	for _, k := range kinds {
		switch k.key {
		case "load", "always":
			err = list("decorators."+k.key, k.val)
		case "interval":
			var periods []jsonMember
			if periods, err = f.object(k.val, "decorators.interval"); err == nil {
				for _, p := range periods {
					if err = list("decorators.interval."+p.key, p.val); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return qs, nil
}
