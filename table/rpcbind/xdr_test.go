package rpcbind

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

const testXID = 0x01020304

// sample is a small map as a Linux NFS server registers it.
var sample = []Mapping{
	{Program: 100000, Version: 2, Protocol: 6, Port: 111},
	{Program: 100024, Version: 1, Protocol: 17, Port: 662},
	{Program: 100021, Version: 4, Protocol: 6, Port: 40123},
}

func words(ws ...uint32) []byte {
	var b []byte
	for _, w := range ws {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

// frame puts body behind a fragment header.
func frame(last bool, body []byte) []byte {
	h := uint32(len(body))
	if last {
		h |= 1 << 31
	}
	return append(words(h), body...)
}

// list encodes ms as DUMP's result: a "value follows" bool before each.
func list(ms ...Mapping) []byte {
	var b []byte
	for _, m := range ms {
		b = append(b, words(1, m.Program, m.Version, uint32(m.Protocol), uint32(m.Port))...)
	}
	return append(b, words(0)...)
}

// accepted is a successful DUMP reply to xid listing ms, with an empty
// AUTH_NONE verifier.
func accepted(xid uint32, ms ...Mapping) []byte {
	return append(words(xid, 1, 0, 0, 0, 0), list(ms...)...)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendCall(t *testing.T) {
	want := mustHex(t, `
		80000028 01020304 00000000 00000002
		000186a0 00000002 00000004
		00000000 00000000 00000000 00000000`)
	if got := appendCall(nil, testXID); !bytes.Equal(got, want) {
		t.Errorf("appendCall = %x, want %x", got, want)
	}
}

func TestReadRecord(t *testing.T) {
	tests := []struct {
		name    string
		stream  []byte
		limit   int
		want    []byte
		wantErr error
	}{
		{name: "one fragment", stream: frame(true, []byte("abcd")), limit: 64, want: []byte("abcd")},
		{
			name:   "three fragments, one empty",
			stream: slices.Concat(frame(false, []byte("ab")), frame(false, nil), frame(true, []byte("cde"))),
			limit:  64, want: []byte("abcde"),
		},
		{name: "empty record", stream: frame(true, nil), limit: 64, want: []byte{}},
		{name: "exactly the limit", stream: frame(true, make([]byte, 60)), limit: 64, want: make([]byte, 60)},
		{name: "one byte over the limit", stream: frame(true, make([]byte, 61)), limit: 64, wantErr: errTooLarge},
		{name: "fragment claims 2 GiB", stream: words(0xffffffff), limit: maxReply, wantErr: errTooLarge},
		{name: "headers alone exceed the limit", stream: bytes.Repeat(frame(false, nil), 17), limit: 64, wantErr: errTooLarge},
		{name: "nothing", stream: nil, limit: 64, wantErr: io.ErrUnexpectedEOF},
		{name: "cut header", stream: []byte{0x80, 0}, limit: 64, wantErr: io.ErrUnexpectedEOF},
		{name: "cut body", stream: frame(true, []byte("abcd"))[:6], limit: 64, wantErr: io.ErrUnexpectedEOF},
		{name: "no last fragment", stream: frame(false, []byte("abcd")), limit: 64, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readRecord(bytes.NewReader(tt.stream), tt.limit)
			if !errors.Is(err, tt.wantErr) || (err == nil && !bytes.Equal(got, tt.want)) {
				t.Errorf("readRecord = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name    string
		rec     []byte
		want    []Mapping
		wantErr error
		errText string // part of the message, where the reason matters
	}{
		{
			name: "literal fixture",
			rec: mustHex(t, `
				01020304 00000001 00000000 00000000 00000000 00000000
				00000001 000186a0 00000002 00000006 0000006f
				00000001 000186b8 00000001 00000011 00000296
				00000001 000186b5 00000004 00000006 00009cbb
				00000000`),
			want: sample,
		},
		{name: "empty list", rec: accepted(testXID)},
		{
			name: "verifier with a padded body",
			rec:  slices.Concat(words(testXID, 1, 0, 1, 5), []byte("abcde\x00\x00\x00"), words(0), list(sample...)),
			want: sample,
		},
		{name: "PROG_UNAVAIL", rec: words(testXID, 1, 0, 0, 0, 1), wantErr: errRPC, errText: "PROG_UNAVAIL"},
		{name: "SYSTEM_ERR", rec: words(testXID, 1, 0, 0, 0, 5), wantErr: errRPC, errText: "SYSTEM_ERR"},
		{name: "unknown accept status", rec: words(testXID, 1, 0, 0, 0, 9), wantErr: errRPC, errText: "status 9"},
		{name: "MSG_DENIED AUTH_ERROR", rec: words(testXID, 1, 1, 1, 1), wantErr: errRPC, errText: "denied (AUTH_ERROR)"},
		{name: "MSG_DENIED RPC_MISMATCH", rec: words(testXID, 1, 1, 0, 2, 2), wantErr: errRPC, errText: "denied (RPC_MISMATCH)"},
		{name: "MSG_DENIED without a reason", rec: words(testXID, 1, 1), wantErr: errMalformed},
		{name: "empty record", rec: nil, wantErr: errMalformed},
		{name: "short header", rec: words(testXID, 1), wantErr: errMalformed},
		{name: "other xid", rec: accepted(testXID + 1), wantErr: errMalformed, errText: "xid"},
		{name: "a call, not a reply", rec: words(testXID, 0, 0), wantErr: errMalformed, errText: "message type"},
		{name: "unknown reply status", rec: words(testXID, 1, 2), wantErr: errMalformed, errText: "reply status"},
		{name: "verifier over 400 bytes", rec: words(testXID, 1, 0, 0, 401), wantErr: errMalformed, errText: "verifier"},
		{name: "verifier body cut", rec: words(testXID, 1, 0, 0, 8, 0), wantErr: errMalformed},
		{name: "no accept status", rec: words(testXID, 1, 0, 0, 0), wantErr: errMalformed},
		{name: "no list", rec: words(testXID, 1, 0, 0, 0, 0), wantErr: errMalformed},
		{name: "bool neither 0 nor 1", rec: append(words(testXID, 1, 0, 0, 0, 0), words(2)...), wantErr: errMalformed},
		{name: "entry cut", rec: accepted(testXID, sample...)[:40], wantErr: errMalformed, errText: "entry 0"},
		{name: "list without its end", rec: accepted(testXID, sample...)[:84], wantErr: errMalformed},
		{
			name:    "port over 65535",
			rec:     append(words(testXID, 1, 0, 0, 0, 0), words(1, 100000, 2, 6, 70000, 0)...),
			wantErr: errMalformed, errText: "port 70000",
		},
		{
			name:    "protocol over 255",
			rec:     append(words(testXID, 1, 0, 0, 0, 0), words(1, 100000, 2, 256, 111, 0)...),
			wantErr: errMalformed,
		},
		{name: "bytes after the list", rec: append(accepted(testXID), 0), wantErr: errMalformed, errText: "after the list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseReply(tt.rec, testXID)
			if !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) {
				t.Fatalf("parseReply = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("error %q does not say %q", err, tt.errText)
			}
		})
	}
}

// FuzzParseDump feeds a server's byte stream through the whole reply path.
// The seeds are the replies of the Dump tests.
func FuzzParseDump(f *testing.F) {
	r := accepted(testXID, sample...)
	for _, seed := range [][]byte{
		frame(true, r),
		append(frame(false, r[:10]), frame(true, r[10:])...),
		frame(true, accepted(testXID)),
		frame(true, words(testXID, 1, 0, 0, 0, 1)),
		frame(true, words(testXID, 1, 1, 1, 1)),
		frame(true, r)[:len(r)-5],
		words(1<<31 | 2<<20),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		rec, err := readRecord(bytes.NewReader(stream), maxReply)
		if err != nil {
			return
		}
		if len(rec) > maxReply || len(rec) > len(stream) {
			t.Fatalf("record of %d bytes from a stream of %d", len(rec), len(stream))
		}
		ms, err := parseReply(rec, testXID)
		// A list parsed without error must be exactly what ends the record.
		if err == nil && !bytes.HasSuffix(rec, list(ms...)) {
			t.Fatalf("parsed %v from %x", ms, rec)
		}
	})
}
