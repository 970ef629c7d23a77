package hubsvc

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// Status is whether the node is reachable through its hub.
type Status string

// The statuses `dpc hub status` shows.
const (
	// StatusOnline: logged in and the signaling stream is open.
	StatusOnline Status = "online"
	// StatusHubOffline: logged in, but the hub cannot be reached now; the
	// node reconnects by itself. Direct sessions are unaffected.
	StatusHubOffline Status = "hub_offline"
	// StatusOffline: not logged in.
	StatusOffline Status = "offline"
)

var (
	// ErrNoHub means dpc.hcl configures no hub plugin.
	ErrNoHub = errors.New(`no hub plugin is configured: add plugin "hub" "hub-dpc" { config { url = "https://hub.example" } } to dpc.hcl, then run dpc plugin lock and restart dpc run`)
	// ErrHubNotRunning means the hub plugin is configured but not running.
	ErrHubNotRunning = errors.New("the hub plugin is not running (see dpc plugin status)")
	// ErrNotLoggedIn means the call needs `dpc hub login` first.
	ErrNotLoggedIn = errors.New("not logged in to the hub: run dpc hub login")
)

// Plugins is what the service needs of the plugin manager.
type Plugins interface {
	OfKind(kind sdk.Kind) []string
	Client(id string) (*pluginhost.Client, bool)
	// DeliverHubSignal hands a signal that came through the hub to the
	// transports that take them; it returns how many did.
	DeliverHubSignal(ctx context.Context, s sdk.Signal) int
}

// Profile is what this node publishes on the hub (dpc.hcl's profile block).
type Profile struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Expertise   map[string]int `json:"expertise,omitempty"`
	// PublishURIs says whether the direct dpc:// URIs are published.
	PublishURIs bool `json:"-"`
}

// Options configures a Service.
type Options struct {
	Store *store.Store
	// Key is the node's private key; the cache key is derived from it.
	Key     crypto.Signer
	Profile Profile
	// URIs returns this node's direct dpc:// URIs (published only when
	// Profile.PublishURIs).
	URIs func() []string
	// Online, if set, is called whenever the node comes online on the hub,
	// so that peers reached through it are dialed again at once.
	Online func()
	Logger hclog.Logger

	// Mailbox, if set, is called when envelopes may wait in the node's
	// mailbox: when it comes online on the hub, and when the hub says one
	// arrived (a "mailbox" signal).
	Mailbox func()
	// Changed, if set, is called with the new state whenever the status or
	// its reason changes (the node puts it on the event stream). It runs
	// under the service's lock, so it must not call back into it.
	Changed func(State)
}

// State is what GET /v1/hub answers.
type State struct {
	// Plugin is the hub plugin's id ("hub/<name>"); empty when none.
	Plugin string    `json:"plugin,omitempty"`
	Status Status    `json:"status"`
	Since  time.Time `json:"since"`
	// SessionExpires is when the cached login ends unless used.
	SessionExpires time.Time `json:"session_expires,omitzero"`
	// LastError says why the node is not online, when it is not.
	LastError string `json:"last_error,omitempty"`
}

// Service keeps the hub login and its status.
type Service struct {
	o    Options
	log  hclog.Logger
	seal *sealer

	mu      sync.Mutex
	plugins Plugins
	id      string // the hub plugin's id
	state   State
	ctx     context.Context // the node's, set by Start
	cancel  context.CancelFunc
	gen     int // login generation; a loop of an older one stops
	wg      sync.WaitGroup
	// needAccount: the hub refuses the node until an account is linked;
	// wake cuts the wait before the next try short once one is.
	needAccount bool
	wake        chan struct{}
	// profileHeld: the hub refused the profile dpc hub login published
	// for want of a linked account; it is published once the hub takes
	// the node (dpc hub link --no-wait does not publish it).
	profileHeld bool
	// firstRetry is the first wait between tries (retryBase; tests
	// lengthen it to see wake at work).
	firstRetry time.Duration
}

// New derives the cache key; nothing runs until Start.
func New(o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	sl, err := newSealer(o.Key)
	if err != nil {
		return nil, err
	}
	return &Service{o: o, log: o.Logger.Named("hub"), seal: sl, state: State{Status: StatusOffline, Since: time.Now().UTC()},
		wake: make(chan struct{}, 1), firstRetry: retryBase}, nil
}

func sessionKey(plugin string) []byte { return []byte("hub/session/" + plugin) }

