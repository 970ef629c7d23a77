package hubdpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// pluginName is the plugin's name: its binary is dpc-plugin-hub-dpc and its
// dpc.hcl block is plugin "hub" "hub-dpc".
const pluginName = "hub-dpc"

// Version is the plugin's version.
const Version = "0.1.0"

// Event types the plugin emits through the host: the sdk's hub events, and
// one of its own.
const (
	EventConnected    = sdk.EventHubConnected
	EventDisconnected = sdk.EventHubDisconnected
	EventSessionEnded = sdk.EventHubSessionEnded
	// EventSignalError: the hub could not relay a signal (target offline…).
	EventSignalError = "hub.signal_error"
)

// maxSearchLimit is dpc-hub's largest search page.
const maxSearchLimit = 50

// Interface guards.
var (
	_ sdk.Hub          = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
)

// Plugin is the hub connector. Its zero value is ready for Configure; it
// is safe for concurrent use.
type Plugin struct {
	config sdk.Config[Config]

	// refreshMu serialises spending refresh tokens (see refresh).
	refreshMu sync.Mutex

	mu   sync.Mutex
	host sdk.Host
	sess *session
	// conn is the open signaling socket, nil when there is none.
	conn *websocket.Conn
	// ice is the cached TURN credential, nil when there is none.
	ice *iceCache
	// randWait, when set (tests), replaces the random wait before a
	// reconnect the hub asked for; it gets the bound.
	randWait func(ceil time.Duration) time.Duration
}

// Info describes the plugin.
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:        pluginName,
		Version:     Version,
		Description: "Connects the node to a dpc-hub: key login, profile, lookup, search, signaling, TURN credentials and the mailbox.",
	}
}

// DefaultConfig returns an empty Config: url is required.
func (p *Plugin) DefaultConfig() any { return &Config{} }

// Configure takes the hub URL and the host callback. It does not contact
// the hub: Login or Resume does.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, log, err := p.config.Set(req)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.host = req.Host
	p.mu.Unlock()
	log.Info("configured", "hub", cfg.base())
	return nil
}

// Shutdown closes the signaling socket and forgets the login; the host
// holds the session to Resume it.
func (p *Plugin) Shutdown(context.Context) error {
	p.mu.Lock()
	conn := p.conn
	p.conn, p.sess, p.host, p.ice = nil, nil, nil, nil
	p.mu.Unlock()
	if conn != nil {
		_ = conn.Close(websocket.StatusGoingAway, "plugin shutting down")
	}
	p.config.Clear()
	return nil
}

// Login answers the hub's challenge with a signature by the host.
func (p *Plugin) Login(ctx context.Context) (sdk.LoginResult, error) {
	cfg, log, err := p.config.Get()
	if err != nil {
		return sdk.LoginResult{}, err
	}
	base := cfg.base()
	p.mu.Lock()
	host := p.host
	p.mu.Unlock()
	if host == nil {
		return sdk.LoginResult{}, fmt.Errorf("%w: no host to sign the login", sdk.ErrNotConfigured)
	}
	id, err := host.Identity(ctx)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub login: the node's identity: %w", err)
	}
	raw, err := p.do(ctx, base, http.MethodPost, "/login/challenge", "", nil)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub login: %w", err)
	}
	ch, err := decodeChallenge(raw)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub login at %s: %w", base, err)
	}
	if ch.Purpose != sdk.PurposeHubLogin {
		return sdk.LoginResult{}, fmt.Errorf("hub login at %s: %w: it asks to sign for %q, this plugin signs only %q",
			base, ErrNotAHub, clip(ch.Purpose, 64), sdk.PurposeHubLogin)
	}
	if ch.Audience != base {
		return sdk.LoginResult{}, fmt.Errorf("%w: hub login: the hub at %s calls itself %q; set the plugin's url to the hub's public URL (its --public-url)",
			sdk.ErrInvalidArgument, base, clip(ch.Audience, 256))
	}
	data, err := hublogin.Data(base, id.NodeID, ch.Nonce)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub login at %s: %w", base, err)
	}
	sig, err := host.Sign(ctx, sdk.PurposeHubLogin, data)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub login: the host did not sign: %w", err)
	}
	raw, err = p.do(ctx, base, http.MethodPost, "/login", "", map[string]string{
		"node_id": id.NodeID, "certificate": id.CertificatePEM, "nonce": ch.Nonce,
		"signature": base64.StdEncoding.EncodeToString(sig.Signature), "algorithm": sig.Algorithm,
	})
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub login: %w", err)
	}
	t, err := decodeTokens(raw)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub login: %w", err)
	}
	if t.NodeID != id.NodeID {
		return sdk.LoginResult{}, fmt.Errorf("hub login: %w: logged in as %s, not this node %s", ErrBadResponse, t.NodeID, id.NodeID)
	}
	s := p.adopt(base, t)
	log.Info("logged in", "hub", base, "node_id", s.nodeID, "access_expires", s.accessExp)
	return loginResult(s), nil
}

