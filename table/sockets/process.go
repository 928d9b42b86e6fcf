//go:build !linux

package sockets

import (
	"context"
	"errors"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/process"
)

// describeProcess reads a process's details through gopsutil, which knows
// every platform's way of doing it. procRoot moves /proc for fixture tests
// and is ignored outside Linux. Fields that cannot be read stay empty (uid
// -1): a process that hides its executable still has a name worth showing.
func describeProcess(ctx context.Context, procRoot string, pid int32) (Process, error) {
	if procRoot != "" {
		ctx = context.WithValue(ctx, common.EnvKey, common.EnvMap{common.HostProcEnvKey: procRoot})
	}
	info := Process{UID: -1}
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		return info, err
	}
	var errs []error
	collect := func(s string, err error) string {
		errs = append(errs, err)
		return s
	}
	info.Name = collect(p.NameWithContext(ctx))
	info.Path = collect(p.ExeWithContext(ctx))
	info.Cmdline = collect(p.CmdlineWithContext(ctx))
	if uids, err := p.UidsWithContext(ctx); err == nil && len(uids) > 0 {
		info.UID = int64(uids[0])
	}
	info.Username = collect(p.UsernameWithContext(ctx))
	if info.Name == "" && info.Path == "" {
		return info, errors.Join(errs...)
	}
	return info, nil
}
