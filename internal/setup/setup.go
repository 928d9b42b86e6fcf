// Package setup builds what both binaries share: the table options for this
// host, from the embedded registry, the admin's file and this platform's
// socket source.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/legacy-ports/legacy-ports/internal/buildinfo"
	"github.com/legacy-ports/legacy-ports/internal/logging"
	"github.com/legacy-ports/legacy-ports/registry"
	"github.com/legacy-ports/legacy-ports/table"
	"github.com/legacy-ports/legacy-ports/table/rpcbind"
	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Options returns the table options for this host. adminPath is the admin's
// file: "" means the platform's default path, where a missing file is
// normal; a path given explicitly must exist. warn receives, as warnings in
// the log format of both binaries, partial failures and the rejection of the
// admin's file.
func Options(warn io.Writer, adminPath string) (table.Options, error) {
	log := logging.New(warn, slog.LevelWarn)
	base, err := registry.Builtin()
	if err != nil {
		return table.Options{}, fmt.Errorf("the built-in registry does not load: %w", err)
	}
	w := &adminWatch{base: base, path: adminPath, explicit: adminPath != "", log: log}
	if w.path == "" {
		w.path = registry.DefaultAdminPath
	}
	return table.Options{
		Source:      sockets.Default(),
		State:       w.current,
		Version:     buildinfo.Version,
		Log:         log,
		RPCPrograms: askRPCBind,
	}, nil
}

// askRPCBind asks the local rpcbind which ports its RPC programs hold.
func askRPCBind(ctx context.Context) (map[rpcbind.Key][]string, error) {
	ms, err := rpcbind.Dump(ctx, rpcbind.DefaultAddr)
	if err != nil {
		return nil, err
	}
	return rpcbind.PortPrograms(ms), nil
}

// adminWatch serves the registry in force and re-reads the admin's file when
// it changes, so that an edit applies on the next query without a restart.
// It costs one stat per call.
type adminWatch struct {
	base     *registry.Registry
	path     string
	explicit bool
	log      *slog.Logger

	mu    sync.Mutex
	stamp stamp
	state table.State
	ready bool
}

// stamp identifies one version of the file: a new write, a new mode or a
// new owner (which changes ctime on POSIX) means a new version.
type stamp struct {
	exists bool
	size   int64
	mtime  time.Time
	mode   os.FileMode
	change int64 // ctime in nanoseconds where the platform has one
	fi     os.FileInfo
}

func stampOf(fi os.FileInfo, err error) stamp {
	if err != nil {
		return stamp{}
	}
	return stamp{exists: true, size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode(), change: changeTime(fi), fi: fi}
}

func (s stamp) same(o stamp) bool {
	if s.exists != o.exists {
		return false
	}
	return !s.exists || (s.size == o.size && s.mtime.Equal(o.mtime) && s.mode == o.mode &&
		s.change == o.change && os.SameFile(s.fi, o.fi))
}

func (w *adminWatch) current() table.State {
	fi, err := os.Stat(w.path)
	now := stampOf(fi, err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ready && now.same(w.stamp) {
		return w.state
	}
	w.stamp, w.ready = now, true
	w.state = w.load(err)
	for _, e := range w.state.Errors {
		w.log.Warn(e)
	}
	return w.state
}

// load builds the state for the file as it is now. A file that is missing,
// untrusted or malformed leaves the built-in registry in force, and says so.
func (w *adminWatch) load(statErr error) table.State {
	st := table.State{Registry: w.base}
	if errors.Is(statErr, fs.ErrNotExist) && !w.explicit {
		st.Custom = "none (" + w.path + " not present)"
		return st
	}
	reject := func(err error) table.State {
		st.Custom = w.path + " (rejected; the built-in registry is in use)"
		st.Errors = []string{"admin registry rejected: " + oneLine(err)}
		return st
	}
	if statErr != nil {
		return reject(statErr)
	}
	admin, err := registry.ReadAdminFile(w.path)
	if err != nil {
		return reject(err)
	}
	reg, err := admin.Apply(w.base)
	if err != nil {
		return reject(err)
	}
	st.Registry = reg
	st.Custom = fmt.Sprintf("%s (applied: %d added, %d overridden, %d disabled, %d allow rules)",
		w.path, len(admin.Entries), len(admin.Overrides), len(admin.Disabled), len(admin.Allow))
	return st
}

// oneLine joins the lines of a multi-error, for a single table cell.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
