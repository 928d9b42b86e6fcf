package sockets

import (
	"bytes"
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"
)

// inet_diag bytecode (linux/inet_diag.h): the kernel runs it on every socket
// of a dump and sends only those it accepts, so that a host with 100,000
// connections on ordinary ports costs the kernel's walk and little else.
const (
	bcJMP  = 1 // INET_DIAG_BC_JMP: always jumps
	bcSGE  = 2 // INET_DIAG_BC_S_GE: local port >= the next op's "no"
	bcSLE  = 3 // INET_DIAG_BC_S_LE
	bcDGE  = 4 // INET_DIAG_BC_D_GE: remote port >= the next op's "no"
	bcDLE  = 5 // INET_DIAG_BC_D_LE
	bcAttr = 1 // INET_DIAG_REQ_BYTECODE, the request's attribute type

	bcJumpLen = 4 // struct inet_diag_bc_op
	bcCondLen = 8 // a port comparison: an op, then an op that holds the port
	// bcMaxLen keeps the bytecode in a netlink attribute, whose length,
	// header included, is 16 bits; a larger program is not sent and the
	// filter runs in Go alone.
	bcMaxLen = 1<<16 - 1 - 4
)

// Each op is {code, yes, no}: the kernel moves on by yes bytes when the
// condition holds and by no bytes when not. It accepts a socket when the
// program ends exactly at its last byte, and rejects it when a jump goes
// past, to four bytes after the end. The kernel's audit of a program follows
// only the yes offsets, and accepts a no offset only when it lands on an op
// that walk reaches: so every yes here is the op's own length, and every
// branch is a no.
//
// The ports of one direction are searched as a binary tree over their
// ranges: at 200 ranges, about ten comparisons per socket instead of 400.

// bcLabel is a place a jump goes to: an index in bcProg.at, or one of the
// two ends.
type bcLabel int

const (
	bcAccept bcLabel = -1 // the end of the program
	bcReject bcLabel = -2 // four bytes past the end
)

// bcInsn is one op of a program under construction.
type bcInsn struct {
	code uint8
	port uint16 // for comparisons
	no   bcLabel
}

type bcProg struct {
	insns []bcInsn
	at    []int // label -> index in insns of the op it names
}

func (p *bcProg) label() bcLabel {
	p.at = append(p.at, -1)
	return bcLabel(len(p.at) - 1)
}

func (p *bcProg) place(l bcLabel) { p.at[l] = len(p.insns) }

func (p *bcProg) op(code uint8, port uint16, no bcLabel) {
	p.insns = append(p.insns, bcInsn{code, port, no})
}

// search emits the test of one direction's port against rs, sorted and
// disjoint: a match jumps to the end (accept), a miss to miss. lo and hi are
// what the comparisons already made say of the port, so a range that covers
// them needs no comparison of its own.
func (p *bcProg) search(rs []PortRange, ge, le uint8, lo, hi uint16, miss bcLabel) {
	if len(rs) == 1 {
		if r := rs[0]; r.Lo > lo {
			p.op(ge, r.Lo, miss)
		}
		if r := rs[0]; r.Hi < hi {
			p.op(le, r.Hi, miss)
		}
		p.op(bcJMP, 0, bcAccept)
		return
	}
	mid := len(rs) / 2
	left := p.label()
	p.op(ge, rs[mid].Lo, left)
	p.search(rs[mid:], ge, le, rs[mid].Lo, hi, miss)
	p.place(left)
	p.search(rs[:mid], ge, le, lo, rs[mid].Lo-1, miss)
}

// compileBytecode returns the program that accepts a socket when its local
// port is in local or its remote port in remote, or nil when it would be
// too large to send.
func compileBytecode(local, remote []PortRange) []byte {
	var p bcProg
	if len(local) > 0 {
		next := p.label()
		p.search(local, bcSGE, bcSLE, 0, 1<<16-1, next)
		p.place(next)
	}
	if len(remote) > 0 {
		p.search(remote, bcDGE, bcDLE, 0, 1<<16-1, bcReject)
	} else {
		p.op(bcJMP, 0, bcReject)
	}
	return p.assemble()
}

