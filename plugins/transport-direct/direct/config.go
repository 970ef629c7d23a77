package direct

import (
	"errors"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// DefaultPort is the port of a dpc:// URI that names none, and the port the
// plugin listens on by default.
const DefaultPort = dpcuri.DefaultPort

// DefaultListen is the default `listen` list: every IPv4 and every IPv6
// address on DefaultPort.
var DefaultListen = []string{"0.0.0.0:8888", "[::]:8888"}

// Defaults of the other attributes.
const (
	DefaultDialTimeoutMS    = 10000
	DefaultKeepaliveSeconds = 30
)

// Config is the plugin's `config {}` block in dpc.hcl. Every attribute is
// optional:
//
//	plugin "transport" "transport-direct" {
//	  config {
//	    listen            = ["0.0.0.0:8888", "[::]:8888"]
//	    dial_timeout_ms   = 10000
//	    keepalive_seconds = 30
//	    advertise         = ["198.51.100.7:8888"] # e.g. behind NAT
//	  }
//	}
type Config struct {
	// Listen lists the host:port addresses to listen on when the host asks
	// to listen without naming any. Port 0 picks a free port.
	Listen []string `hcl:"listen,optional" help:"Addresses (host:port) to listen on when the host names none; default 0.0.0.0:8888 and [::]:8888."`
	// DialTimeoutMS bounds how long Dial waits for a peer to answer, in
	// milliseconds, when the host's request sets no timeout.
	DialTimeoutMS int `hcl:"dial_timeout_ms,optional" help:"How long a dial may take, in milliseconds, when the host sets no timeout; default 10000."`
	// KeepaliveSeconds is the TCP keepalive period of every connection, in
	// seconds; 0 turns keepalive off.
	KeepaliveSeconds int `hcl:"keepalive_seconds,optional" help:"TCP keepalive period of every connection, in seconds; 0 turns keepalive off; default 30."`
	// Advertise lists host:port addresses to report as this node's URIs
	// instead of the addresses actually bound, e.g. a router's public
	// address that forwards to this machine.
	Advertise []string `hcl:"advertise,optional" help:"Addresses (host:port) to report as this node's URIs instead of the bound ones, e.g. behind NAT; default none."`
}

// Validate checks the config without binding or resolving anything.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Listen) == 0 {
		errs = append(errs, sdk.AttributeError([]string{"listen"},
			"must name at least one address; leave it out to use the defaults %q", DefaultListen))
	}
	seen := map[string]bool{}
	for i, a := range c.Listen {
		if err := dpcuri.CheckListenAddress(a); err != nil {
			errs = append(errs, sdk.AttributeError([]string{"listen"}, "entry %d: %v", i, err))
			continue
		}
		if seen[a] {
			errs = append(errs, sdk.AttributeError([]string{"listen"}, "entry %d: %q is listed twice", i, a))
		}
		seen[a] = true
	}
	if c.DialTimeoutMS <= 0 {
		errs = append(errs, sdk.AttributeError([]string{"dial_timeout_ms"},
			"must be a positive number of milliseconds, got %d", c.DialTimeoutMS))
	}
	if c.KeepaliveSeconds < 0 {
		errs = append(errs, sdk.AttributeError([]string{"keepalive_seconds"},
			"must be 0 (off) or a positive number of seconds, got %d", c.KeepaliveSeconds))
	}
	for i, a := range c.Advertise {
		if err := dpcuri.CheckDialAddress(a); err != nil {
			errs = append(errs, sdk.AttributeError([]string{"advertise"}, "entry %d: %v", i, err))
		}
	}
	return errors.Join(errs...)
}

// dialTimeout is the dial timeout when a request sets none.
func (c *Config) dialTimeout() time.Duration {
	return time.Duration(c.DialTimeoutMS) * time.Millisecond
}

// keepAlive is the period for net.Dialer and net.ListenConfig, where a
// negative value turns keepalive off and zero means Go's default.
func (c *Config) keepAlive() time.Duration {
	if c.KeepaliveSeconds <= 0 {
		return -1
	}
	return time.Duration(c.KeepaliveSeconds) * time.Second
}
