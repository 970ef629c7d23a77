package llmhttp

import (
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
)

// Setup is what an HTTP LLM plugin's Configure sets up for its other
// methods: its config, the Client for its API and its logger. A Setup is
// not changed once it is in a Holder; Configure makes a new one.
type Setup[C any] struct {
	Config C
	Client *Client
	// Log is the plugin's logger, sdk.ConfigureRequest.Log.
	Log hclog.Logger
}

// Holder holds a plugin's current Setup, from Configure to Shutdown. Its
// zero value holds none, so a plugin whose only state is a Holder has a
// zero value ready for Configure. It is safe for concurrent use:
//
//	type Plugin struct {
//		setup llmhttp.Holder[*Config]
//	}
//
//	func (p *Plugin) Shutdown(context.Context) error { p.setup.Close(); return nil }
type Holder[C any] struct {
	mu sync.RWMutex
	s  *Setup[C]
}

// Set makes s the current Setup (Configure may be called again, with a new
// config) and closes the Client of the Setup it replaces. Calls already
// holding the old Setup finish with it.
func (h *Holder[C]) Set(s *Setup[C]) {
	h.mu.Lock()
	old := h.s
	h.s = s
	h.mu.Unlock()
	if old != nil && old.Client != nil {
		old.Client.Close()
	}
}

// Get returns the current Setup or, before the first Set and after Close,
// an error naming the plugin (name) and wrapping sdk.ErrNotConfigured.
func (h *Holder[C]) Get(name string) (*Setup[C], error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.s == nil {
		return nil, fmt.Errorf("%s: %w", name, sdk.ErrNotConfigured)
	}
	return h.s, nil
}

// Close forgets the current Setup and closes its Client: the plugin's
// Shutdown. It is safe to call more than once, and without a Setup.
func (h *Holder[C]) Close() { h.Set(nil) }

// WarnKeyInTheClear logs a warning on log if c sends an API key over plain
// http to another machine, where anyone on the way can read it. Plugins
// that take a key call it at the end of Configure; it says nothing for
// https, for a server on this machine, or when there is no key.
func WarnKeyInTheClear(log hclog.Logger, c *Client) {
	if !c.o.Key.IsSet() || IsLoopback(c.base) || !strings.HasPrefix(strings.ToLower(c.base), "http://") {
		return
	}
	log.Warn("the API key goes over plain http to another machine; anyone on the way can read it", "base_url", c.base)
}
