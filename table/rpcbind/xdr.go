package rpcbind

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ONC RPC (RFC 5531) and portmapper (RFC 1833) constants.
const (
	lastFragment = 1 << 31 // record marking: top bit of a fragment header

	msgCall  = 0
	msgReply = 1

	rpcVersion   = 2
	pmapProg     = 100000
	pmapVers     = 2
	pmapProcDump = 4
	authNone     = 0

	msgAccepted = 0
	msgDenied   = 1
	success     = 0

	maxAuthBody = 400 // opaque_auth body<400>
)

var (
	errMalformed = errors.New("malformed reply")
	errTooLarge  = errors.New("reply too large")
	errRPC       = errors.New("call failed")
)

// acceptStats and rejectStats name the reasons a reply gives for failing.
var (
	acceptStats = []string{1: "PROG_UNAVAIL", 2: "PROG_MISMATCH", 3: "PROC_UNAVAIL", 4: "GARBAGE_ARGS", 5: "SYSTEM_ERR"}
	rejectStats = []string{0: "RPC_MISMATCH", 1: "AUTH_ERROR"}
)

// appendCall appends a record-marked PMAPPROC_DUMP call with AUTH_NONE
// credentials and verifier; the procedure takes no arguments.
func appendCall(b []byte, xid uint32) []byte {
	words := [...]uint32{
		0, // fragment header, below
		xid, msgCall, rpcVersion, pmapProg, pmapVers, pmapProcDump,
		authNone, 0, // credentials: flavor, empty body
		authNone, 0, // verifier
	}
	words[0] = lastFragment | uint32(4*(len(words)-1))
	for _, w := range words {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

// readRecord reads one record of fragments, each behind a 4-byte header
// (RFC 5531 §11). Headers count toward limit, so a peer cannot keep us
// reading empty fragments, and no fragment is buffered beyond limit.
func readRecord(r io.Reader, limit int) ([]byte, error) {
	var rec bytes.Buffer
	var hdr [4]byte
	for used := 0; ; {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, fmt.Errorf("reading fragment header: %w", unexpectedEOF(err))
		}
		h := binary.BigEndian.Uint32(hdr[:])
		n := int64(h &^ lastFragment)
		used += len(hdr)
		if n > int64(limit-used) {
			return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
		}
		used += int(n)
		if _, err := io.CopyN(&rec, r, n); err != nil {
			return nil, fmt.Errorf("reading fragment: %w", unexpectedEOF(err))
		}
		if h&lastFragment != 0 {
			return rec.Bytes(), nil
		}
	}
}

// unexpectedEOF turns EOF into ErrUnexpectedEOF: the peer closed before the
// reply was complete, which is never a clean end here.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseReply decodes a reply record to the call xid: the reply header, then
// the DUMP result, a list with a "value follows" bool before each entry.
func parseReply(rec []byte, xid uint32) ([]Mapping, error) {
	d := decoder{b: rec}
	gotXID, mtype, stat := d.uint32(), d.uint32(), d.uint32()
	switch {
	case d.short:
		return nil, fmt.Errorf("%w: short header", errMalformed)
	case gotXID != xid:
		return nil, fmt.Errorf("%w: xid %#x, want %#x", errMalformed, gotXID, xid)
	case mtype != msgReply:
		return nil, fmt.Errorf("%w: message type %d, want a reply", errMalformed, mtype)
	case stat == msgDenied:
		reason := d.uint32()
		if d.short {
			return nil, fmt.Errorf("%w: short rejection", errMalformed)
		}
		return nil, fmt.Errorf("%w: denied (%s)", errRPC, statName(rejectStats, reason))
	case stat != msgAccepted:
		return nil, fmt.Errorf("%w: reply status %d", errMalformed, stat)
	}

	d.uint32() // verifier flavor: we sent AUTH_NONE and check nothing back
	n := d.uint32()
	if n > maxAuthBody {
		return nil, fmt.Errorf("%w: verifier of %d bytes", errMalformed, n)
	}
	d.skip((n + 3) &^ 3) // XDR pads opaque data to 4 bytes
	accept := d.uint32()
	switch {
	case d.short:
		return nil, fmt.Errorf("%w: short verifier", errMalformed)
	case accept != success:
		return nil, fmt.Errorf("%w: %s", errRPC, statName(acceptStats, accept))
	}

	var ms []Mapping
	for {
		switch follows := d.uint32(); {
		case d.short:
			return nil, fmt.Errorf("%w: list cut after %d entries", errMalformed, len(ms))
		case follows == 0:
			if len(d.b) != 0 {
				return nil, fmt.Errorf("%w: %d bytes after the list", errMalformed, len(d.b))
			}
			return ms, nil
		case follows != 1:
			return nil, fmt.Errorf("%w: bool %d in the list", errMalformed, follows)
		}
		prog, vers, prot, port := d.uint32(), d.uint32(), d.uint32(), d.uint32()
		switch {
		case d.short:
			return nil, fmt.Errorf("%w: entry %d cut", errMalformed, len(ms))
		case prot > 0xff || port > 0xffff:
			return nil, fmt.Errorf("%w: entry %d has protocol %d, port %d", errMalformed, len(ms), prot, port)
		}
		ms = append(ms, Mapping{Program: prog, Version: vers, Protocol: uint8(prot), Port: uint16(port)})
	}
}

func statName(names []string, stat uint32) string {
	if stat < uint32(len(names)) && names[stat] != "" {
		return names[stat]
	}
	return "status " + strconv.FormatUint(uint64(stat), 10)
}

// decoder reads big-endian XDR words. Past the end it returns zeros and
// sets short, so a parser checks once per group of reads.
type decoder struct {
	b     []byte
	short bool
}

func (d *decoder) uint32() uint32 {
	if len(d.b) < 4 {
		d.short, d.b = true, nil
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) skip(n uint32) {
	if uint64(len(d.b)) < uint64(n) {
		d.short, d.b = true, nil
		return
	}
	d.b = d.b[n:]
}