// SaveHubSession keeps the plugin's latest session, sealed; an empty one
// forgets it (the plugin's login ended).
func (s *Service) SaveHubSession(plugin string, sess sdk.HubSession) error {
	if len(sess.Data) == 0 {
		if err := s.o.Store.Delete(sessionKey(plugin)); err != nil {
			return fmt.Errorf("forgetting the hub session: %w", err)
		}
		s.mu.Lock()
		if plugin == s.id {
			s.state.SessionExpires = time.Time{} // no login is kept any more
		}
		s.mu.Unlock()
		return nil
	}
	blob, err := s.seal.seal(plugin, sess)
	if err != nil {
		return err
	}
	if err := s.o.Store.Set(sessionKey(plugin), blob); err != nil {
		return fmt.Errorf("saving the hub session: %w", err)
	}
	s.mu.Lock()
	if plugin == s.id {
		s.state.SessionExpires = sess.Expires
	}
	s.mu.Unlock()
	return nil
}

// cached returns the plugin's cached session; ok is false when there is
// none worth resuming (missing, expired, or unreadable: then forgotten,
// and why says so).
func (s *Service) cached(plugin string) (sess sdk.HubSession, why string, ok bool) {
	blob, err := s.o.Store.Get(sessionKey(plugin))
	if errors.Is(err, store.ErrNotFound) {
		return sdk.HubSession{}, "", false
	}
	if err != nil {
		s.log.Error("reading the cached hub session", "error", err)
		return sdk.HubSession{}, "the cached hub login cannot be read: " + err.Error(), false
	}
	sess, err = s.seal.open(plugin, blob)
	if err == nil && !sess.Expires.IsZero() && !time.Now().Before(sess.Expires) {
		err = fmt.Errorf("it expired at %s", sess.Expires.UTC().Format(time.RFC3339))
	}
	if err != nil {
		s.log.Warn("forgetting the cached hub session", "error", err)
		_ = s.o.Store.Delete(sessionKey(plugin))
		return sdk.HubSession{}, "forgot the cached hub login (" + err.Error() + "): run dpc hub login", false
	}
	return sess, "", true
}

// Start picks the first configured hub plugin and resumes its cached
// login, if any, in the background.
func (s *Service) Start(ctx context.Context, p Plugins) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plugins, s.ctx = p, ctx
	if ids := p.OfKind(sdk.KindHub); len(ids) > 0 {
		s.id = ids[0]
	}
	s.state.Plugin = s.id
	if s.id == "" {
		return
	}
	sess, why, ok := s.cached(s.id)
	if !ok {
		if why != "" {
			s.setLocked(StatusOffline, why)
		}
		return
	}
	s.state.SessionExpires = sess.Expires
	s.setLocked(StatusHubOffline, "resuming the cached hub login")
	s.startLoop(true)
}

// Stop ends the background loop.
func (s *Service) Stop() {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// State reports the status.
func (s *Service) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Service) setLocked(st Status, why string) {
	before := s.state
	defer func() {
		if s.o.Changed != nil && (before.Status != s.state.Status || before.LastError != s.state.LastError) {
			s.o.Changed(s.state)
		}
	}()
	if s.state.Status != st {
		s.state.Since = time.Now().UTC()
		s.log.Info("hub status", "status", st, "why", why)
		if st == StatusOnline && s.o.Online != nil {
			go s.o.Online() // paths through the hub work again
		}
		if st == StatusOnline && s.o.Mailbox != nil {
			go s.o.Mailbox() // what arrived while offline
		}
	}
	s.state.Status = st
	s.state.LastError = ""
	if st == StatusOnline {
		s.needAccount = false
	}
	if st != StatusOnline {
		s.state.LastError = why
	}
}

// OnEvent follows the hub plugin's events (plugins.ManagerOptions.OnEvent).
func (s *Service) OnEvent(e plugins.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Plugin != s.id || s.cancel == nil {
		return // not our hub, or logged out
	}
	switch e.Type {
	case sdk.EventHubConnected:
		s.setLocked(StatusOnline, "")
	case sdk.EventHubDisconnected:
		s.setLocked(StatusHubOffline, "the hub cannot be reached: "+e.Message)
	case sdk.EventHubSessionEnded:
		s.endLocked("the hub ended the login (" + e.Message + "): run dpc hub login")
	}
}

// endLocked stops the loop and shows the node logged out.
func (s *Service) endLocked(why string) {
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.gen++
	s.setLocked(StatusOffline, why)
}

