package table

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/legacy-ports/legacy-ports/table/rpcbind"
)

// rpcCache keeps rpcbind's answer as long as a socket snapshot, so that the
// calls of one query ask it once.
type rpcCache struct {
	ask func(context.Context) (map[rpcbind.Key][]string, error)
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	taken time.Time
	ports map[rpcbind.Key][]string
}

// programs returns the RPC programs per port; empty when rpcbind is not
// running or cannot be asked, which leaves the verdict to the process name.
func (c *rpcCache) programs(ctx context.Context, log *slog.Logger) map[rpcbind.Key][]string {
	if c.ask == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.taken.IsZero() && c.now().Sub(c.taken) < c.ttl {
		return c.ports
	}
	ports, err := c.ask(ctx)
	if err != nil && !errors.Is(err, rpcbind.ErrNotListening) {
		log.Warn("asking rpcbind", "table", LegacyPorts, "error", err)
	}
	c.taken, c.ports = c.now(), ports
	return ports
}
