package hubsvc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/plugins"
	"github.com/dpc-go/dpc/host/internal/store"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

const hubID = "hub/hub"

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestCachedSessionOpensOnlyForItsKeyAndPlugin: a sealed session opens
// with the node key and plugin it was sealed for, and for no other.
func TestCachedSessionOpensOnlyForItsKeyAndPlugin(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	sl, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sess := sdk.HubSession{Data: []byte(`{"refresh_token":"secret"}`), Expires: time.Now().Add(time.Hour).UTC().Round(0)}
	blob, err := sl.seal(hubID, sess)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newSealer(newKey(t))
	tests := map[string]struct {
		sealer *sealer
		plugin string
		blob   []byte
		ok     bool
	}{
		"its own key and plugin":                {sealer: sl, plugin: hubID, blob: blob, ok: true},
		"another plugin's name":                 {sealer: sl, plugin: "hub/other", blob: blob},
		"another node's key":                    {sealer: other, plugin: hubID, blob: blob},
		"a flipped byte":                        {sealer: sl, plugin: hubID, blob: flip(blob, len(blob)-1)},
		"an unknown version":                    {sealer: sl, plugin: hubID, blob: flip(blob, 0)},
		"a blob shorter than a nonce and a tag": {sealer: sl, plugin: hubID, blob: blob[:10]},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.sealer.open(tc.plugin, tc.blob)
			if !tc.ok {
				if !errors.Is(err, ErrBadCache) {
					t.Fatalf("want ErrBadCache, got %v", err)
				}
				return
			}
			if err != nil || string(got.Data) != string(sess.Data) || !got.Expires.Equal(sess.Expires) {
				t.Fatalf("want %+v, got %+v (%v)", sess, got, err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

// FuzzOpenCachedSession: whatever the store holds, opening it never panics.
func FuzzOpenCachedSession(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	sl, err := newSealer(key)
	if err != nil {
		f.Fatal(err)
	}
	blob, _ := sl.seal(hubID, sdk.HubSession{Data: []byte("x")})
	f.Add(blob)
	f.Add([]byte{})
	f.Add([]byte{sealVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = sl.open(hubID, b)
	})
}

// fakeHub is a hub plugin whose Resume answers resumeErr and whose Signals
// runs until its context ends.
type fakeHub struct {
	sdk.Hub
	mu        sync.Mutex
	resumeErr error
	resumed   chan sdk.HubSession
	signals   chan struct{}
}

func (h *fakeHub) Resume(_ context.Context, req sdk.ResumeRequest) (sdk.LoginResult, error) {
	h.mu.Lock()
	err := h.resumeErr
	h.mu.Unlock()
	h.resumed <- req.Session // after the answer is decided, so a test can change the next one
	if err != nil {
		return sdk.LoginResult{}, err
	}
	return sdk.LoginResult{Session: sdk.HubSession{Data: append(req.Session.Data, '+'), Expires: req.Session.Expires}}, nil
}

func (h *fakeHub) Login(context.Context) (sdk.LoginResult, error) {
	return sdk.LoginResult{Session: sdk.HubSession{Data: []byte("fresh"), Expires: time.Now().Add(time.Hour)}}, nil
}

func (h *fakeHub) PublishPresence(context.Context, sdk.PublishPresenceRequest) error { return nil }

func (h *fakeHub) Signals(ctx context.Context, _ func(sdk.IncomingSignal) error) error {
	h.signals <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

type fakePlugins struct{ hub *fakeHub }

func (p fakePlugins) DeliverHubSignal(context.Context, sdk.Signal) int { return 0 }

func (p fakePlugins) OfKind(k sdk.Kind) []string {
	if k == sdk.KindHub {
		return []string{hubID}
	}
	return nil
}

func (p fakePlugins) Client(id string) (*pluginhost.Client, bool) {
	if id != hubID {
		return nil, false
	}
	return &pluginhost.Client{Hub: p.hub}, true
}

func newService(t *testing.T, st *store.Store, key ed25519.PrivateKey) *Service {
	t.Helper()
	s, err := New(Options{Store: st, Key: key, Profile: Profile{Name: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// TestStartResumesOrStaysLoggedOut: at start a cached session is resumed;
// one the hub refuses, or one past its expiry, leaves the node offline
// with a reason, and no new login is made.
func TestStartResumesOrStaysLoggedOut(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		expires    time.Time
		resumeErr  error
		wantResume bool
		want       Status
	}{
		"a valid session is resumed":           {expires: time.Now().Add(time.Hour), wantResume: true, want: StatusOnline},
		"a refused session leaves it offline":  {expires: time.Now().Add(time.Hour), resumeErr: sdk.ErrPermissionDenied, wantResume: true, want: StatusOffline},
		"an expired session is not even tried": {expires: time.Now().Add(-time.Minute), want: StatusOffline},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			key, st := newKey(t), newStore(t)
			if err := newService(t, st, key).SaveHubSession(hubID, sdk.HubSession{Data: []byte("s1"), Expires: tc.expires}); err != nil {
				t.Fatal(err)
			}
			h := &fakeHub{resumeErr: tc.resumeErr, resumed: make(chan sdk.HubSession, 1), signals: make(chan struct{}, 1)}
			s := newService(t, st, key)
			s.Start(context.Background(), fakePlugins{h})
			if tc.wantResume {
				if got := <-h.resumed; string(got.Data) != "s1" {
					t.Fatalf("resumed %q, want the cached s1", got.Data)
				}
			}
			if tc.want == StatusOnline {
				<-h.signals // the stream runs while logged in
			}
			deadline := time.Now().Add(30 * time.Second)
			for s.State().Status != tc.want {
				if time.Now().After(deadline) {
					t.Fatalf("status %+v, want %s", s.State(), tc.want)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if tc.want == StatusOffline && s.State().LastError == "" {
				t.Errorf("offline without a reason")
			}
			if _, _, ok := s.cached(hubID); ok != (tc.want == StatusOnline) {
				t.Errorf("cached session kept = %v, want %v", ok, tc.want == StatusOnline)
			}
		})
	}
}

// TestStatusFollowsHubEvents: the plugin's events move the status; events
// of another plugin, or while logged out, do not.
func TestStatusFollowsHubEvents(t *testing.T) {
	t.Parallel()
	h := &fakeHub{resumed: make(chan sdk.HubSession, 1), signals: make(chan struct{}, 1)}
	s := newService(t, newStore(t), newKey(t))
	s.Start(context.Background(), fakePlugins{h})
	s.OnEvent(plugins.Event{Plugin: hubID, Type: sdk.EventHubConnected})
	if got := s.State().Status; got != StatusOffline {
		t.Fatalf("an event while logged out: status %s, want offline", got)
	}
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-h.signals
	steps := []struct {
		name string
		ev   plugins.Event
		want Status
	}{
		{"stream lost", plugins.Event{Plugin: hubID, Type: sdk.EventHubDisconnected}, StatusHubOffline},
		{"another plugin's event", plugins.Event{Plugin: "hub/other", Type: sdk.EventHubConnected}, StatusHubOffline},
		{"stream back", plugins.Event{Plugin: hubID, Type: sdk.EventHubConnected}, StatusOnline},
		{"session ended", plugins.Event{Plugin: hubID, Type: sdk.EventHubSessionEnded}, StatusOffline},
		{"no reconnect after the end", plugins.Event{Plugin: hubID, Type: sdk.EventHubConnected}, StatusOffline},
	}
	for _, st := range steps {
		s.OnEvent(st.ev)
		if got := s.State().Status; got != st.want {
			t.Fatalf("%s: status %s, want %s", st.name, got, st.want)
		}
	}
}

// TestUnreachableHubAtStartIsRetried: a resume that fails because the hub
// cannot be reached shows hub_offline, keeps the cached login and tries
// again until the hub answers.
func TestUnreachableHubAtStartIsRetried(t *testing.T) {
	t.Parallel()
	key, st := newKey(t), newStore(t)
	if err := newService(t, st, key).SaveHubSession(hubID, sdk.HubSession{Data: []byte("s1"), Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h := &fakeHub{resumeErr: errors.New("connection refused"), resumed: make(chan sdk.HubSession, 1), signals: make(chan struct{}, 1)}
	s := newService(t, st, key)
	s.Start(context.Background(), fakePlugins{h})
	<-h.resumed
	if got := s.State().Status; got != StatusHubOffline {
		t.Errorf("while the hub is unreachable: status %s, want hub_offline", got)
	}
	h.mu.Lock()
	h.resumeErr = nil // the hub is back
	h.mu.Unlock()
	if got := <-h.resumed; string(got.Data) != "s1" {
		t.Fatalf("retried with %q, want the cached s1", got.Data)
	}
	<-h.signals
	if got := s.State().Status; got != StatusOnline {
		t.Errorf("after the hub came back: status %s, want online", got)
	}
}

// TestLogoutForgetsTheCachedLogin: after dpc hub logout nothing is left to
// resume, even when the hub could not be told.
func TestLogoutForgetsTheCachedLogin(t *testing.T) {
	t.Parallel()
	h := &logoutFailsHub{fakeHub{resumed: make(chan sdk.HubSession, 1), signals: make(chan struct{}, 1)}}
	s := newService(t, newStore(t), newKey(t))
	s.Start(context.Background(), fakeHubPlugins{h})
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.cached(hubID); !ok {
		t.Fatal("the login was not cached")
	}
	if _, err := s.Logout(context.Background()); err == nil {
		t.Error("a logout the hub did not get: want an error saying so")
	}
	if _, _, ok := s.cached(hubID); ok {
		t.Error("the login is still cached after logout")
	}
	if st := s.State(); st.Status != StatusOffline || !st.SessionExpires.IsZero() {
		t.Errorf("after logout: status %s, login kept until %v; want offline and no login kept", st.Status, st.SessionExpires)
	}
}

type logoutFailsHub struct{ fakeHub }

func (h *logoutFailsHub) Logout(context.Context) error { return errors.New("connection refused") }

type fakeHubPlugins struct{ hub sdk.Hub }

func (p fakeHubPlugins) DeliverHubSignal(context.Context, sdk.Signal) int { return 0 }

func (p fakeHubPlugins) OfKind(k sdk.Kind) []string { return fakePlugins{}.OfKind(k) }

func (p fakeHubPlugins) Client(id string) (*pluginhost.Client, bool) {
	return &pluginhost.Client{Hub: p.hub}, id == hubID
}

// TestStatusChangesAreReported: every change of the status reaches
// Options.Changed, in order, with its reason; an event that changes
// nothing reports nothing.
func TestStatusChangesAreReported(t *testing.T) {
	t.Parallel()
	h := &fakeHub{resumed: make(chan sdk.HubSession, 1), signals: make(chan struct{}, 1)}
	changes := make(chan State, 16)
	s, err := New(Options{Store: newStore(t), Key: newKey(t), Profile: Profile{Name: "alice"}, Changed: func(st State) { changes <- st }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.Start(context.Background(), fakePlugins{h})
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-h.signals
	s.OnEvent(plugins.Event{Plugin: hubID, Type: sdk.EventHubDisconnected})
	s.OnEvent(plugins.Event{Plugin: "hub/other", Type: sdk.EventHubConnected})
	s.OnEvent(plugins.Event{Plugin: hubID, Type: sdk.EventHubConnected})
	want := []Status{StatusOnline, StatusHubOffline, StatusOnline}
	for i, w := range want {
		select {
		case got := <-changes:
			if got.Status != w || (w != StatusOnline && got.LastError == "") {
				t.Fatalf("change %d: want %s (with a reason when not online), got %+v", i, w, got)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("change %d (%s) never reported", i, w)
		}
	}
	select {
	case extra := <-changes:
		t.Errorf("want no more changes, got %+v", extra)
	default:
	}
}