func loginResult(s session) sdk.LoginResult {
	return sdk.LoginResult{NodeID: s.nodeID, Expires: s.accessExp, Session: s.hubSession()}
}

// Resume takes up a session from Login (or an earlier Resume), spending its
// refresh token for fresh tokens; the result carries the rotated session.
func (p *Plugin) Resume(ctx context.Context, req sdk.ResumeRequest) (sdk.LoginResult, error) {
	cfg, log, err := p.config.Get()
	if err != nil {
		return sdk.LoginResult{}, err
	}
	base := cfg.base()
	d, err := decodeSession(req.Session.Data)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("%w: hub resume: %w", sdk.ErrInvalidArgument, err)
	}
	if d.Hub != base {
		return sdk.LoginResult{}, fmt.Errorf("%w: hub resume: %w: it is for the hub at %s, this plugin talks to %s",
			sdk.ErrInvalidArgument, ErrBadSession, d.Hub, base)
	}
	p.mu.Lock()
	host := p.host
	p.mu.Unlock()
	if host != nil {
		id, err := host.Identity(ctx)
		if err != nil {
			return sdk.LoginResult{}, fmt.Errorf("hub resume: the node's identity: %w", err)
		}
		if id.NodeID != d.NodeID {
			return sdk.LoginResult{}, fmt.Errorf("%w: hub resume: %w: it is the login of %s, this node is %s",
				sdk.ErrInvalidArgument, ErrBadSession, d.NodeID, id.NodeID)
		}
	}
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	s, err := p.spendRefresh(ctx, base, d.NodeID, d.RefreshToken)
	if err != nil {
		return sdk.LoginResult{}, fmt.Errorf("hub resume: %w", err)
	}
	log.Info("resumed the hub login", "hub", base, "node_id", s.nodeID)
	return loginResult(s), nil
}

// Logout revokes the login at the hub (which also closes this login's
// signaling socket) and forgets it here and at the host.
func (p *Plugin) Logout(ctx context.Context) error {
	if _, err := p.call(ctx, http.MethodPost, "/logout", nil); err != nil {
		return fmt.Errorf("hub logout: %w", err)
	}
	p.endSession(ctx)
	return nil
}

// PublishPresence publishes this node's profile (PUT /profile): the fields
// of req.ProfileJSON the hub accepts (name, description, expertise,
// compute; the node's display name when it names none) and req.URIs.
// dpc-hub derives presence from the signaling stream, so the only status
// it can show is "online" while Signals runs.
func (p *Plugin) PublishPresence(ctx context.Context, req sdk.PublishPresenceRequest) error {
	switch req.Status {
	case "", "online":
	case "away", "offline":
		return fmt.Errorf("%w: status %q: dpc-hub shows a node online while its signaling stream is open and offline otherwise, and has no other status",
			sdk.ErrUnsupported, req.Status)
	default:
		return fmt.Errorf("%w: status %q: want online, away or offline", sdk.ErrInvalidArgument, req.Status)
	}
	var prof profileFields
	if len(req.ProfileJSON) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.ProfileJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&prof); err != nil || dec.More() {
			return fmt.Errorf("%w: the profile to publish must be a JSON object with name, description, expertise and compute only: %v",
				sdk.ErrInvalidArgument, err)
		}
	}
	if prof.Name == "" {
		p.mu.Lock()
		host := p.host
		p.mu.Unlock()
		if host != nil {
			if id, err := host.Identity(ctx); err == nil {
				prof.Name = id.DisplayName
			}
		}
	}
	body := struct {
		profileFields
		URIs []string `json:"uris,omitempty"`
	}{prof, req.URIs}
	if _, err := p.call(ctx, http.MethodPut, "/profile", body); err != nil {
		return fmt.Errorf("publishing the profile: %w", err)
	}
	return nil
}

