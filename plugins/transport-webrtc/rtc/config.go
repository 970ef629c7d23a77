package rtc

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/stun/v4"

	"github.com/dpc-go/dpc/sdk"
)

// Defaults of the attributes.
const (
	DefaultUDPBufferBytes     = 4 << 20
	DefaultDialTimeoutMS      = 20000
	DefaultReconnectTimeoutMS = 30000
	// DefaultMaxPendingPerPeer and DefaultMaxPending bound incoming offers
	// not yet accepted by the host: a flood of offers through the hub pins
	// at most this many peer connections.
	DefaultMaxPendingPerPeer = 16
	DefaultMaxPending        = 256
)

// Config is the plugin's `config {}` block in dpc.hcl. Every attribute is
// optional; an empty block connects two nodes on one machine or one LAN:
//
//	plugin "transport" "transport-webrtc" {
//	  config {
//	    ice_servers = ["stun:stun.example.org:3478"]
//	    ice_server {
//	      urls       = ["turn:turn.example.org:3478?transport=udp"]
//	      username   = "alice"
//	      credential = env("TURN_PASSWORD")
//	    }
//	    relay_only       = false
//	    include_loopback = true
//	    udp_port_min     = 50000
//	    udp_port_max     = 50100
//	  }
//	}
type Config struct {
	// IceServers lists STUN/TURN URLs used without credentials.
	IceServers []string `hcl:"ice_servers,optional" help:"STUN/TURN server URLs without credentials, e.g. \"stun:stun.example.org:3478\"; the hub's servers are added at each connection."`
	// IceServerBlocks lists servers with credentials (TURN).
	IceServerBlocks []IceServerBlock `hcl:"ice_server,block" help:"A STUN/TURN server with credentials; repeat the block for several."`
	// RelayOnly makes every connection go through a TURN relay.
	RelayOnly bool `hcl:"relay_only,optional" help:"Only use TURN relay candidates (hides this machine's addresses from peers; needs a TURN server); default false."`
	// IncludeLoopback offers loopback addresses as candidates.
	IncludeLoopback bool `hcl:"include_loopback,optional" help:"Offer loopback addresses as ICE candidates, so two nodes on one machine connect; default true."`
	// UDPPortMin and UDPPortMax bound the UDP ports of host candidates.
	UDPPortMin int `hcl:"udp_port_min,optional" help:"Lowest UDP port for this machine's candidates (each connection opens its own sockets); 0 with udp_port_max 0 means any free port; default 0."`
	UDPPortMax int `hcl:"udp_port_max,optional" help:"Highest UDP port for this machine's candidates; default 0 (any)."`
	// UDPBufferBytes sizes every UDP socket's kernel buffers.
	UDPBufferBytes int `hcl:"udp_buffer_bytes,optional" help:"Kernel receive/send buffer of every UDP socket, in bytes (capped by net.core.rmem_max); 0 keeps the system default; default 4194304."`
	// DialTimeoutMS bounds a dial (and an answer) when the host sets none.
	DialTimeoutMS int `hcl:"dial_timeout_ms,optional" help:"How long a dial may take, in milliseconds, when the host sets no timeout; also bounds an unanswered incoming offer; default 20000."`
	// ReconnectTimeoutMS bounds how long a connection whose path failed
	// may try ICE restarts before it is closed.
	ReconnectTimeoutMS int `hcl:"reconnect_timeout_ms,optional" help:"How long a connection whose network path failed tries ICE restarts before it is closed, in milliseconds; default 30000."`
	// MaxPendingPerPeer and MaxPending bound incoming connections not yet
	// open and accepted; offers past them are refused.
	MaxPendingPerPeer int `hcl:"max_pending_per_peer,optional" help:"Incoming connections from one node that may be opening at once; more offers are refused; default 16."`
	MaxPending        int `hcl:"max_pending,optional" help:"Incoming connections from all nodes that may be opening at once; more offers are refused; default 256."`
}