// hub returns the running hub plugin.
func (s *Service) hub() (sdk.Hub, error) {
	s.mu.Lock()
	id, p := s.id, s.plugins
	s.mu.Unlock()
	if id == "" || p == nil {
		return nil, ErrNoHub
	}
	c, ok := p.Client(id)
	if !ok || c.Hub == nil {
		return nil, fmt.Errorf("%w: %s", ErrHubNotRunning, id)
	}
	return c.Hub, nil
}

// startLoop runs keep (resuming first when resume) for a new generation.
func (s *Service) startLoop(resume bool) {
	if s.cancel != nil {
		s.cancel()
	}
	s.gen++
	ctx, cancel := context.WithCancel(s.ctx)
	s.cancel = cancel
	gen := s.gen
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.keep(ctx, gen, resume)
	}()
}

// Login signs in anew (the user ran dpc hub login) and publishes the
// profile.
func (s *Service) Login(ctx context.Context) (State, error) {
	h, err := s.hub()
	if err != nil {
		return s.State(), err
	}
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	id := s.id
	s.mu.Unlock()
	res, err := h.Login(ctx)
	if err != nil {
		s.mu.Lock()
		s.setLocked(StatusOffline, "login failed: "+err.Error())
		s.mu.Unlock()
		return s.State(), fmt.Errorf("hub login: %w", err)
	}
	if err := s.SaveHubSession(id, res.Session); err != nil {
		s.log.Error("the hub login works but will not survive a restart", "error", err)
	}
	why := ""
	if err := s.publishQuietly(ctx, h); errors.Is(err, sdk.ErrPermissionDenied) {
		// A hub that requires a linked account took the login but
		// refuses the rest: say so now, not once the stream fails.
		why = accountMissing(ctx, h)
	}
	s.mu.Lock()
	s.profileHeld = why != ""
	if why != "" {
		s.setLocked(StatusHubOffline, why)
		s.needAccount = true
	} else {
		s.setLocked(StatusOnline, "")
	}
	s.startLoop(false)
	s.mu.Unlock()
	return s.State(), nil
}

// Logout ends the login at the hub and here.
func (s *Service) Logout(ctx context.Context) (State, error) {
	h, err := s.hub()
	if err != nil {
		return s.State(), err
	}
	s.mu.Lock()
	s.endLocked("logged out")
	id := s.id
	s.mu.Unlock()
	err = h.Logout(ctx)
	// Forget it here whatever the hub said: the user asked to log out.
	if ferr := s.SaveHubSession(id, sdk.HubSession{}); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, sdk.ErrPermissionDenied) {
		return s.State(), fmt.Errorf("hub logout (forgotten here, the hub may still list the login until it expires): %w", err)
	}
	return s.State(), nil
}

// retry bounds the wait between resume attempts while the hub is away.
const (
	retryBase = 500 * time.Millisecond
	retryMax  = 30 * time.Second
)

// keep resumes (when asked) and runs the Signals stream while this
// generation lasts; a stream that breaks off is resumed from the cache (a
// restarted plugin has lost its login).
func (s *Service) keep(ctx context.Context, gen int, resume bool) {
	wait := s.firstRetry
	for ctx.Err() == nil {
		if resume && !s.resume(ctx, gen) {
			if !s.pause(ctx, &wait) {
				return
			}
			continue
		}
		// The first try after dpc hub login follows its own publish.
		retry := resume
		resume = true
		h, err := s.hub()
		if err != nil {
			s.failed(gen, err)
			if !s.pause(ctx, &wait) {
				return
			}
			continue
		}
		s.mu.Lock()
		heldOff, held := s.needAccount, retry && s.profileHeld
		s.mu.Unlock()
		if !heldOff {
			// The hub answers again: the next failure is retried soon.
			// A node it holds off for want of an account backs off
			// instead (Accounts wakes it once one is linked).
			wait = s.firstRetry
		}
		if held && s.publishQuietly(ctx, h) == nil {
			s.mu.Lock()
			s.profileHeld = false
			s.mu.Unlock()
		}
		err = h.Signals(ctx, func(sig sdk.IncomingSignal) error {
			s.deliver(ctx, sig)
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, sdk.ErrPermissionDenied) {
			// A hub that requires a linked account refuses the stream:
			// say that, not just that it ended.
			if why := accountMissing(ctx, h); why != "" {
				err = errors.New(why)
				s.mu.Lock()
				s.needAccount = true
				s.mu.Unlock()
			}
		}
		s.failed(gen, fmt.Errorf("the signaling stream ended: %w", err))
		if !s.pause(ctx, &wait) {
			return
		}
	}
}

// pause waits before the next attempt; false when ctx ended.
func (s *Service) pause(ctx context.Context, wait *time.Duration) bool {
	t := time.NewTimer(*wait)
	defer t.Stop()
	*wait = min(*wait*2, retryMax)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-s.wake:
		return true
	}
}

