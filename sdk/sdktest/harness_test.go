package sdktest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// callbackResults is what a plugin saw when it called back into the host.
type callbackResults struct {
	req       sdk.ConfigureRequest
	sig       sdk.Signature
	signErr   error
	denied    error
	identity  sdk.HostIdentity
	identErr  error
	eventErr  error
	routeErr  error
	saveErr   error
	loginSig  sdk.Signature
	loginErr  error
	configure int
}

// callbackHub calls every Host method from Configure, and Sign again from
// Login, long after Configure returned.
func callbackHub(res *callbackResults, mu *sync.Mutex) *mockHub {
	m := &mockHub{}
	var host sdk.Host
	m.ConfigureF = func(ctx context.Context, req sdk.ConfigureRequest) error {
		mu.Lock()
		defer mu.Unlock()
		res.configure++
		res.req = req
		host = req.Host
		if host == nil {
			return errors.New("no host in ConfigureRequest")
		}
		res.sig, res.signErr = host.Sign(ctx, sdk.PurposeHubLogin, []byte("challenge-1"))
		_, res.denied = host.Sign(ctx, "backup-anything/v1", []byte("x"))
		res.identity, res.identErr = host.Identity(ctx)
		res.eventErr = host.EmitEvent(ctx, sdk.Event{Type: "hub.connected", Level: sdk.EventWarning,
			Message: "connected", Attributes: map[string]string{"hub": "hub.example.org"}})
		res.routeErr = host.RouteSignal(ctx, sdk.Signal{To: "transport/webrtc", Type: "offer",
			Payload: binary, PeerNodeID: "dpc-node-peer"})
		res.saveErr = host.SaveHubSession(ctx, sdk.HubSession{Data: binary, Expires: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)})
		return nil
	}
	m.LoginF = func(ctx context.Context) (sdk.LoginResult, error) {
		mu.Lock()
		h := host
		mu.Unlock()
		sig, err := h.Sign(ctx, sdk.PurposeHubLogin, []byte("challenge-2"))
		mu.Lock()
		res.loginSig, res.loginErr = sig, err
		mu.Unlock()
		return sdk.LoginResult{NodeID: res.identity.NodeID}, err
	}
	return m
}

