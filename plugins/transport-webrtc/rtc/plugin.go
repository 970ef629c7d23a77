package rtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/sdk"
)

// pluginName is the plugin's name: its binary is
// dpc-plugin-transport-webrtc and its dpc.hcl block is
// plugin "transport" "transport-webrtc".
const pluginName = "transport-webrtc"

// Version is the plugin's version.
const Version = "0.1.0"

// refusalQueue bounds the webrtc-close refusals waiting to be sent; past it
// refusals are dropped, so a flood of offers is not answered in kind.
const refusalQueue = 64

// Interface guards.
var (
	_ sdk.Transport     = (*Plugin)(nil)
	_ sdk.Configurable  = (*Plugin)(nil)
	_ sdk.SignalHandler = (*Plugin)(nil)
	_ sdk.Listener      = (*listener)(nil)
	_ sdk.Conn          = (*conn)(nil)
	_ sdk.PathReporter  = (*conn)(nil)
)

// Plugin is the WebRTC transport. Its zero value is ready for Configure and
// has no side effects: sockets are opened per connection.
// It is safe for concurrent use.
type Plugin struct {
	config sdk.Config[Config]

	mu sync.Mutex
	// open is true from a successful Configure to Shutdown.
	open   bool
	host   sdk.Host
	nodeID string
	// eng is the pion API of the current config, made on first use.
	eng *engine
	// ln is the listener incoming offers go to, nil when not listening.
	ln *listener
	// sessions are every peer connection, dialed or answered, by peer
	// node_id and cid.
	sessions map[sessionKey]*session
	// pending counts answered sessions the host has not accepted yet, per
	// peer; pendingTotal is their sum.
	pending      map[string]int
	pendingTotal int
	// refusals carries webrtc-close refusals to a sender goroutine, so
	// that HandleSignal never calls back into the host itself.
	refusals chan sdk.Signal
	stop     chan struct{}
	wg       sync.WaitGroup
}

type sessionKey struct{ peer, cid string }

// engine is the pion API of one config.
type engine struct {
	api *webrtc.API
}

// Info describes the plugin.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:         pluginName,
		Version:      Version,
		Description:  "Reaches peers by node_id through the hub's signaling and carries connections over WebRTC data channels (the host adds TLS).",
		Capabilities: []string{sdk.CapabilityDialByNodeID},
	}
}

// DefaultConfig returns a Config with the defaults: no ICE servers of its
// own, loopback candidates on, any UDP ports with 4 MiB buffers.
func (p *Plugin) DefaultConfig() any {
	return &Config{
		IncludeLoopback:    true,
		UDPBufferBytes:     DefaultUDPBufferBytes,
		DialTimeoutMS:      DefaultDialTimeoutMS,
		ReconnectTimeoutMS: DefaultReconnectTimeoutMS,
		MaxPendingPerPeer:  DefaultMaxPendingPerPeer,
		MaxPending:         DefaultMaxPending,
	}
}

// Configure checks and keeps the configuration and the host to signal
// through. It binds nothing. Connections from an earlier Configure stay
// open.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, log, err := p.config.Set(req)
	if err != nil {
		return err
	}
	log.Info("configured", "ice_servers", len(cfg.iceServers()), "relay_only", cfg.RelayOnly,
		"include_loopback", cfg.IncludeLoopback, "udp_port_min", cfg.UDPPortMin, "udp_port_max", cfg.UDPPortMax, "udp_buffer_bytes", cfg.UDPBufferBytes)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.host, p.nodeID = req.Host, req.NodeID
	p.eng = nil // the next use builds one for this config
	if !p.open {
		p.open = true
		p.refusals = make(chan sdk.Signal, refusalQueue)
		p.stop = make(chan struct{})
		p.wg.Add(1)
		go p.sendRefusals(p.host, p.refusals, p.stop)
	}
	return nil
}