// IceServerBlock is one `ice_server { … }` block.
type IceServerBlock struct {
	URLs       []string `hcl:"urls" help:"STUN/TURN URLs of this server, e.g. \"turn:turn.example.org:3478?transport=udp\"."`
	Username   string   `hcl:"username,optional" help:"TURN user name."`
	Credential string   `hcl:"credential,optional" sensitive:"true" help:"TURN password; write credential = env(\"TURN_PASSWORD\")."`
}

// Validate checks the config without binding or resolving anything.
func (c *Config) Validate() error {
	var errs []error
	for i, u := range c.IceServers {
		if err := checkIceURL(u); err != nil {
			errs = append(errs, sdk.AttributeError([]string{"ice_servers"}, "entry %d: %v", i, err))
		}
	}
	for i, b := range c.IceServerBlocks {
		path := []string{"ice_server", fmt.Sprint(i), "urls"}
		if len(b.URLs) == 0 {
			errs = append(errs, sdk.AttributeError(path, "must name at least one stun: or turn: URL"))
		}
		for j, u := range b.URLs {
			if err := checkIceURL(u); err != nil {
				errs = append(errs, sdk.AttributeError(path, "entry %d: %v", j, err))
			}
		}
	}
	switch {
	case c.UDPPortMin == 0 && c.UDPPortMax == 0:
	case c.UDPPortMin < 1 || c.UDPPortMin > 65535 || c.UDPPortMax < c.UDPPortMin || c.UDPPortMax > 65535:
		errs = append(errs, sdk.AttributeError([]string{"udp_port_min"},
			"udp_port_min and udp_port_max must both be 0 (any port) or a range 1 <= udp_port_min <= udp_port_max <= 65535, got %d and %d", c.UDPPortMin, c.UDPPortMax))
	}
	if c.UDPBufferBytes < 0 || c.UDPBufferBytes > 64<<20 {
		errs = append(errs, sdk.AttributeError([]string{"udp_buffer_bytes"}, "must be 0 (the system default) to 67108864, got %d", c.UDPBufferBytes))
	}
	if c.DialTimeoutMS <= 0 {
		errs = append(errs, sdk.AttributeError([]string{"dial_timeout_ms"}, "must be a positive number of milliseconds, got %d", c.DialTimeoutMS))
	}
	if c.ReconnectTimeoutMS <= 0 {
		errs = append(errs, sdk.AttributeError([]string{"reconnect_timeout_ms"}, "must be a positive number of milliseconds, got %d", c.ReconnectTimeoutMS))
	}
	if c.MaxPendingPerPeer <= 0 {
		errs = append(errs, sdk.AttributeError([]string{"max_pending_per_peer"}, "must be a positive number, got %d", c.MaxPendingPerPeer))
	}
	if c.MaxPending <= 0 {
		errs = append(errs, sdk.AttributeError([]string{"max_pending"}, "must be a positive number, got %d", c.MaxPending))
	}
	return errors.Join(errs...)
}

// checkIceURL checks that u is a stun:, stuns:, turn: or turns: URL.
func checkIceURL(u string) error {
	if _, err := stun.ParseURI(u); err != nil {
		return fmt.Errorf("%q is not a stun:, stuns:, turn: or turns: URL (%w)", u, err)
	}
	return nil
}

func (c *Config) dialTimeout() time.Duration {
	return time.Duration(c.DialTimeoutMS) * time.Millisecond
}

func (c *Config) reconnectTimeout() time.Duration {
	return time.Duration(c.ReconnectTimeoutMS) * time.Millisecond
}

// iceServers is the configured servers in pion's form.
func (c *Config) iceServers() []sdk.IceServer {
	var out []sdk.IceServer
	if len(c.IceServers) > 0 {
		out = append(out, sdk.IceServer{URLs: c.IceServers})
	}
	for _, b := range c.IceServerBlocks {
		out = append(out, sdk.IceServer{URLs: b.URLs, Username: b.Username, Credential: b.Credential})
	}
	return out
}