// failed shows a passing failure of generation gen as hub_offline.
func (s *Service) failed(gen int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen == s.gen && s.cancel != nil {
		s.setLocked(StatusHubOffline, err.Error())
	}
}

// resume takes up the cached session; false when it should be tried again.
// A session the hub refuses ends the generation: the node stays logged out.
func (s *Service) resume(ctx context.Context, gen int) bool {
	s.mu.Lock()
	id := s.id
	s.mu.Unlock()
	sess, why, ok := s.cached(id)
	if !ok {
		if why == "" {
			why = "no cached hub login to resume: run dpc hub login"
		}
		s.mu.Lock()
		if gen == s.gen {
			s.endLocked(why)
		}
		s.mu.Unlock()
		return false
	}
	h, err := s.hub()
	if err != nil {
		s.failed(gen, err)
		return false
	}
	res, err := h.Resume(ctx, sdk.ResumeRequest{Session: sess})
	if errors.Is(err, sdk.ErrPermissionDenied) || errors.Is(err, sdk.ErrInvalidArgument) {
		_ = s.SaveHubSession(id, sdk.HubSession{})
		s.mu.Lock()
		if gen == s.gen {
			s.endLocked("the hub refused the cached login (" + err.Error() + "): run dpc hub login")
		}
		s.mu.Unlock()
		return false
	}
	if err != nil {
		s.failed(gen, fmt.Errorf("resuming the hub login: %w", err))
		return false
	}
	if err := s.SaveHubSession(id, res.Session); err != nil {
		s.log.Error("saving the resumed hub session", "error", err)
	}
	s.mu.Lock()
	// A node the hub holds off for want of an account stays hub_offline
	// (and says why) until the stream is taken (hub.connected).
	if gen == s.gen && !s.needAccount {
		s.setLocked(StatusOnline, "")
	}
	s.mu.Unlock()
	return true
}

// ProfileRequest is what Publish sends: the configured profile and, when
// it says so, the direct URIs.
func (s *Service) ProfileRequest() (sdk.PublishPresenceRequest, error) {
	pj, err := json.Marshal(s.o.Profile)
	if err != nil {
		return sdk.PublishPresenceRequest{}, fmt.Errorf("the profile: %w", err)
	}
	req := sdk.PublishPresenceRequest{Status: "online", ProfileJSON: pj}
	if s.o.Profile.PublishURIs && s.o.URIs != nil {
		req.URIs = s.o.URIs()
	}
	return req, nil
}

// Publish publishes the configured profile.
func (s *Service) Publish(ctx context.Context) (sdk.PublishPresenceRequest, error) {
	h, err := s.loggedIn()
	if err != nil {
		return sdk.PublishPresenceRequest{}, err
	}
	req, err := s.ProfileRequest()
	if err != nil {
		return req, err
	}
	if err := h.PublishPresence(ctx, req); err != nil {
		return req, err
	}
	s.mu.Lock()
	s.profileHeld = false
	s.mu.Unlock()
	return req, nil
}

func (s *Service) publishQuietly(ctx context.Context, h sdk.Hub) error {
	req, err := s.ProfileRequest()
	if err == nil {
		err = h.PublishPresence(ctx, req)
	}
	if err != nil {
		s.log.Warn("publishing the profile after login", "error", err)
	}
	return err
}

// loggedIn returns the hub plugin when the node is logged in.
func (s *Service) loggedIn() (sdk.Hub, error) {
	h, err := s.hub()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	in := s.cancel != nil
	s.mu.Unlock()
	if !in {
		return nil, ErrNotLoggedIn
	}
	return h, nil
}

// Lookup asks the hub about one node.
func (s *Service) Lookup(ctx context.Context, nodeID string) (sdk.PeerRecord, error) {
	h, err := s.loggedIn()
	if err != nil {
		return sdk.PeerRecord{}, err
	}
	res, err := h.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: nodeID})
	return res.Peer, err
}

// Search searches the hub's directory.
func (s *Service) Search(ctx context.Context, query string, limit int) ([]sdk.PeerRecord, error) {
	h, err := s.loggedIn()
	if err != nil {
		return nil, err
	}
	res, err := h.SearchPeers(ctx, sdk.SearchPeersRequest{Query: query, Limit: limit})
	return res.Peers, err
}
