package registry

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"
)

//go:embed data/*.yml
var builtinFS embed.FS

// Builtin returns the registry embedded in the binary, parsed once.
var Builtin = sync.OnceValues(func() (*Registry, error) {
	files, err := readDir(builtinFS, "data")
	if err != nil {
		return nil, err
	}
	return Load(files...)
})

func readDir(fsys fs.FS, dir string) ([]*DataFile, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yml"))
	if err != nil {
		return nil, err
	}
	var files []*DataFile
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := Parse(path.Join("registry", name), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
	}
	return files, errors.Join(errs...)
}

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