// assemble lays the ops out and resolves the jumps.
func (p *bcProg) assemble() []byte {
	size := func(in bcInsn) int {
		if in.code == bcJMP {
			return bcJumpLen
		}
		return bcCondLen
	}
	offset := make([]int, len(p.insns)+1)
	for i, in := range p.insns {
		offset[i+1] = offset[i] + size(in)
	}
	end := offset[len(p.insns)]
	if end > bcMaxLen {
		return nil
	}
	b := make([]byte, 0, end)
	ne := binary.NativeEndian
	for i, in := range p.insns {
		var target int
		switch in.no {
		case bcAccept:
			target = end
		case bcReject:
			target = end + 4
		default:
			target = offset[p.at[in.no]]
		}
		b = append(b, in.code, byte(size(in)))
		b = ne.AppendUint16(b, uint16(target-offset[i]))
		if in.code != bcJMP {
			b = append(b, 0, 0)
			b = ne.AppendUint16(b, in.port)
		}
	}
	return b
}

// programs are the bytecode of one PortFilter, for TCP and for UDP.
type programs struct {
	filter   PortFilter
	tcp, udp []byte
}

// programCache keeps the programs of the last filter: a table asks with the
// same filter until its registry changes.
type programCache struct {
	mu   sync.Mutex
	last *programs
}

// get returns f's programs, compiling them when f differs from the last.
func (c *programCache) get(f *PortFilter) *programs {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || c.last.filter != *f {
		c.last = &programs{
			filter: *f,
			tcp:    compileBytecode(f.TCP.Local.Ranges(), f.TCP.Remote.Ranges()),
			udp:    compileBytecode(f.UDP.Local.Ranges(), f.UDP.Remote.Ranges()),
		}
	}
	return c.last
}

// forProto is the program for one protocol; nil means none.
func (p *programs) forProto(proto uint8) []byte {
	switch {
	case p == nil:
		return nil
	case proto == protoTCP:
		return p.tcp
	case proto == protoUDP:
		return p.udp
	}
	return nil
}

// busyNamespace is the number of sockets from which a namespace's dumps are
// filtered in the kernel. Before it runs a program the kernel checks it, in
// time that grows with the square of its length: about 0.5 ms for the
// registry's 200 ranges per protocol and direction, what sending and
// parsing some thousand sockets costs. A quiet host is faster unfiltered.
const busyNamespace = 2000

// busy says whether the namespace of the process directory dir holds at
// least busyNamespace sockets, TIME-WAIT included, as its net/sockstat
// counts them. When that cannot be read, it is taken as busy: the filter
// is then only slower than needed.
func busy(sc *scratch, dir string) bool {
	fd, err := unix.Open(dir+"/net/sockstat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, sc.stat[:])
	if err != nil {
		return true
	}
	used, ok1 := statField(sc.stat[:n], "sockets:", "used")
	tw, ok2 := statField(sc.stat[:n], "TCP:", "tw")
	return !ok1 || !ok2 || used+tw >= busyNamespace
}

// statField finds, in /proc/net/sockstat text, the number after name on
// the line that starts with prefix: "TCP: inuse 3 orphan 0 tw 0 ...".
func statField(text []byte, prefix, name string) (uint64, bool) {
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte("\n"))
		text = rest
		if !bytes.HasPrefix(line, []byte(prefix)) {
			continue
		}
		fields := bytes.Fields(line[len(prefix):])
		for i := 0; i+1 < len(fields); i += 2 {
			if string(fields[i]) == name {
				return parseUint(fields[i+1], 10)
			}
		}
		return 0, false
	}
	return 0, false
}
