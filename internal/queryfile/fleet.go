package queryfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxYAMLDepth bounds `path:` references from one Fleet file to another.
const maxYAMLDepth = 8

// Fleet reads a Fleet YAML file: a list of {name, query} (or
// {path} references to such lists), a GitOps file with policies:, queries:
// and labels: lists, or 'apiVersion: v1' documents of kind query, policy or
// label. Fleet 4.82 renamed queries to reports (the GitOps key and the kind)
// and still takes the old names, so both are read. Other keys and kinds hold
// no SQL and are skipped.
func Fleet(path string, data []byte) ([]Query, error) { return fleet(path, data, 0) }

func fleet(path string, data []byte, depth int) ([]Query, error) {
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("%s: more than %d levels of path: references (a loop?)", path, maxYAMLDepth)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var qs []Query
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return qs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		var more []Query
		switch {
		case root.Kind == yaml.SequenceNode:
			more, err = fleetList(path, root, depth)
		case root.Kind == yaml.MappingNode && yamlKey(root, "apiVersion") != nil:
			more, err = fleetDocument(path, root, depth)
		case root.Kind == yaml.MappingNode:
			for _, key := range []string{"policies", "queries", "reports", "labels"} {
				if v := yamlKey(root, key); v != nil && v.Tag != "!!null" {
					var items []Query
					items, err = fleetList(path, v, depth)
					more = append(more, items...)
					if err != nil {
						break
					}
				}
			}
		default:
			err = fmt.Errorf("%s:%d: want a list of queries or a mapping", path, root.Line)
		}
		if err != nil {
			return nil, err
		}
		qs = append(qs, more...)
	}
}

// fleetDocument reads one 'apiVersion: v1' document.
func fleetDocument(path string, root *yaml.Node, depth int) ([]Query, error) {
	kind := yamlKey(root, "kind")
	if kind == nil || !slices.Contains([]string{"query", "report", "policy", "label"}, kind.Value) {
		return nil, nil
	}
	spec := yamlKey(root, "spec")
	if spec == nil {
		return nil, fmt.Errorf("%s:%d: kind %s without spec", path, kind.Line, kind.Value)
	}
	return fleetItem(path, spec, depth)
}

func fleetList(path string, n *yaml.Node, depth int) ([]Query, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: want a list", path, n.Line)
	}
	var qs []Query
	for _, it := range n.Content {
		more, err := fleetItem(path, it, depth)
		if err != nil {
			return nil, err
		}
		qs = append(qs, more...)
	}
	return qs, nil
}

// fleetItem reads {name, query}, or {path}: a file that is itself a list.
func fleetItem(path string, n *yaml.Node, depth int) ([]Query, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping with name and query", path, n.Line)
	}
	if ref := yamlKey(n, "path"); ref != nil {
		file := ref.Value
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(path), file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: path: %w", path, ref.Line, err)
		}
		return fleet(file, data, depth+1)
	}
	sql := yamlKey(n, "query")
	if sql == nil || sql.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("%s:%d: no query (want name: and query:, or path:)", path, n.Line)
	}
	name := fmt.Sprintf("%s:%d", path, n.Line)
	if v := yamlKey(n, "name"); v != nil && v.Value != "" {
		name = v.Value
	}
	return named(name, fmt.Sprintf("%s:%d", path, sql.Line), sql.Value)
}

func yamlKey(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

// deref follows a YAML alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
