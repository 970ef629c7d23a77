package direct

import (
	"context"
	"fmt"
	"github.com/hashicorp/go-hclog"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dpc-go/dpc/sdk"
)

// pluginName is the plugin's name: its binary is
// dpc-plugin-transport-direct and its dpc.hcl block is
// plugin "transport" "transport-direct".
const pluginName = "transport-direct"

// Version is the plugin's version.
const Version = "0.1.0"

// Interface guards.
var (
	_ sdk.Transport    = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
	_ sdk.Listener     = (*listener)(nil)
	_ sdk.Conn         = (*conn)(nil)
)

// Plugin is the TCP transport. Its zero value is ready for Configure and
// has no side effects: nothing is bound until Listen. It is safe for
// concurrent use.
type Plugin struct {
	config sdk.Config[Config]

	mu sync.Mutex
	// open is true from a successful Configure to Shutdown: a listener or
	// connection made after Shutdown is closed, not tracked.
	open bool
	// listeners and conns are everything Listen, Accept and Dial created
	// and nobody closed yet; Shutdown closes them.
	listeners map[*listener]struct{}
	conns     map[*conn]struct{}
}

// state is what the methods need of the configuration.
type state struct {
	cfg    *Config
	logger hclog.Logger
}

// Info describes the plugin.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:        pluginName,
		Version:     Version,
		Description: "Carries peer connections over plain TCP (the host adds TLS).",
	}
}

// DefaultConfig returns a Config with the defaults: listen on DefaultListen,
// a 10 s dial timeout, 30 s keepalive, nothing advertised.
func (p *Plugin) DefaultConfig() any {
	return &Config{
		Listen:           slices.Clone(DefaultListen),
		DialTimeoutMS:    DefaultDialTimeoutMS,
		KeepaliveSeconds: DefaultKeepaliveSeconds,
	}
}

// Configure checks and keeps the configuration. It binds nothing; Listen
// does. Listeners and connections from an earlier Configure stay open.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, log, err := p.config.Set(req)
	if err != nil {
		return err
	}
	// The host names the addresses to listen on (node.listen); this list is
	// only used when it names none, so log it as the default it is.
	log.Info("configured", "default_listen", cfg.Listen, "dial_timeout_ms", cfg.DialTimeoutMS,
		"keepalive_seconds", cfg.KeepaliveSeconds, "advertise", cfg.Advertise)

	p.mu.Lock()
	p.open = true
	p.mu.Unlock()
	return nil
}

// Shutdown closes every listener and connection the plugin created and
// forgets the configuration. It copes with a plugin never configured.
func (p *Plugin) Shutdown(context.Context) error {
	_, log, _ := p.config.Get()
	p.config.Clear()
	p.mu.Lock()
	lns, conns := p.listeners, p.conns
	p.open, p.listeners, p.conns = false, nil, nil
	p.mu.Unlock()

	for l := range lns {
		_ = l.Close()
	}
	for c := range conns {
		_ = c.Close()
	}
	if log != nil {
		log.Info("shut down", "closed_listeners", len(lns), "closed_connections", len(conns))
	}
	return nil
}

func (p *Plugin) configured() (*state, error) {
	cfg, log, err := p.config.Get()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pluginName, err)
	}
	return &state{cfg: cfg, logger: log}, nil
}

// newConn wraps and tracks tc; sil is the silent set of the listener that
// accepted it (nil for a dialed one). If the plugin was shut down
// meanwhile, it closes tc and returns an sdk.ErrNotConfigured error.
func (p *Plugin) newConn(tc *net.TCPConn, sil *silent) (*conn, error) {
	c := &conn{tc: tc, p: p, silent: sil}
	if sil != nil {
		c.source = sourceIP(tc)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.open {
		_ = tc.Close()
		return nil, fmt.Errorf("%s: %w: shut down", pluginName, sdk.ErrNotConfigured)
	}
	if p.conns == nil {
		p.conns = map[*conn]struct{}{}
	}
	p.conns[c] = struct{}{}
	return c, nil
}

func (p *Plugin) forgetConn(c *conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// trackListener records l, or reports false if the plugin was shut down
// meanwhile.
func (p *Plugin) trackListener(l *listener) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.open {
		return false
	}
	if p.listeners == nil {
		p.listeners = map[*listener]struct{}{}
	}
	p.listeners[l] = struct{}{}
	return true
}

func (p *Plugin) forgetListener(l *listener) {
	p.mu.Lock()
	delete(p.listeners, l)
	p.mu.Unlock()
}

// conn is one TCP connection, dialed or accepted.
type conn struct {
	tc *net.TCPConn
	p  *Plugin
	// silent tracks an accepted connection until its first byte; source
	// is its IP there. Both are nil/"" for a dialed connection.
	silent *silent
	source string
	spoke  atomic.Bool
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.tc.Read(b)
	if n > 0 && c.silent != nil && !c.spoke.Swap(true) {
		c.silent.heard(c)
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) { return c.tc.Write(b) }

// CloseWrite half-closes the connection: the peer reads io.EOF after the
// bytes already written, and this side can still read.
func (c *conn) CloseWrite() error { return c.tc.CloseWrite() }

// Close closes the connection and stops tracking it.
func (c *conn) Close() error {
	err := c.tc.Close()
	if c.silent != nil {
		c.silent.forget(c)
	}
	c.p.forgetConn(c)
	return err
}

func (c *conn) LocalAddress() string  { return c.tc.LocalAddr().String() }
func (c *conn) RemoteAddress() string { return c.tc.RemoteAddr().String() }