func TestHostCallbacks(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		res callbackResults
	)
	h := sdktest.New(t, callbackHub(&res, &mu))
	ctx := context.Background()
	for i := range 2 { // the second Configure reuses the host service
		if err := h.Configure(t, nil); err != nil {
			t.Fatalf("Configure #%d: %v", i+1, err)
		}
	}
	if _, err := h.Client.Hub.Login(ctx); err != nil {
		t.Fatalf("Login: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()

	if res.configure != 2 {
		t.Errorf("Configure calls: want 2, got %d", res.configure)
	}
	if res.req.NodeID != sdktest.TestNodeID || res.req.APIVersion != sdk.APIVersion || res.req.DataDir == "" || res.req.Logger == nil {
		t.Errorf("ConfigureRequest: want node %s, API %d, a data dir and a logger, got %+v",
			sdktest.TestNodeID, sdk.APIVersion, res.req)
	}

	verify := func(what string, sig sdk.Signature, err error, data string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: want a signature, got %v", what, err)
		}
		wantMsg := "dpc-plugin-signature/v1\x00" + sdk.PurposeHubLogin + "\x00" + data
		if string(sig.SignedMessage) != wantMsg {
			t.Errorf("%s: want SignedMessage %q, got %q", what, wantMsg, sig.SignedMessage)
		}
		if sig.Algorithm != "ed25519" {
			t.Errorf("%s: want algorithm ed25519, got %q", what, sig.Algorithm)
		}
		if !ed25519.Verify(h.Host.PublicKey(), sig.SignedMessage, sig.Signature) {
			t.Errorf("%s: want a signature the host's public key verifies, got one it does not", what)
		}
	}
	verify("Sign in Configure", res.sig, res.signErr, "challenge-1")
	verify("Sign in Login", res.loginSig, res.loginErr, "challenge-2")

	if !errors.Is(res.denied, sdk.ErrPermissionDenied) {
		t.Errorf("Sign with a disallowed purpose: want sdk.ErrPermissionDenied, got %v", res.denied)
	}
	if res.identErr != nil || res.identity.NodeID != sdktest.TestNodeID {
		t.Errorf("Identity: want node %s, got %+v (err %v)", sdktest.TestNodeID, res.identity, res.identErr)
	}

	if res.eventErr != nil {
		t.Errorf("EmitEvent: want no error, got %v", res.eventErr)
	}
	events := h.Host.Events()
	if len(events) != 2 {
		t.Fatalf("events: want 2 (one per Configure), got %d: %+v", len(events), events)
	}
	e := events[0]
	if e.Type != "hub.connected" || e.Level != sdk.EventWarning || e.Message != "connected" ||
		!maps.Equal(e.Attributes, map[string]string{"hub": "hub.example.org"}) {
		t.Errorf("event: want the one emitted, got %+v", e)
	}

	if res.saveErr != nil {
		t.Errorf("SaveHubSession: want no error, got %v", res.saveErr)
	}
	if s := h.Host.HubSessions(); len(s) != 2 || !bytes.Equal(s[0].Data, binary) || !s[0].Expires.Equal(time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("hub sessions: want 2 carrying the bytes and expiry saved, got %+v", s)
	}

	if res.routeErr != nil {
		t.Errorf("RouteSignal: want no error, got %v", res.routeErr)
	}
	signals := h.Host.Signals()
	if len(signals) != 2 {
		t.Fatalf("signals: want 2, got %d", len(signals))
	}
	if s := signals[0]; s.To != "transport/webrtc" || s.Type != "offer" || !bytes.Equal(s.Payload, binary) || s.PeerNodeID != "dpc-node-peer" {
		t.Errorf("signal: want the one routed, got %+v", s)
	}
}

