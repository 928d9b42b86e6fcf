package rpcbind

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// fakeRPCBind serves one connection on loopback: it checks the call is
// PMAPPROC_DUMP, then writes each chunk answer makes for its xid, as
// separate writes, and closes. With hang it answers nothing and holds the
// connection until the client drops it.
func fakeRPCBind(t *testing.T, answer func(xid uint32) [][]byte, hang bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := l.Accept()
		if err != nil {
			return // closed by the cleanup: the client never came
		}
		defer conn.Close()
		xid, err := readCall(conn)
		if err != nil {
			t.Errorf("fake rpcbind: %v", err)
			return
		}
		if hang {
			_, _ = io.Copy(io.Discard, conn)
			return
		}
		for _, chunk := range answer(xid) {
			if _, err := conn.Write(chunk); err != nil {
				t.Errorf("fake rpcbind: %v", err)
				return
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}

// readCall reads a record-marked call and returns its xid if it is
// PMAPPROC_DUMP with AUTH_NONE, written out here independently of appendCall.
func readCall(r io.Reader) (uint32, error) {
	want := [...]uint32{0x80000028, 0 /* xid */, 0, 2, 100000, 2, 4, 0, 0, 0, 0}
	var call [4 * len(want)]byte
	if _, err := io.ReadFull(r, call[:]); err != nil {
		return 0, err
	}
	for i, w := range want {
		if got := binary.BigEndian.Uint32(call[4*i:]); i != 1 && got != w {
			return 0, fmt.Errorf("call word %d is %d, want %d", i, got, w)
		}
	}
	return binary.BigEndian.Uint32(call[4:]), nil
}

func TestDump(t *testing.T) {
	withTimeout := func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, 100*time.Millisecond)
	}
	cancelSoon := func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		return ctx, cancel
	}
	tests := []struct {
		name    string
		answer  func(xid uint32) [][]byte
		hang    bool
		ctx     func(context.Context) (context.Context, context.CancelFunc) // nil: the test's own
		want    []Mapping
		wantErr error
	}{
		{
			name:   "one fragment",
			answer: func(xid uint32) [][]byte { return [][]byte{frame(true, accepted(xid, sample...))} },
			want:   sample,
		},
		{
			name: "two fragments split inside a word",
			answer: func(xid uint32) [][]byte {
				r := accepted(xid, sample...)
				return [][]byte{frame(false, r[:10]), frame(true, r[10:])}
			},
			want: sample,
		},
		{
			name:   "empty list",
			answer: func(xid uint32) [][]byte { return [][]byte{frame(true, accepted(xid))} },
		},
		{
			name:    "PROG_UNAVAIL",
			answer:  func(xid uint32) [][]byte { return [][]byte{frame(true, words(xid, 1, 0, 0, 0, 1))} },
			wantErr: errRPC,
		},
		{
			name:    "MSG_DENIED",
			answer:  func(xid uint32) [][]byte { return [][]byte{frame(true, words(xid, 1, 1, 1, 1))} },
			wantErr: errRPC,
		},
		{
			name:    "reply to another call",
			answer:  func(xid uint32) [][]byte { return [][]byte{frame(true, accepted(xid+1, sample...))} },
			wantErr: errMalformed,
		},
		{
			name: "truncated reply",
			answer: func(xid uint32) [][]byte {
				r := frame(true, accepted(xid, sample...))
				return [][]byte{r[:len(r)-5]}
			},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "closed without a reply",
			answer:  func(uint32) [][]byte { return nil },
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "oversized fragment",
			answer:  func(uint32) [][]byte { return [][]byte{words(2 << 20)} },
			wantErr: errTooLarge,
		},
		{name: "no answer before the deadline", hang: true, ctx: withTimeout, wantErr: context.DeadlineExceeded},
		{name: "no answer before cancel", hang: true, ctx: cancelSoon, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeRPCBind(t, tt.answer, tt.hang)
			ctx := t.Context()
			if tt.ctx != nil {
				var cancel context.CancelFunc
				ctx, cancel = tt.ctx(ctx)
				defer cancel()
			}
			start := time.Now()
			got, err := Dump(ctx, addr)
			if !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) {
				t.Errorf("Dump = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			// Far below the 2 s default: every case ends on its own or on ctx.
			if d := time.Since(start); d > time.Second {
				t.Errorf("Dump took %v", d)
			}
		})
	}
}

func TestDumpNothingListens(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := Dump(t.Context(), addr); !errors.Is(err, ErrNotListening) {
		t.Errorf("Dump to a closed port = %v, want ErrNotListening", err)
	}
}
