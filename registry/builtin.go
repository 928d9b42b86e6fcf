package registry

import (
	"errors"
	"fmt"
)

// The built-in registry is compiled from data/*.yml into builtin_gen.go, so
// that it is static data: a start parses no YAML and builds no index.
//go:generate go run -tags regen ./internal/cmd/genbuiltin

// Builtin returns the registry compiled into the binary. The data were
// validated when builtin_gen.go was generated, so the error is always nil;
// callers keep handling it as they did when the YAML was parsed at start.
func Builtin() (*Registry, error) { return &builtinRegistry, nil }

// Load joins data files into one registry. A (port, transport) claimed by two
// entries is an error: the built-in data must say one thing per port.
func Load(files ...*DataFile) (*Registry, error) {
	var (
		all    []*Entry
		errs   []error
		owner  = map[key]*Entry{}
		newest string
	)
	for _, f := range files {
		newest = max(newest, f.Updated)
		for _, e := range f.Entries {
			clash := false
			for p := int(e.PortLow); p <= int(e.PortHigh); p++ {
				for _, proto := range e.Transports {
					k := key{uint16(p), proto}
					if prev, ok := owner[k]; ok && !clash {
						errs = append(errs, &Error{File: e.File, Line: e.Line, Msg: fmt.Sprintf(
							"%d/%s is already claimed by %s at %s:%d", p, TransportName(proto), prev.Service, prev.File, prev.Line)})
						clash = true
					}
					owner[k] = e
				}
			}
			all = append(all, e)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return New(newest, all), nil
}
