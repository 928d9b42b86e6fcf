package table

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// guard wraps a generate function so that no call can hang osquery, crash
// the extension, or pile up: each runs under a deadline, a panic becomes an
// error, and at most limit calls run at once (the others wait their turn
// within their own deadline).
type guard struct {
	timeout time.Duration
	slots   chan struct{}
}

func newGuard(timeout time.Duration, limit int) *guard {
	return &guard{timeout: timeout, slots: make(chan struct{}, max(limit, 1))}
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
					done <- result{err: fmt.Errorf("%s: internal error: %v\n%s", name, p, debug.Stack())}
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
