package table

import (
	"context"
	"encoding/json"

	"github.com/osquery/osquery-go"
	genosquery "github.com/osquery/osquery-go/gen/osquery"
	osqtable "github.com/osquery/osquery-go/plugin/table"
)

// Plugins turns the table definitions into osquery table plugins. It is the
// only place that calls osqtable.NewPlugin (the linter enforces it), so every
// table gets the guard of Definitions and the colsUsed hint.
func Plugins(o Options) []osquery.OsqueryPlugin {
	defs := Definitions(o)
	out := make([]osquery.OsqueryPlugin, len(defs))
	for i, d := range defs {
		out[i] = newPlugin(d)
	}
	return out
}

// Specs returns each table's spec in the shape of osquery's spec files.
func Specs(o Options) []osqtable.OsqueryTableSpec {
	var specs []osqtable.OsqueryTableSpec
	for _, d := range Definitions(o) {
		specs = append(specs, newPlugin(d).Spec())
	}
	return specs
}

// plugin is an osquery table plugin that also reads colsUsed, which osquery
// sends with each generate call but osquery-go's QueryContext drops: a query
// that selects no process column then skips reading process details.
type plugin struct {
	*osqtable.Plugin
}

type colsUsedKey struct{}

func newPlugin(d Definition) *plugin {
	cols := make([]osqtable.ColumnDefinition, len(d.Columns))
	for i, c := range d.Columns {
		opts := []osqtable.ColumnOpt{osqtable.ColumnDescription(c.Description)}
		if c.Index {
			opts = append(opts, osqtable.IndexColumn(), osqtable.OptimizedColumn())
		}
		cols[i] = osqtable.NewColumn(c.Name, osqtable.ColumnType(c.Type), opts...)
	}
	gen := func(ctx context.Context, qc osqtable.QueryContext) ([]map[string]string, error) {
		used, _ := ctx.Value(colsUsedKey{}).([]string)
		return d.Generate(ctx, Request{Context: qc, ColsUsed: used})
	}
	opts := []osqtable.TableOpt{
		osqtable.WithDescription(d.Description),
		osqtable.WithPlatforms(osqtable.LinuxPlatform, osqtable.DarwinPlatform, osqtable.WindowsPlatform),
	}
	for _, ex := range d.Examples {
		opts = append(opts, osqtable.WithExample(ex))
	}
	return &plugin{osqtable.NewPlugin(d.Name, cols, gen, opts...)}
}

// Call passes colsUsed from the request's context JSON to the generator.
func (p *plugin) Call(ctx context.Context, req genosquery.ExtensionPluginRequest) genosquery.ExtensionResponse {
	if req["action"] == "generate" {
		var c struct {
			ColsUsed []string `json:"colsUsed"`
		}
		// A context that does not parse is reported by the inner Call.
		if json.Unmarshal([]byte(req["context"]), &c) == nil && c.ColsUsed != nil {
			ctx = context.WithValue(ctx, colsUsedKey{}, c.ColsUsed)
		}
	}
	return p.Plugin.Call(ctx, req)
}
