package sockets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// describeProcess reads a process's details from procRoot/<pid>, as
// gopsutil does elsewhere; reading them directly keeps gopsutil, and the
// start-up cost of its packages, out of Linux builds. Fields that cannot be
// read stay empty (uid -1): a process that hides its executable still has a
// name worth showing.
func describeProcess(_ context.Context, procRoot string, pid int32) (Process, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	dir := filepath.Join(procRoot, strconv.Itoa(int(pid)))
	info := Process{UID: -1}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return info, err
	}
	var errs []error
	info.Name, info.UID = parseStatus(status)
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		info.Path = exe
	} else {
		errs = append(errs, err)
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		info.Cmdline = joinCmdline(raw)
	} else {
		errs = append(errs, err)
	}
	info.Name = fullName(info.Name, info.Cmdline)
	if info.UID >= 0 {
		if u, err := user.LookupId(strconv.FormatInt(info.UID, 10)); err == nil {
			info.Username = u.Username
		}
	}
	if info.Name == "" && info.Path == "" {
		return info, errors.Join(errs...)
	}
	return info, nil
}

// parseStatus takes the name and the real uid from /proc/<pid>/status.
func parseStatus(status []byte) (name string, uid int64) {
	uid = -1
	for line := range bytes.Lines(status) {
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(key) {
		case "Name":
			name = string(bytes.TrimSpace(value))
		case "Uid":
			if f := bytes.Fields(value); len(f) > 0 {
				if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
					uid = n
				}
			}
		}
	}
	return name, uid
}

// joinCmdline turns the NUL-separated arguments into one line.
func joinCmdline(raw []byte) string {
	raw = bytes.TrimRight(raw, "\x00")
	return string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))
}

// fullName undoes the kernel's cut of a name to 15 bytes, from the first
// argument, when that argument starts with the cut name (as gopsutil does).
func fullName(name, cmdline string) string {
	if len(name) < 15 || cmdline == "" {
		return name
	}
	first, _, _ := strings.Cut(cmdline, " ")
	if base := filepath.Base(first); strings.HasPrefix(base, name) {
		return base
	}
	return name
}