// Shutdown closes every listener, connection and socket the plugin made
// and forgets the configuration. It copes with a plugin never configured.
func (p *Plugin) Shutdown(context.Context) error {
	_, log, _ := p.config.Get()
	p.config.Clear()
	p.mu.Lock()
	wasOpen := p.open
	ln, sessions := p.ln, p.sessions
	p.open, p.ln, p.sessions, p.eng = false, nil, nil, nil
	p.pending, p.pendingTotal = nil, 0
	if wasOpen {
		close(p.stop)
	}
	p.mu.Unlock()

	if ln != nil {
		_ = ln.Close()
	}
	for _, s := range sessions {
		s.close(fmt.Errorf("%s: %w: shut down", pluginName, net.ErrClosed), "shutdown")
	}
	p.wg.Wait()
	if log != nil {
		log.Info("shut down", "closed_connections", len(sessions))
	}
	return nil
}

// state is what the methods need of the configuration.
type state struct {
	cfg    *Config
	log    hclog.Logger
	host   sdk.Host
	nodeID string
	eng    *engine
}

// configured returns the config, the host and the engine, building the
// engine on first use.
func (p *Plugin) configured() (*state, error) {
	cfg, log, err := p.config.Get()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pluginName, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.open {
		return nil, fmt.Errorf("%s: %w", pluginName, sdk.ErrNotConfigured)
	}
	if p.eng == nil {
		eng, err := newEngine(cfg, log)
		if err != nil {
			return nil, err
		}
		p.eng = eng
	}
	return &state{cfg: cfg, log: log, host: p.host, nodeID: p.nodeID, eng: p.eng}, nil
}

// newEngine builds the pion API of a config, logging to log.
func newEngine(cfg *Config, log hclog.Logger) (*engine, error) {
	base, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: cannot list the network interfaces: %w", pluginName, sdk.ErrUnavailable, err)
	}
	var se webrtc.SettingEngine
	se.LoggerFactory = pionLogs{log: log}
	se.SetNet(bufNet{Net: base, size: cfg.UDPBufferBytes})
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if cfg.UDPPortMin > 0 {
		if err := se.SetEphemeralUDPPortRange(uint16(cfg.UDPPortMin), uint16(cfg.UDPPortMax)); err != nil {
			return nil, fmt.Errorf("%s: %w: udp_port_min/udp_port_max: %w", pluginName, sdk.ErrInvalidArgument, err)
		}
	}
	// Without it, loopback candidates are skipped and two nodes on one
	// machine never connect (stack-notes §5).
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Detached channels with blocking writes: Write waits while SCTP's
	// window is full instead of queueing without bound.
	se.DetachDataChannels()
	se.EnableDataChannelBlockWrite(true)
	// After an ICE restart SCTP resends at its current timeout; a small
	// cap resumes the stream seconds, not a minute, after the path is back.
	se.SetSCTPRTOMax(sctpRTOMax)
	// Advertised in the SDP, so that a browser peer keeps to it too.
	se.SetSCTPMaxMessageSize(MaxMessage)
	return &engine{api: webrtc.NewAPI(webrtc.WithSettingEngine(se))}, nil
}

// HandleSignal takes a signal the host routed to this transport. Only
// signals through the hub are for it; every payload is outside input,
// checked by decodeSignal, and a bad one is dropped with a log line (the
// returned error is only for the host's log).
func (p *Plugin) HandleSignal(ctx context.Context, s sdk.Signal) error {
	st, err := p.configured()
	if err != nil {
		return err
	}
	if s.From != sdk.SignalViaHub || !knownType(s.Type) {
		st.log.Debug("ignoring a signal not meant for this transport", "from", s.From, "type", truncate(s.Type))
		return nil
	}
	if s.PeerNodeID == "" || len(s.PeerNodeID) > maxShortField {
		return fmt.Errorf("%s: %w: a signal through the hub names no valid peer node_id", pluginName, ErrInvalidSignal)
	}
	m, err := decodeSignal(s.Type, s.Payload)
	if err != nil {
		st.log.Debug("dropping a bad signal", "peer_node_id", s.PeerNodeID, "type", s.Type, "error", err)
		return fmt.Errorf("%s: %w", pluginName, err)
	}
	key := sessionKey{peer: s.PeerNodeID, cid: m.CID}
	p.mu.Lock()
	sess := p.sessions[key]
	p.mu.Unlock()
	if sess == nil {
		if m.Type == typeOffer && !m.Restart {
			p.answer(ctx, st, key, m)
			return nil
		}
		st.log.Debug("ignoring a signal for an unknown connection", "peer_node_id", s.PeerNodeID, "cid", m.CID, "type", m.Type)
		return nil
	}
	return sess.handle(m)
}