func TestConfigureDiagnostics(t *testing.T) {
	t.Parallel()
	type diag struct {
		path    string
		summary string
	}
	tests := map[string]struct {
		config      any
		configureF  func(context.Context, sdk.ConfigureRequest) error
		want        []diag
		wantConfig  *hubConfig
		wantNoError bool
	}{
		"valid struct config arrives decoded": {
			config:      &hubConfig{Dir: "/srv", Mirror: []mirror{{URL: "https://m"}}},
			wantNoError: true,
			wantConfig:  &hubConfig{Dir: "/srv", Limit: 0, Mirror: []mirror{{URL: "https://m"}}},
		},
		"valid JSON config keeps defaults": {
			config:      json.RawMessage(`{"dir": "/srv"}`),
			wantNoError: true,
			wantConfig:  &hubConfig{Dir: "/srv", Limit: 10},
		},
		"validate: one attribute": {
			config: &hubConfig{Dir: "relative/dir"},
			want:   []diag{{"dir", `must be an absolute path, got "relative/dir"`}},
		},
		"validate: several attributes, nested path": {
			config: &hubConfig{Dir: "rel", Limit: -1, Mirror: []mirror{{URL: "https://ok"}, {URL: "http://plain"}}},
			want: []diag{
				{"dir", `must be an absolute path, got "rel"`},
				{"limit", "must not be negative"},
				{"mirror.1.url", "must be https"},
			},
		},
		"decode: unknown attribute": {
			config: json.RawMessage(`{"dir": "/srv", "dri": "/srv"}`),
			want:   []diag{{"dri", `unknown attribute "dri"`}},
		},
		"decode: missing required": {
			config: json.RawMessage(`{"limit": 1}`),
			want:   []diag{{"dir", `the attribute "dir" is required`}},
		},
		"decode: wrong type": {
			config: json.RawMessage(`{"dir": "/srv", "limit": "ten"}`),
			want:   []diag{{"limit", "want a whole number"}},
		},
		"decode: nested block list": {
			config: json.RawMessage(`{"dir": "/srv", "mirror": [{"url": "https://a"}, {}]}`),
			want:   []diag{{"mirror.1.url", "required"}},
		},
		"configure: attribute error from the plugin": {
			config: &hubConfig{Dir: "/srv"},
			configureF: func(context.Context, sdk.ConfigureRequest) error {
				return fmt.Errorf("opening: %w", sdk.AttributeError([]string{"dir"}, "not writable"))
			},
			want: []diag{{"dir", "not writable"}},
		},
		"configure: plain error has no path": {
			config: &hubConfig{Dir: "/srv"},
			configureF: func(context.Context, sdk.ConfigureRequest) error {
				return errors.New("backend refused")
			},
			want: []diag{{"", "backend refused"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got atomic.Pointer[hubConfig]
			m := &mockHub{ConfigureF: func(ctx context.Context, req sdk.ConfigureRequest) error {
				got.Store(req.Config.(*hubConfig))
				if tc.configureF != nil {
					return tc.configureF(ctx, req)
				}
				return nil
			}}
			h := sdktest.New(t, &configurableHub{mockHub: m})
			err := h.Configure(t, tc.config)
			if tc.wantNoError {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				if c := got.Load(); c == nil || !equalHubConfig(*c, *tc.wantConfig) {
					t.Errorf("want the plugin to get %+v, got %+v", *tc.wantConfig, c)
				}
				return
			}
			var diags []diag
			for _, ce := range sdk.ConfigErrors(err) {
				diags = append(diags, diag{strings.Join(ce.Path, "."), ce.Summary})
			}
			if len(diags) != len(tc.want) {
				t.Fatalf("want %d diagnostics %+v, got %d: %+v", len(tc.want), tc.want, len(diags), diags)
			}
			for i, d := range diags {
				if d.path != tc.want[i].path || !strings.Contains(d.summary, tc.want[i].summary) {
					t.Errorf("diagnostic %d: want path %q summary containing %q, got %q %q",
						i, tc.want[i].path, tc.want[i].summary, d.path, d.summary)
				}
			}
		})
	}
}

func equalHubConfig(a, b hubConfig) bool {
	return a.Dir == b.Dir && a.Limit == b.Limit && slices.Equal(a.Mirror, b.Mirror)
}

func TestConfigSchemaOverTheWire(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		impl      sdk.Plugin
		wantAttrs []string
		wantBlock []string
	}{
		"configurable": {impl: &configurableHub{mockHub: &mockHub{}}, wantAttrs: []string{"dir", "limit"}, wantBlock: []string{"mirror"}},
		"no config":    {impl: &mockHub{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sch, err := sdktest.New(t, tc.impl).Client.ConfigSchema(context.Background())
			if err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			var attrs, blocks []string
			for _, a := range sch.GetAttributes() {
				attrs = append(attrs, a.GetName())
			}
			for _, b := range sch.GetBlocks() {
				blocks = append(blocks, b.GetTypeName())
			}
			if !slices.Equal(attrs, tc.wantAttrs) || !slices.Equal(blocks, tc.wantBlock) {
				t.Errorf("want attributes %v blocks %v, got %v %v", tc.wantAttrs, tc.wantBlock, attrs, blocks)
			}
		})
	}
}

