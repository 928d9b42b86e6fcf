package table

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// guard wraps a generate function so that no call can hang osquery, crash
// the extension, or pile up: each runs under a deadline, a panic becomes an
// error, and at most limit calls run at once (the others wait their turn
// within their own deadline). It is the only guard: both front ends receive
// guarded definitions.
type guard struct {
	timeout time.Duration
	slots   chan struct{}
	log     *slog.Logger
}

func newGuard(timeout time.Duration, limit int, log *slog.Logger) *guard {
	return &guard{timeout: timeout, slots: make(chan struct{}, max(limit, 1)), log: log}
}

type generateFunc func(context.Context, Request) ([]Row, error)

func (g *guard) wrap(name string, fn generateFunc) generateFunc {
	return func(ctx context.Context, req Request) (rows []Row, err error) {
		ctx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: no free worker within %s: %w", name, g.timeout, ctx.Err())
		}
		type result struct {
			rows []Row
			err  error
		}
		done := make(chan result, 1)
		go func() {
			defer func() { <-g.slots }()
			defer func() {
				if p := recover(); p != nil {
					// The caller (osquery, a SQL statement) gets a short
					// error; the stack is for whoever reads our log.
					g.log.Error("generate panicked", "table", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					done <- result{err: fmt.Errorf("%s: internal error: %v", name, p)}
				}
			}()
			rows, err := fn(ctx, req)
			done <- result{rows, err}
		}()
		// The generator honours ctx; should it not, the caller still gets
		// its answer at the deadline and the slot stays taken until the
		// generator returns.
		select {
		case r := <-done:
			return r.rows, r.err
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: gave up after %s: %w", name, g.timeout, ctx.Err())
		}
	}
}
