// Package osqtest plays osquery's core for end-to-end tests: a real Thrift
// extension manager on a real unix socket, built from osquery-go's generated
// code, so that the unmodified extension binary can register with it and be
// called the way osquery calls it. It cannot stand in for osquery's SQLite
// planner: which constraints and how many calls a real query produces.
package osqtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	genosquery "github.com/osquery/osquery-go/gen/osquery"
	"github.com/osquery/osquery-go/mock"
)

// Registration is what an extension sent when it registered.
type Registration struct {
	Info     genosquery.InternalExtensionInfo
	Registry genosquery.ExtensionRegistry
	UUID     genosquery.ExtensionRouteUUID
}

// Core is a fake osquery core.
type Core struct {
	Path string // the extensions socket, as osquery's --extensions_socket

	dir       string
	server    *thrift.TSimpleServer
	transport *trackingTransport

	mu         sync.Mutex
	registered []Registration
	forgotten  bool
	regCh      chan Registration
	nextUUID   genosquery.ExtensionRouteUUID
}

// Start serves a fake core on a fresh socket in a short temporary
// directory (unix socket paths must stay under about 100 bytes).
func Start() (*Core, error) {
	dir, err := os.MkdirTemp("", "lp")
	if err != nil {
		return nil, err
	}
	c := &Core{Path: filepath.Join(dir, "osquery.em"), dir: dir, regCh: make(chan Registration, 8), nextUUID: 41}
	m := &mock.ExtensionManager{
		PingFunc: func(context.Context) (*genosquery.ExtensionStatus, error) {
			return &genosquery.ExtensionStatus{Code: 0, Message: "OK"}, nil
		},
		RegisterExtensionFunc: c.register,
		DeregisterExtensionFunc: func(context.Context, genosquery.ExtensionRouteUUID) (*genosquery.ExtensionStatus, error) {
			return &genosquery.ExtensionStatus{Code: 0, Message: "OK"}, nil
		},
		ExtensionsFunc: c.extensions,
		OptionsFunc: func(context.Context) (genosquery.InternalOptionList, error) {
			return genosquery.InternalOptionList{}, nil
		},
		CloseFunc: func() {},
	}
	addr, err := net.ResolveUnixAddr("unix", c.Path)
	if err != nil {
		return nil, err
	}
	c.transport = &trackingTransport{TServerTransport: thrift.NewTServerSocketFromAddrTimeout(addr, 0)}
	c.server = thrift.NewTSimpleServer4(genosquery.NewExtensionManagerProcessor(m), c.transport,
		thrift.NewTTransportFactory(), thrift.NewTBinaryProtocolFactoryConf(nil))
	// Listen first, so that the socket exists when Start returns; Serve
	// then finds it listening.
	if err := c.transport.Listen(); err != nil {
		return nil, err
	}
	go func() { _ = c.server.Serve() }()
	return c, nil
}

func (c *Core) register(_ context.Context, info *genosquery.InternalExtensionInfo, reg genosquery.ExtensionRegistry) (*genosquery.ExtensionStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.registered {
		if r.Info.Name == info.Name && !c.forgotten {
			return &genosquery.ExtensionStatus{Code: 1, Message: "Duplicate extension registered"}, nil
		}
	}
	c.nextUUID++
	r := Registration{Info: *info, Registry: reg, UUID: c.nextUUID}
	c.registered = append(c.registered, r)
	c.forgotten = false
	c.regCh <- r
	return &genosquery.ExtensionStatus{Code: 0, Message: "OK", UUID: r.UUID}, nil
}

func (c *Core) extensions(context.Context) (genosquery.InternalExtensionList, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := genosquery.InternalExtensionList{}
	if c.forgotten {
		return list, nil
	}
	for _, r := range c.registered {
		info := r.Info
		list[r.UUID] = &info
	}
	return list, nil
}

// WaitRegistered returns the next registration, or an error after limit.
func (c *Core) WaitRegistered(limit time.Duration) (Registration, error) {
	select {
	case r := <-c.regCh:
		return r, nil
	case <-time.After(limit):
		return Registration{}, fmt.Errorf("no extension registered within %s", limit)
	}
}

// Forget makes the core stop listing every extension while it stays alive,
// as osqueryd does after a missed ping (fleet#52093).
func (c *Core) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgotten = true
}

// ExtensionClient connects to a registered extension's own socket, as core
// does for each call. Like core, it waits up to limit for the socket to
// appear: an extension registers before it listens. Close it when done.
func (c *Core) ExtensionClient(uuid genosquery.ExtensionRouteUUID, limit time.Duration) (*genosquery.ExtensionClient, func(), error) {
	path := fmt.Sprintf("%s.%d", c.Path, uuid)
	addr, err := net.ResolveUnixAddr("unix", path)
	if err != nil {
		return nil, nil, err
	}
	sock := thrift.NewTSocketFromAddrConf(addr, &thrift.TConfiguration{ConnectTimeout: 5 * time.Second, SocketTimeout: 30 * time.Second})
	deadline := time.Now().Add(limit)
	for {
		err = sock.Open()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("extension socket %s: %w", path, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the socket file, as osquery core does
	}
	client := genosquery.NewExtensionClientFactory(sock, thrift.NewTBinaryProtocolFactoryConf(nil))
	return client, func() { _ = sock.Close() }, nil
}

// Stop makes the core go away as a crashed osqueryd would: the socket stops
// accepting and every open connection is cut.
func (c *Core) Stop() {
	c.transport.closeAll()
	_ = c.server.Stop()
	_ = os.RemoveAll(c.dir)
}

// trackingTransport remembers accepted connections so that Stop can cut
// them: thrift's own Stop waits for clients to hang up, and an extension's
// ping connection never does.
type trackingTransport struct {
	thrift.TServerTransport
	mu      sync.Mutex
	conns   []thrift.TTransport
	stopped bool
}

func (t *trackingTransport) Accept() (thrift.TTransport, error) {
	conn, err := t.TServerTransport.Accept()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		_ = conn.Close()
		return nil, errors.New("core stopped")
	}
	t.conns = append(t.conns, conn)
	return conn, nil
}

func (t *trackingTransport) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	_ = t.Interrupt()
	for _, c := range t.conns {
		_ = c.Close()
	}
}
