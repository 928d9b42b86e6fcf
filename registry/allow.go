package registry

import (
	"slices"
	"strings"
)

// AllowRule lets a known process use a registry port without being called a
// ghost. Rules come only from the admin's root-owned file.
type AllowRule struct {
	PortLow, PortHigh uint16
	Transports        []uint8
	// Process is an executable path when it contains a slash, else a
	// process name.
	Process string
	User    string // optional: only this user
	Comment string // required: why the admin allows it
	File    string
	Line    int
}

func (a *AllowRule) matches(o Observation) bool {
	if o.Port < a.PortLow || o.Port > a.PortHigh || !slices.Contains(a.Transports, o.Proto) {
		return false
	}
	if a.User != "" && a.User != o.Username {
		return false
	}
	if strings.Contains(a.Process, "/") || strings.Contains(a.Process, `\`) {
		return o.ProcessPath != "" && a.Process == o.ProcessPath
	}
	return a.Process == o.ProcessName || (o.ProcessPath != "" && a.Process == BaseName(o.ProcessPath))
}

func (r *Registry) allowed(o Observation) (*AllowRule, bool) {
	for i := range r.allow {
		if r.allow[i].matches(o) {
			return &r.allow[i], true
		}
	}
	return nil, false
}

// BaseName is the last element of an executable path, whether it uses
// slashes or, from Windows, backslashes.
func BaseName(exe string) string {
	return exe[strings.LastIndexAny(exe, `/\`)+1:]
}