func TestConfigGivenToPluginWithoutSchema(t *testing.T) {
	t.Parallel()
	err := sdktest.New(t, &mockHub{}).Configure(t, json.RawMessage(`{"dir": "/x"}`))
	if err == nil || !strings.Contains(err.Error(), "takes no configuration") {
		t.Errorf("want \"takes no configuration\", got %v", err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pingErr   error
		noPinger  bool
		want      error
		wantCalls int32
	}{
		"pinger answers":         {wantCalls: 1},
		"pinger fails":           {pingErr: fmt.Errorf("%w: database down", sdk.ErrUnavailable), want: sdk.ErrUnavailable, wantCalls: 1},
		"no pinger means alive":  {noPinger: true},
		"pinger not configured":  {pingErr: sdk.ErrNotConfigured, want: sdk.ErrNotConfigured, wantCalls: 1},
		"pinger with plain fail": {pingErr: errors.New("boom"), want: nil, wantCalls: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			var impl sdk.Plugin = &mockHub{}
			if !tc.noPinger {
				impl = &pingingHub{mockHub: &mockHub{}, PingF: func(context.Context) error {
					calls.Add(1)
					return tc.pingErr
				}}
			}
			err := sdktest.New(t, impl).Client.Ping(context.Background())
			switch {
			case tc.pingErr == nil && err != nil:
				t.Errorf("want no error, got %v", err)
			case tc.pingErr != nil && err == nil:
				t.Errorf("want an error, got nil")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("want errors.Is(err, %v), got %v", tc.want, err)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("Ping calls: want %d, got %d", tc.wantCalls, got)
			}
		})
	}
}

func TestHandleSignal(t *testing.T) {
	t.Parallel()
	sent := sdk.Signal{From: "hub/hub-mock", To: "transport/webrtc", Type: "offer", Payload: binary, PeerNodeID: "dpc-node-peer"}
	tests := map[string]struct {
		handler func(got *sdk.Signal) func(context.Context, sdk.Signal) error
		want    error
	}{
		"handled": {handler: func(got *sdk.Signal) func(context.Context, sdk.Signal) error {
			return func(_ context.Context, s sdk.Signal) error { *got = s; return nil }
		}},
		"handler refuses": {
			handler: func(got *sdk.Signal) func(context.Context, sdk.Signal) error {
				return func(_ context.Context, s sdk.Signal) error {
					*got = s
					return fmt.Errorf("%w: no such session", sdk.ErrNotFound)
				}
			},
			want: sdk.ErrNotFound,
		},
		"no handler": {want: sdk.ErrUnsupported},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got sdk.Signal
			var impl sdk.Plugin = &mockHub{}
			if tc.handler != nil {
				impl = &signalHub{mockHub: &mockHub{}, HandleSignalF: tc.handler(&got)}
			}
			err := sdktest.New(t, impl).Client.HandleSignal(context.Background(), sent)
			if tc.want == nil && err != nil {
				t.Fatalf("want no error, got %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("want errors.Is(err, %v), got %v", tc.want, err)
			}
			if tc.handler == nil {
				return
			}
			if got.From != sent.From || got.To != sent.To || got.Type != sent.Type ||
				!bytes.Equal(got.Payload, sent.Payload) || got.PeerNodeID != sent.PeerNodeID {
				t.Errorf("want the handler to get %+v, got %+v", sent, got)
			}
		})
	}
}

func TestShutdownError(t *testing.T) {
	t.Parallel()
	h := sdktest.New(t, &mockHub{ShutdownF: func(context.Context) error {
		return fmt.Errorf("%w: flushing", sdk.ErrUnavailable)
	}})
	if err := h.Plugin().Shutdown(context.Background()); !errors.Is(err, sdk.ErrUnavailable) {
		t.Errorf("want sdk.ErrUnavailable, got %v", err)
	}
}

func TestInfoOverTheWire(t *testing.T) {
	t.Parallel()
	h := sdktest.New(t, &memBackup{})
	got := h.Client.Info
	if got.Name != "backup-mem" || got.Version != "0.1.0" || got.Description != "in-memory backup for tests" ||
		got.Kind != sdk.KindBackup || !slices.Equal(got.APIVersions, []int{sdk.APIVersion}) || got.SDKVersion != sdk.SDKVersion {
		t.Errorf("want the plugin's info with kind, API versions and SDK version filled in, got %+v", got)
	}
	if h.Client.Backup == nil || h.Client.Impl() != h.Client.Backup {
		t.Errorf("want the Backup client bound, got %+v", h.Client)
	}
}