// refuse queues a webrtc-close for (peer, cid), or drops it when the queue
// is full (a flood).
func (p *Plugin) refuse(st *state, key sessionKey, reason string) {
	payload, err := message{Type: typeClose, CID: key.cid, Reason: reason}.encode()
	if err != nil {
		return
	}
	sig := sdk.Signal{To: sdk.SignalViaHub, PeerNodeID: key.peer, Type: typeClose, Payload: payload}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.open {
		return
	}
	select {
	case p.refusals <- sig:
	default:
		st.log.Debug("refusal queue full; not answering an offer", "peer_node_id", key.peer, "cid", key.cid)
	}
}

// sendRefusals sends queued refusals until stop is closed.
func (p *Plugin) sendRefusals(host sdk.Host, q <-chan sdk.Signal, stop <-chan struct{}) {
	defer p.wg.Done()
	for {
		select {
		case <-stop:
			return
		case sig := <-q:
			ctx, cancel := context.WithTimeout(context.Background(), signalTimeout)
			_ = host.RouteSignal(ctx, sig)
			cancel()
		}
	}
}

// forgetSession drops s and its pending slot, if it still holds one.
func (p *Plugin) forgetSession(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions[s.key] == s {
		delete(p.sessions, s.key)
	}
	p.releasePendingLocked(s)
}

// takePending reserves a pending slot for an incoming offer from peer.
func (p *Plugin) takePending(cfg *Config, peer string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.pendingTotal >= cfg.MaxPending:
		return fmt.Errorf("%d incoming connections are opening already (max_pending)", cfg.MaxPending)
	case p.pending[peer] >= cfg.MaxPendingPerPeer:
		return fmt.Errorf("%d incoming connections from this node are opening already (max_pending_per_peer)", cfg.MaxPendingPerPeer)
	}
	if p.pending == nil {
		p.pending = map[string]int{}
	}
	p.pending[peer]++
	p.pendingTotal++
	return nil
}

// releasePending frees s's pending slot once, when the host accepted it or
// it closed.
func (p *Plugin) releasePending(s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releasePendingLocked(s)
}

func (p *Plugin) releasePendingLocked(s *session) {
	if !s.pending {
		return
	}
	s.pending = false
	p.releaseSlotLocked(s.key.peer)
}

// releaseSlotLocked gives back one of peer's pending slots; none held (a
// session from before a Shutdown, which reset the counts) is a no-op.
func (p *Plugin) releaseSlotLocked(peer string) {
	switch p.pending[peer] {
	case 0:
		return
	case 1:
		delete(p.pending, peer)
	default:
		p.pending[peer]--
	}
	p.pendingTotal--
}

// Pending reports how many incoming connections wait to be accepted (for
// tests and logs).
func (p *Plugin) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pendingTotal
}

// iceServers is the configured servers plus the hub's, in pion's form. The
// hub's come fresh for every connection (their credentials are
// short-lived); no hub login, or a hub without them, is not an error.
func iceServers(ctx context.Context, st *state) []webrtc.ICEServer {
	servers := st.cfg.iceServers()
	if st.host != nil {
		hub, err := st.host.IceServers(ctx)
		switch {
		case err == nil:
			servers = append(servers, hub...)
		case errors.Is(err, sdk.ErrUnavailable), errors.Is(err, sdk.ErrUnsupported):
			// No hub login now, or a hub without STUN/TURN: not worth a
			// warning at every connection.
			st.log.Trace("no ICE servers from the hub", "error", err)
		default:
			st.log.Warn("cannot get the hub's ICE servers; using the configured ones", "error", err)
		}
	}
	out := make([]webrtc.ICEServer, 0, len(servers))
	for _, s := range servers {
		is := webrtc.ICEServer{URLs: s.URLs, Username: s.Username}
		if s.Credential != "" {
			is.Credential = s.Credential
		}
		out = append(out, is)
	}
	return out
}
