// Package osqplugin serves table definitions to osquery: it is the osquery
// adapter, the one place that knows osquery-go, and the one place where typed
// rows become osquery's strings. cmd/legacy-ports-ext registers its Plugins.
package osqplugin

import (
	"context"

	"github.com/osquery/osquery-go"
	genosquery "github.com/osquery/osquery-go/gen/osquery"
	osqtable "github.com/osquery/osquery-go/plugin/table"

	"github.com/legacy-ports/legacy-ports/table"
)

// Plugins turns table definitions into osquery table plugins. It is the
// only place that calls osqtable.NewPlugin (the linter enforces it), so every
// table gets the guard that table.Definitions puts on it, and the whole of
// osquery's request: constraints with their operators, and colsUsed.
func Plugins(defs []table.Definition) []osquery.OsqueryPlugin {
	out := make([]osquery.OsqueryPlugin, len(defs))
	for i, d := range defs {
		out[i] = newPlugin(d)
	}
	return out
}

// Specs returns each table's spec in the shape of osquery's spec files.
// Only the schema is read: table.Schemas() is enough.
func Specs(defs []table.Definition) []osqtable.OsqueryTableSpec {
	specs := make([]osqtable.OsqueryTableSpec, len(defs))
	for i, d := range defs {
		specs[i] = newPlugin(d).Spec()
	}
	return specs
}

// plugin is an osquery table plugin whose generate action we answer
// ourselves: osquery-go's QueryContext drops colsUsed, and we translate the
// context JSON into table.Request in one place (ParseContext). osquery-go's
// plugin serves the rest: routes, spec, ping.
type plugin struct {
	*osqtable.Plugin
	def table.Definition
}

func newPlugin(d table.Definition) *plugin {
	cols := make([]osqtable.ColumnDefinition, len(d.Columns))
	for i, c := range d.Columns {
		opts := []osqtable.ColumnOpt{osqtable.ColumnDescription(c.Description)}
		if c.Index {
			opts = append(opts, osqtable.IndexColumn(), osqtable.OptimizedColumn())
		}
		cols[i] = osqtable.NewColumn(c.Name, osqtable.ColumnType(c.Type), opts...)
	}
	opts := []osqtable.TableOpt{
		osqtable.WithDescription(d.Description),
		osqtable.WithPlatforms(osqtable.LinuxPlatform, osqtable.DarwinPlatform, osqtable.WindowsPlatform),
	}
	for _, ex := range d.Examples {
		opts = append(opts, osqtable.WithExample(ex))
	}
	// Generate never reaches osquery-go's plugin: Call answers it.
	return &plugin{Plugin: osqtable.NewPlugin(d.Name, cols, nil, opts...), def: d}
}

// Call answers generate with our own context parser and row conversion, and
// passes every other action to osquery-go's plugin.
func (p *plugin) Call(ctx context.Context, req genosquery.ExtensionPluginRequest) genosquery.ExtensionResponse {
	if req["action"] != "generate" {
		return p.Plugin.Call(ctx, req)
	}
	r, err := ParseContext(req["context"])
	if err != nil {
		return failure("error parsing context JSON: " + err.Error())
	}
	rows, err := p.def.Generate(ctx, r)
	if err != nil {
		return failure("error generating table: " + err.Error())
	}
	out := make([]map[string]string, len(rows))
	for i, row := range rows {
		out[i] = row.Text()
	}
	return genosquery.ExtensionResponse{Status: &genosquery.ExtensionStatus{Code: 0, Message: "OK"}, Response: out}
}

func failure(msg string) genosquery.ExtensionResponse {
	return genosquery.ExtensionResponse{Status: &genosquery.ExtensionStatus{Code: 1, Message: msg}}
}
