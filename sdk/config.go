package sdk

import (
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// ConfigOf returns req.Config as the plugin's config type: a *T, what the
// plugin's DefaultConfig returns, which the SDK decoded and validated. If
// *T has a `Validate() error` method it is called again here, because a
// caller of Configure in the same process (a test) may not have. A config
// of another type, or none, is an error wrapping ErrInvalidArgument;
// Validate's error comes back as is.
func ConfigOf[T any](req ConfigureRequest) (*T, error) {
	cfg, ok := req.Config.(*T)
	if !ok || cfg == nil {
		return nil, fmt.Errorf("%w: config of type %T, want %T", ErrInvalidArgument, req.Config, cfg)
	}
	if v, ok := any(cfg).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// Config holds a plugin's configuration, of its own type T, from Configure
// to Shutdown, together with the logger Configure was given. Its zero value
// holds none, and it is safe for concurrent use, so a plugin keeps one as a
// field and needs no lock or type assertion of its own:
//
//	type Plugin struct {
//		config sdk.Config[Config]
//	}
//
//	func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
//		cfg, log, err := p.config.Set(req)
//		if err != nil {
//			return err
//		}
//		log.Info("configured", "prefix", cfg.Prefix)
//		return nil
//	}
//
//	func (p *Plugin) Generate(ctx context.Context, …) (sdk.GenerateResult, error) {
//		cfg, log, err := p.config.Get()
//		if err != nil {
//			return sdk.GenerateResult{}, err // wraps sdk.ErrNotConfigured
//		}
//		…
//	}
//
// A config is not changed once it is held: Configure may be called again
// (after a restart, or with a new config), and Set then replaces it, while
// calls already holding the old one finish with it.
type Config[T any] struct {
	mu  sync.RWMutex
	cfg *T
	log hclog.Logger
}

// Set takes req's config with ConfigOf and, if it is valid, holds it with
// req's logger (ConfigureRequest.Log) and returns both. An invalid config
// leaves the held one as it was.
func (c *Config[T]) Set(req ConfigureRequest) (*T, hclog.Logger, error) {
	cfg, err := ConfigOf[T](req)
	if err != nil {
		return nil, nil, err
	}
	log := req.Log()
	c.mu.Lock()
	c.cfg, c.log = cfg, log
	c.mu.Unlock()
	return cfg, log, nil
}

// Get returns the held config and logger or, before the first Set and
// after Clear, an error wrapping ErrNotConfigured.
func (c *Config[T]) Get() (*T, hclog.Logger, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cfg == nil {
		return nil, nil, ErrNotConfigured
	}
	return c.cfg, c.log, nil
}

// Clear forgets the held config: a plugin's Shutdown. Get says
// ErrNotConfigured until the next Set.
func (c *Config[T]) Clear() {
	c.mu.Lock()
	c.cfg, c.log = nil, nil
	c.mu.Unlock()
}