// LookupPeer asks for a node's profile with its presence; a node that
// logged in but published no profile is found with its presence only.
func (p *Plugin) LookupPeer(ctx context.Context, req sdk.LookupPeerRequest) (sdk.LookupPeerResult, error) {
	if !dpcuri.ValidNodeID(req.NodeID) {
		return sdk.LookupPeerResult{}, fmt.Errorf("%w: node_id %q is not dpc-node- followed by 32 lower-case hex", sdk.ErrInvalidArgument, req.NodeID)
	}
	raw, err := p.call(ctx, http.MethodGet, "/profile/"+url.PathEscape(req.NodeID), nil)
	if err == nil {
		v, err := decodeProfile(raw)
		if err != nil {
			return sdk.LookupPeerResult{}, err
		}
		if v.NodeID != req.NodeID {
			return sdk.LookupPeerResult{}, fmt.Errorf("%w: asked for %s, got the profile of %s", ErrBadResponse, req.NodeID, v.NodeID)
		}
		pj, _ := json.Marshal(v.profileFields)
		return sdk.LookupPeerResult{Peer: sdk.PeerRecord{NodeID: v.NodeID, Online: v.Online, URIs: v.URIs,
			ProfileJSON: pj, LastSeen: deref(v.LastSeen)}}, nil
	}
	if !errors.Is(err, sdk.ErrNotFound) {
		return sdk.LookupPeerResult{}, fmt.Errorf("looking up %s: %w", req.NodeID, err)
	}
	raw, err = p.call(ctx, http.MethodGet, "/presence/"+url.PathEscape(req.NodeID), nil)
	if errors.Is(err, sdk.ErrNotFound) {
		return sdk.LookupPeerResult{}, fmt.Errorf("looking up %s: the hub knows no such node: %w", req.NodeID, err)
	}
	if err != nil {
		return sdk.LookupPeerResult{}, fmt.Errorf("looking up %s: %w", req.NodeID, err)
	}
	v, err := decodePresence(raw)
	if err != nil {
		return sdk.LookupPeerResult{}, err
	}
	if v.NodeID != req.NodeID {
		return sdk.LookupPeerResult{}, fmt.Errorf("%w: asked for %s, got the presence of %s", ErrBadResponse, req.NodeID, v.NodeID)
	}
	return sdk.LookupPeerResult{Peer: sdk.PeerRecord{NodeID: v.NodeID, Online: v.Online, LastSeen: deref(v.LastSeen)}}, nil
}

// SearchPeers searches the hub's directory (GET /discovery/search). A limit
// over the hub's largest page (50) asks for 50.
func (p *Plugin) SearchPeers(ctx context.Context, req sdk.SearchPeersRequest) (sdk.SearchPeersResult, error) {
	if req.Limit < 0 {
		return sdk.SearchPeersResult{}, fmt.Errorf("%w: search limit %d: want 0 (the hub's default) or more", sdk.ErrInvalidArgument, req.Limit)
	}
	q := url.Values{"q": {req.Query}}
	if req.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(req.Limit, maxSearchLimit)))
	}
	raw, err := p.call(ctx, http.MethodGet, "/discovery/search?"+q.Encode(), nil)
	if err != nil {
		return sdk.SearchPeersResult{}, fmt.Errorf("searching the hub: %w", err)
	}
	ans, err := decodeSearch(raw)
	if err != nil {
		return sdk.SearchPeersResult{}, err
	}
	out := sdk.SearchPeersResult{Peers: make([]sdk.PeerRecord, 0, len(ans.Results))}
	for _, r := range ans.Results {
		pj, _ := json.Marshal(r.profileFields)
		out.Peers = append(out.Peers, sdk.PeerRecord{NodeID: r.NodeID, Online: r.Online, ProfileJSON: pj})
	}
	return out, nil
}

// IceServers asks the hub for its TURN server and a short-lived
// credential of this node (GET /ice-servers). The answer is reused while at
// least half its lifetime remains, so that a relay started with it has time
// to run. A hub without TURN answers an error wrapping sdk.ErrUnsupported.
func (p *Plugin) IceServers(ctx context.Context) ([]sdk.IceServer, error) {
	s, base, err := p.current()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	p.mu.Lock()
	if c := p.ice; c != nil && c.hub == base && c.nodeID == s.nodeID && now.Before(c.reuseUntil) {
		out := cloneIceServers(c.servers)
		p.mu.Unlock()
		return out, nil
	}
	p.mu.Unlock()
	raw, err := p.call(ctx, http.MethodGet, "/ice-servers", nil)
	var he *HubError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil, fmt.Errorf("%w: the hub at %s runs no TURN server (%v)", sdk.ErrUnsupported, base, he)
	}
	if err != nil {
		return nil, fmt.Errorf("asking the hub for ICE servers: %w", err)
	}
	ans, err := decodeIceServers(raw)
	if err != nil {
		return nil, err
	}
	// The hub's expires_at is on the hub's clock; ttl is not.
	ttl := time.Duration(ans.TTL) * time.Second
	servers := make([]sdk.IceServer, 0, len(ans.IceServers))
	for _, is := range ans.IceServers {
		servers = append(servers, sdk.IceServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential, Expires: now.Add(ttl)})
	}
	p.mu.Lock()
	p.ice = &iceCache{hub: base, nodeID: s.nodeID, servers: servers, reuseUntil: now.Add(ttl / 2)}
	p.mu.Unlock()
	return cloneIceServers(servers), nil
}

// iceCache is the last answer of GET /ice-servers, for one login.
type iceCache struct {
	hub, nodeID string
	servers     []sdk.IceServer
	reuseUntil  time.Time
}

func cloneIceServers(in []sdk.IceServer) []sdk.IceServer {
	out := make([]sdk.IceServer, len(in))
	for i, is := range in {
		out[i] = is
		out[i].URLs = append([]string(nil), is.URLs...)
	}
	return out
}

func (p *Plugin) unsupported(what string) error {
	base := "(not configured)"
	if cfg, _, err := p.config.Get(); err == nil {
		base = cfg.base()
	}
	return unsupported(base, what)
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
