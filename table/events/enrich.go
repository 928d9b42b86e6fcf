package events

import (
	"context"
	"os/user"
	"strconv"
	"sync"
	"time"

	"github.com/legacy-ports/legacy-ports/table/sockets"
)

// Describer reads a process's details; sockets.Source is one.
type Describer interface {
	Process(ctx context.Context, pid int32) (sockets.Process, error)
}

// ProcessTTL is how long the details of a (pid, comm) serve later events: a
// burst from one process reads /proc once, and a pid reused by another
// program shows another comm, or comes after the entry expired.
const ProcessTTL = time.Second

// Enricher describes the process behind an event as soon as the event
// arrives, because short-lived processes are gone by the next query. What
// the kernel said (comm, uid) is the fallback when the process has already
// exited. It is safe for concurrent use.
type Enricher struct {
	src        Describer
	now        func() time.Time
	lookupUser func(uid int64) string

	mu    sync.Mutex
	procs map[procID]cachedProcess
	users map[int64]string
}

// procID keys the cache by pid and the kernel's comm: threads of one
// process may carry their own names, and an exec or a reused pid changes it.
type procID struct {
	pid  int32
	comm string
}

type cachedProcess struct {
	p  sockets.Process
	at time.Time
}

// sweepAt is the cache size at which expired entries are swept; when none
// has expired the cache is emptied, so that a storm of new processes (each
// with up to MaxCmdline of command line) cannot grow it further.
const sweepAt = 512

// NewEnricher describes processes through src. now and lookupUser may be
// nil for the clock and the system's user database.
func NewEnricher(src Describer, now func() time.Time, lookupUser func(uid int64) string) *Enricher {
	if now == nil {
		now = time.Now
	}
	if lookupUser == nil {
		lookupUser = systemUsername
	}
	return &Enricher{src: src, now: now, lookupUser: lookupUser, procs: map[procID]cachedProcess{}, users: map[int64]string{}}
}

// Describe returns the details of ev's process: name, path, command line,
// uid and username.
func (e *Enricher) Describe(ctx context.Context, ev Event) sockets.Process {
	p := sockets.Process{UID: -1}
	if ev.PID >= 0 {
		p = e.process(ctx, ev.PID, ev.Comm)
	}
	if p.Name == "" {
		p.Name = ev.Comm
	}
	if p.UID < 0 {
		p.UID = ev.UID
	}
	if p.Username == "" && p.UID >= 0 {
		p.Username = e.username(p.UID)
	}
	return p
}

func (e *Enricher) process(ctx context.Context, pid int32, comm string) sockets.Process {
	id := procID{pid, comm}
	now := e.now()
	e.mu.Lock()
	c, ok := e.procs[id]
	e.mu.Unlock()
	if ok && now.Sub(c.at) < ProcessTTL {
		return c.p
	}
	// A process that has exited gives nothing; that is kept too, so that a
	// burst from a vanished pid does not read /proc for every event.
	p, err := e.src.Process(ctx, pid)
	if err != nil && p.Name == "" && p.Path == "" {
		p = sockets.Process{UID: -1}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.procs) >= sweepAt {
		for k, v := range e.procs {
			if now.Sub(v.at) >= ProcessTTL {
				delete(e.procs, k)
			}
		}
		if len(e.procs) >= sweepAt {
			clear(e.procs)
		}
	}
	e.procs[id] = cachedProcess{p, now}
	return p
}

// username names a uid; names rarely change, so each uid is asked once.
func (e *Enricher) username(uid int64) string {
	e.mu.Lock()
	name, ok := e.users[uid]
	e.mu.Unlock()
	if ok {
		return name
	}
	name = e.lookupUser(uid)
	e.mu.Lock()
	e.users[uid] = name
	e.mu.Unlock()
	return name
}

func systemUsername(uid int64) string {
	if u, err := user.LookupId(strconv.FormatInt(uid, 10)); err == nil {
		return u.Username
	}
	return ""
}
