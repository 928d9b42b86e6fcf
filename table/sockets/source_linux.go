package sockets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// linuxSource reads the sockets of every network namespace: with sock_diag
// netlink dumps where it can (about half the cost of /proc/net per socket,
// see docs/SOCKETS.md), else from <pid>/net/* under the proc root.
type linuxSource struct {
	procRoot string
	// netlink is set when procRoot is this host's /proc, so that the
	// namespaces found there are the ones setns can enter.
	netlink   bool
	bigEndian bool // byte order of addresses in /proc/net: the host's
	programs  programCache
}

// NewLinux returns the source that reads procRoot ("" means /proc). Any other
// root, a fixture tree or a host's /proc mounted in a container, is read
// through its files alone.
func NewLinux(procRoot string) Source {
	if procRoot == "" {
		procRoot = "/proc"
	}
	procRoot = filepath.Clean(procRoot)
	return &linuxSource{procRoot: procRoot, netlink: procRoot == "/proc", bigEndian: hostBigEndian}
}

// Sockets lists the sockets of our namespace, then of the others in inode
// order, keeping those keep accepts. Our namespace is read while the others
// are looked for, and the others are read side by side, a worker a CPU: the
// TCP dump of each walks the kernel's whole established table (about 2.5 ms
// for its 262,144 buckets on a 24 GB host), however few sockets it holds. A
// namespace that cannot be read is named in the error and the others are
// still read.
func (s *linuxSource) Sockets(ctx context.Context, keep Filter) ([]Socket, error) {
	ownerHintFor(s.procRoot).speculate(ctx, s.walkEvery)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	var errs []error
	own, err := ownNamespace(s.procRoot, sc)
	if err != nil {
		errs = append(errs, fmt.Errorf("network namespaces: %w", err))
	}
	type discovery struct {
		others []namespace
		err    error
	}
	found := make(chan discovery, 1)
	go func() {
		sc := scratchPool.Get().(*scratch)
		defer scratchPool.Put(sc)
		others, err := otherNamespaces(s.procRoot, sc, own.inode)
		found <- discovery{others, err}
	}()
	pf, _ := keep.(*PortFilter)
	if !s.netlink {
		pf = nil
	}
	out, err := s.readNamespace(ctx, sc, own, keep, pf, nil)
	if err != nil {
		errs = append(errs, err)
	}
	d := <-found
	if d.err != nil {
		errs = append(errs, fmt.Errorf("network namespaces: %w", d.err))
	}
	out, oerrs := s.readNamespaces(ctx, d.others, keep, pf, out)
	return out, errors.Join(append(errs, oerrs...)...)
}

// readNamespaces appends the sockets of nss, in their order, read on up to
// GOMAXPROCS goroutines, each with its own buffers.
func (s *linuxSource) readNamespaces(ctx context.Context, nss []namespace, keep Filter, pf *PortFilter, out []Socket) ([]Socket, []error) {
	type part struct {
		socks []Socket
		err   error
	}
	parts := make([]part, len(nss))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(nss)) {
		wg.Go(func() {
			sc := scratchPool.Get().(*scratch)
			defer scratchPool.Put(sc)
			for i := int(next.Add(1) - 1); i < len(nss) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				parts[i].socks, parts[i].err = s.readNamespace(ctx, sc, nss[i], keep, pf, nil)
			}
		})
	}
	wg.Wait()
	var errs []error
	for _, p := range parts {
		out = append(out, p.socks...)
		if p.err != nil && !errors.Is(p.err, ctx.Err()) {
			errs = append(errs, p.err)
		}
	}
	if err := ctx.Err(); err != nil && len(nss) > 0 {
		errs = append(errs, err)
	}
	return out, errs
}

// tcpTables are tcp and tcp6 in inetTables, which one dumpTCP reads.
const tcpTables = 1<<0 | 1<<1

// readNamespace appends the sockets of one namespace. Each of the four tables
// comes from netlink when possible, else from its /proc/net file: a kernel
// without udp_diag, or a namespace we may not enter, still gets read.
// In a busy namespace, pf (when not nil) is compiled into programs that have
// the kernel filter the dumps.
func (s *linuxSource) readNamespace(ctx context.Context, sc *scratch, ns namespace, keep Filter, pf *PortFilter, out []Socket) ([]Socket, error) {
	dir := ns.dir(s.procRoot)
	pending := 1<<len(inetTables) - 1 // bit i: inetTables[i] is still to read
	var errs []error
	if s.netlink {
		var diag int
		var err error
		if ns.pid == 0 {
			diag, err = openDiag()
		} else {
			diag, err = openDiagIn(filepath.Join(dir, "ns", "net"), ns.inode)
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			defer unix.Close(diag)
			var progs *programs
			if pf != nil && busy(sc, dir) {
				progs = s.programs.get(pf)
			}
			var derrs []error
			out, pending, derrs = dumpNamespace(ctx, sc, diag, ns, keep, progs, out)
			errs = append(errs, derrs...)
		}
	}
	for i, t := range inetTables {
		if pending&(1<<i) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var err error
		out, err = readProcNet(filepath.Join(dir, "net", t.name), t, s.bigEndian, ns.inode, keep, out)
		switch {
		case err == nil:
			pending &^= 1 << i
		case t.family == AFInet6 && errors.Is(err, fs.ErrNotExist):
			// IPv6 is disabled: there is nothing to read.
			pending &^= 1 << i
		default:
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if pending == 0 {
		return out, nil
	}
	return out, fmt.Errorf("network namespace %d (%s): %w", ns.inode, dir, errors.Join(errs...))
}

// dumpNamespace reads what it can of the namespace's tables over the
// sock_diag socket diag: TCP in one dump, else by family. It returns the
// tables left to read, and why. A failed dump's sockets are dropped, as the
// next way of reading the table returns them again.
func dumpNamespace(ctx context.Context, sc *scratch, diag int, ns namespace, keep Filter, progs *programs, out []Socket) ([]Socket, int, []error) {
	pending := 1<<len(inetTables) - 1
	seq := uint32(1)
	mark := len(out)
	var errs []error
	var err error
	if out, err = dumpTCP(ctx, diag, sc, seq, ns.inode, keep, progs.forProto(protoTCP), out); err == nil {
		pending &^= tcpTables
	} else {
		out = out[:mark]
		errs = append(errs, fmt.Errorf("tcp: %w", err))
	}
	for i, t := range inetTables {
		if pending&(1<<i) == 0 || ctx.Err() != nil {
			continue
		}
		seq++
		mark = len(out)
		if out, err = dumpInet(ctx, diag, sc, seq, t, ns.inode, keep, progs.forProto(t.proto), out); err == nil {
			pending &^= 1 << i
		} else {
			out = out[:mark]
			errs = append(errs, fmt.Errorf("%s: %w", t.name, err))
		}
	}
	return out, pending, errs
}

// Process describes pid through gopsutil, which reads the same proc root.
func (s *linuxSource) Process(ctx context.Context, pid int32) (Process, error) {
	root := s.procRoot
	if root == "/proc" {
		root = ""
	}
	return describeProcess(ctx, root, pid)
}

// Capabilities says root sees every namespace and every owner. Without root,
// /proc/<pid>/ns/net and /proc/<pid>/fd of other users' processes cannot be
// read: their containers are not even found, their sockets have no owners.
func (s *linuxSource) Capabilities() Capabilities {
	if os.Geteuid() == 0 {
		return Capabilities{Namespaces: true, Attribution: Full}
	}
	return Capabilities{Namespaces: false, Attribution: Partial}
}
