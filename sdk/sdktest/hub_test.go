package sdktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// binary is a payload with bytes that text encodings mangle.
var binary = []byte{0x00, 0xff, 0x10, 0x00, '{', 0xc3, 0x28, '\n'}

// sameTime compares times at the wire's millisecond precision.
func sameTime(want, got time.Time) bool {
	if want.IsZero() || got.IsZero() {
		return want.IsZero() == got.IsZero()
	}
	return want.Truncate(time.Millisecond).Equal(got)
}

func newHub(t *testing.T, m *mockHub) sdk.Hub {
	t.Helper()
	h := sdktest.New(t, m)
	if err := h.Configure(t, nil); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.Hub
}

func TestHubWire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	when := time.Date(2026, 11, 22, 10, 30, 15, 123456789, time.UTC)

	tests := map[string]struct {
		mock  *mockHub
		check func(t *testing.T, hub sdk.Hub)
	}{
		"login carries node id and expiry": {
			mock: &mockHub{LoginF: func(context.Context) (sdk.LoginResult, error) {
				return sdk.LoginResult{NodeID: sdktest.TestNodeID, Expires: when}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.Login(ctx)
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				if got.NodeID != sdktest.TestNodeID || !sameTime(when, got.Expires) {
					t.Errorf("want %s expiring %v, got %s expiring %v", sdktest.TestNodeID, when, got.NodeID, got.Expires)
				}
			},
		},
		"login zero expiry stays zero": {
			mock: &mockHub{LoginF: func(context.Context) (sdk.LoginResult, error) {
				return sdk.LoginResult{NodeID: "n"}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.Login(ctx)
				if err != nil || !got.Expires.IsZero() {
					t.Errorf("want a zero expiry, got %v (err %v)", got.Expires, err)
				}
			},
		},
		"login carries the session to the host": {
			mock: &mockHub{LoginF: func(context.Context) (sdk.LoginResult, error) {
				return sdk.LoginResult{NodeID: "n", Session: sdk.HubSession{Data: binary, Expires: when}}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.Login(ctx)
				if err != nil || !bytes.Equal(got.Session.Data, binary) || !sameTime(when, got.Session.Expires) {
					t.Errorf("want session %x expiring %v, got %+v (err %v)", binary, when, got.Session, err)
				}
			},
		},
		"resume hands the session to the plugin": {
			mock: &mockHub{ResumeF: func(_ context.Context, req sdk.ResumeRequest) (sdk.LoginResult, error) {
				if !bytes.Equal(req.Session.Data, binary) || !sameTime(when, req.Session.Expires) {
					return sdk.LoginResult{}, fmt.Errorf("%w: session %+v", sdk.ErrInvalidArgument, req.Session)
				}
				return sdk.LoginResult{NodeID: "n", Session: sdk.HubSession{Data: []byte("next")}}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.Resume(ctx, sdk.ResumeRequest{Session: sdk.HubSession{Data: binary, Expires: when}})
				if err != nil || string(got.Session.Data) != "next" {
					t.Errorf("want the next session, got %+v (err %v)", got, err)
				}
			},
		},
		"resume refused keeps the sentinel": {
			mock: &mockHub{ResumeF: func(context.Context, sdk.ResumeRequest) (sdk.LoginResult, error) {
				return sdk.LoginResult{}, fmt.Errorf("%w: the hub refused the session", sdk.ErrPermissionDenied)
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				if _, err := hub.Resume(ctx, sdk.ResumeRequest{}); !errors.Is(err, sdk.ErrPermissionDenied) {
					t.Errorf("want ErrPermissionDenied, got %v", err)
				}
			},
		},
		"logout": {
			mock: &mockHub{LogoutF: func(context.Context) error { return nil }},
			check: func(t *testing.T, hub sdk.Hub) {
				if err := hub.Logout(ctx); err != nil {
					t.Errorf("want no error, got %v", err)
				}
			},
		},
		"publish presence carries bytes": {
			mock: &mockHub{PublishPresenceF: func(_ context.Context, p sdk.PublishPresenceRequest) error {
				want := sdk.PublishPresenceRequest{Status: "away", URIs: []string{"dpc://a:1", "dpc://[::1]:2"}, ProfileJSON: binary}
				if p.Status != want.Status || !slices.Equal(p.URIs, want.URIs) || !bytes.Equal(p.ProfileJSON, want.ProfileJSON) {
					return fmt.Errorf("%w: want %+v, got %+v", sdk.ErrInvalidArgument, want, p)
				}
				return nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				err := hub.PublishPresence(ctx, sdk.PublishPresenceRequest{Status: "away", URIs: []string{"dpc://a:1", "dpc://[::1]:2"}, ProfileJSON: binary})
				if err != nil {
					t.Errorf("want the plugin to see the presence intact, got %v", err)
				}
			},
		},
		"lookup peer": {
			mock: &mockHub{LookupPeerF: func(_ context.Context, req sdk.LookupPeerRequest) (sdk.LookupPeerResult, error) {
				return sdk.LookupPeerResult{Peer: sdk.PeerRecord{NodeID: req.NodeID, Online: true, URIs: []string{"dpc://x:1"}, ProfileJSON: binary,
					LastSeen: when, CertificatePEM: "-----BEGIN CERTIFICATE-----"}}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				res, err := hub.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: "dpc-node-abc"})
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				got := res.Peer
				if got.NodeID != "dpc-node-abc" || !got.Online || !slices.Equal(got.URIs, []string{"dpc://x:1"}) ||
					!bytes.Equal(got.ProfileJSON, binary) || !sameTime(when, got.LastSeen) ||
					got.CertificatePEM != "-----BEGIN CERTIFICATE-----" {
					t.Errorf("want the record as sent, got %+v", got)
				}
			},
		},
		"lookup of a missing peer is ErrNotFound": {
			mock: &mockHub{LookupPeerF: func(_ context.Context, req sdk.LookupPeerRequest) (sdk.LookupPeerResult, error) {
				return sdk.LookupPeerResult{}, fmt.Errorf("%w: peer %s", sdk.ErrNotFound, req.NodeID)
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				_, err := hub.LookupPeer(ctx, sdk.LookupPeerRequest{NodeID: "dpc-node-gone"})
				if !errors.Is(err, sdk.ErrNotFound) || !strings.Contains(err.Error(), "dpc-node-gone") {
					t.Errorf("want sdk.ErrNotFound naming the peer, got %v", err)
				}
			},
		},
		"search peers passes query and limit": {
			mock: &mockHub{SearchPeersF: func(_ context.Context, req sdk.SearchPeersRequest) (sdk.SearchPeersResult, error) {
				var out sdk.SearchPeersResult
				for i := range req.Limit {
					out.Peers = append(out.Peers, sdk.PeerRecord{NodeID: fmt.Sprintf("%s-%d", req.Query, i)})
				}
				return out, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.SearchPeers(ctx, sdk.SearchPeersRequest{Query: "alice", Limit: 3})
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				var ids []string
				for _, p := range got.Peers {
					ids = append(ids, p.NodeID)
					if !p.LastSeen.IsZero() {
						t.Errorf("want a zero LastSeen for %s, got %v", p.NodeID, p.LastSeen)
					}
				}
				if want := []string{"alice-0", "alice-1", "alice-2"}; !slices.Equal(ids, want) {
					t.Errorf("want %v, got %v", want, ids)
				}
			},
		},
		"send signal carries bytes": {
			mock: &mockHub{SendSignalF: func(_ context.Context, s sdk.SendSignalRequest) error {
				if s.TargetNodeID != "dpc-node-b" || s.Type != "webrtc-offer" || !bytes.Equal(s.Payload, binary) {
					return fmt.Errorf("%w: got %+v", sdk.ErrInvalidArgument, s)
				}
				return nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				err := hub.SendSignal(ctx, sdk.SendSignalRequest{TargetNodeID: "dpc-node-b", Type: "webrtc-offer", Payload: binary})
				if err != nil {
					t.Errorf("want the plugin to see the signal intact, got %v", err)
				}
			},
		},
		"ice servers": {
			mock: &mockHub{IceServersF: func(context.Context) ([]sdk.IceServer, error) {
				return []sdk.IceServer{
					{URLs: []string{"stun:stun.example.org:3478"}},
					{URLs: []string{"turn:t.example.org", "turns:t.example.org:443"}, Username: "u", Credential: "c", Expires: when},
				}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.IceServers(ctx)
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				if len(got) != 2 || !slices.Equal(got[0].URLs, []string{"stun:stun.example.org:3478"}) || !got[0].Expires.IsZero() ||
					len(got[1].URLs) != 2 || got[1].Username != "u" || got[1].Credential != "c" || !sameTime(when, got[1].Expires) {
					t.Errorf("want the two servers as sent, got %+v", got)
				}
			},
		},
		"mailbox put: bytes and ttl in whole seconds": {
			mock: &mockHub{MailboxPutF: func(_ context.Context, m sdk.MailboxPutRequest) (sdk.MailboxPutResult, error) {
				if m.RecipientNodeID != "dpc-node-c" || !bytes.Equal(m.Envelope, binary) || m.TTL != 90*time.Second {
					return sdk.MailboxPutResult{}, fmt.Errorf("%w: got %+v", sdk.ErrInvalidArgument, m)
				}
				return sdk.MailboxPutResult{EnvelopeID: "env-1"}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				res, err := hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: "dpc-node-c", Envelope: binary, TTL: 90*time.Second + 400*time.Millisecond})
				if err != nil || res.EnvelopeID != "env-1" {
					t.Errorf("want id env-1, got %q (err %v)", res.EnvelopeID, err)
				}
			},
		},
		"mailbox fetch": {
			mock: &mockHub{MailboxFetchF: func(_ context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
				if req.Limit != 2 {
					return sdk.MailboxFetchResult{}, fmt.Errorf("%w: limit %d", sdk.ErrInvalidArgument, req.Limit)
				}
				return sdk.MailboxFetchResult{Envelopes: []sdk.MailboxEnvelope{{ID: "e1", Envelope: binary, Received: when}, {ID: "e2", Envelope: []byte{}}}}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				res, err := hub.MailboxFetch(ctx, sdk.MailboxFetchRequest{Limit: 2})
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				got := res.Envelopes
				if len(got) != 2 || got[0].ID != "e1" || !bytes.Equal(got[0].Envelope, binary) || !sameTime(when, got[0].Received) ||
					got[1].ID != "e2" || len(got[1].Envelope) != 0 || !got[1].Received.IsZero() {
					t.Errorf("want the two envelopes as sent, got %+v", got)
				}
			},
		},
		"mailbox fetch of an empty mailbox": {
			mock: &mockHub{MailboxFetchF: func(context.Context, sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
				return sdk.MailboxFetchResult{}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.MailboxFetch(ctx, sdk.MailboxFetchRequest{Limit: 10})
				if err != nil || len(got.Envelopes) != 0 {
					t.Errorf("want no envelopes, got %+v (err %v)", got, err)
				}
			},
		},
		"mailbox ack": {
			mock: &mockHub{MailboxAckF: func(_ context.Context, req sdk.MailboxAckRequest) error {
				if !slices.Equal(req.EnvelopeIDs, []string{"e1", "e2"}) {
					return fmt.Errorf("%w: ids %v", sdk.ErrInvalidArgument, req.EnvelopeIDs)
				}
				return nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				if err := hub.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: []string{"e1", "e2"}}); err != nil {
					t.Errorf("want no error, got %v", err)
				}
			},
		},
		"accounts cross intact": {
			mock: &mockHub{AccountsF: func(context.Context) (sdk.AccountsResult, error) {
				return sdk.AccountsResult{Required: true,
					Providers: []sdk.AccountProvider{{Name: "corp", DisplayName: "Corp SSO", Kind: "oidc"}},
					Accounts:  []sdk.Account{{Provider: "corp", Subject: "u-1", Email: "a@example.org", Name: "Alice", LinkedAt: when}}}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.Accounts(ctx)
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				if !got.Required || len(got.Providers) != 1 || got.Providers[0] != (sdk.AccountProvider{Name: "corp", DisplayName: "Corp SSO", Kind: "oidc"}) ||
					len(got.Accounts) != 1 || got.Accounts[0].Subject != "u-1" || got.Accounts[0].Email != "a@example.org" ||
					got.Accounts[0].Name != "Alice" || !sameTime(when, got.Accounts[0].LinkedAt) {
					t.Errorf("want the accounts as sent, got %+v", got)
				}
			},
		},
		"link account: provider in, url and expiry out": {
			mock: &mockHub{LinkAccountF: func(_ context.Context, req sdk.LinkAccountRequest) (sdk.LinkAccountResult, error) {
				if req.Provider != "github" {
					return sdk.LinkAccountResult{}, fmt.Errorf("%w: provider %q", sdk.ErrNotFound, req.Provider)
				}
				return sdk.LinkAccountResult{URL: "https://hub.example/oauth/github/start?ticket=T", Expires: when}, nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				got, err := hub.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "github"})
				if err != nil || got.URL != "https://hub.example/oauth/github/start?ticket=T" || !sameTime(when, got.Expires) {
					t.Errorf("want the link as sent, got %+v (err %v)", got, err)
				}
				if _, err := hub.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "nope"}); !errors.Is(err, sdk.ErrNotFound) {
					t.Errorf("unknown provider: want sdk.ErrNotFound, got %v", err)
				}
			},
		},
		"unlink account": {
			mock: &mockHub{UnlinkAccountF: func(_ context.Context, req sdk.UnlinkAccountRequest) error {
				if req.Provider != "corp" {
					return fmt.Errorf("%w: provider %q", sdk.ErrNotFound, req.Provider)
				}
				return nil
			}},
			check: func(t *testing.T, hub sdk.Hub) {
				if err := hub.UnlinkAccount(ctx, sdk.UnlinkAccountRequest{Provider: "corp"}); err != nil {
					t.Errorf("want no error, got %v", err)
				}
			},
		},
		"a hub without accounts is ErrUnsupported": {
			mock: &mockHub{},
			check: func(t *testing.T, hub sdk.Hub) {
				if _, err := hub.Accounts(ctx); !errors.Is(err, sdk.ErrUnsupported) {
					t.Errorf("Accounts: want sdk.ErrUnsupported, got %v", err)
				}
				if _, err := hub.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: "x"}); !errors.Is(err, sdk.ErrUnsupported) {
					t.Errorf("LinkAccount: want sdk.ErrUnsupported, got %v", err)
				}
				if err := hub.UnlinkAccount(ctx, sdk.UnlinkAccountRequest{Provider: "x"}); !errors.Is(err, sdk.ErrUnsupported) {
					t.Errorf("UnlinkAccount: want sdk.ErrUnsupported, got %v", err)
				}
			},
		},
		"a method the plugin leaves out is ErrUnsupported": {
			mock: &mockHub{},
			check: func(t *testing.T, hub sdk.Hub) {
				if _, err := hub.IceServers(ctx); !errors.Is(err, sdk.ErrUnsupported) {
					t.Errorf("want sdk.ErrUnsupported, got %v", err)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, newHub(t, tc.mock))
		})
	}
}

func TestHubSignalsStream(t *testing.T) {
	t.Parallel()
	want := []sdk.IncomingSignal{
		{SenderNodeID: "dpc-node-a", Type: "offer", Payload: binary},
		{SenderNodeID: "dpc-node-b", Type: "answer", Payload: []byte("{}")},
		{SenderNodeID: "dpc-node-c", Type: "candidate"},
	}
	errStop := errors.New("stop")

	tests := map[string]struct {
		// stopAfter is how many signals the host's callback takes before it
		// returns errStop; 0 means it never stops.
		stopAfter int
		// pluginEnds makes the plugin return after sending, rather than
		// waiting for the host to go away.
		pluginEnds bool
		wantErr    error
		wantCount  int
	}{
		"plugin ends the stream": {pluginEnds: true, wantCount: 3},
		"host stops after two":   {stopAfter: 2, wantErr: errStop, wantCount: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pluginDone := make(chan error, 1)
			hub := newHub(t, &mockHub{SignalsF: func(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
				for _, s := range want {
					if err := fn(s); err != nil {
						pluginDone <- err
						return err
					}
				}
				if tc.pluginEnds {
					pluginDone <- nil
					return nil
				}
				<-ctx.Done()
				pluginDone <- ctx.Err()
				return ctx.Err()
			}})
			var got []sdk.IncomingSignal
			err := hub.Signals(context.Background(), func(s sdk.IncomingSignal) error {
				got = append(got, s)
				if len(got) == tc.stopAfter {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("want error %v, got %v", tc.wantErr, err)
			}
			if len(got) != tc.wantCount {
				t.Fatalf("want %d signals, got %d: %+v", tc.wantCount, len(got), got)
			}
			for i, s := range got {
				if s.SenderNodeID != want[i].SenderNodeID || s.Type != want[i].Type || !bytes.Equal(s.Payload, want[i].Payload) {
					t.Errorf("signal %d: want %+v, got %+v", i, want[i], s)
				}
			}
			select {
			case <-pluginDone:
			case <-time.After(time.Minute):
				t.Errorf("want the plugin's Signals to end once the host stops listening, still running after a minute")
			}
		})
	}
}

func TestHubSignalsCancelledByContext(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	hub := newHub(t, &mockHub{SignalsF: func(ctx context.Context, fn func(sdk.IncomingSignal) error) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	err := hub.Signals(ctx, func(sdk.IncomingSignal) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
}

func TestErrorsCrossTheWire(t *testing.T) {
	t.Parallel()
	plain := errors.New("some backend hiccup")
	tests := map[string]struct {
		pluginErr error
		want      error
	}{
		"not found":         {pluginErr: fmt.Errorf("%w: x", sdk.ErrNotFound), want: sdk.ErrNotFound},
		"not configured":    {pluginErr: sdk.ErrNotConfigured, want: sdk.ErrNotConfigured},
		"unsupported":       {pluginErr: fmt.Errorf("%w: x", sdk.ErrUnsupported), want: sdk.ErrUnsupported},
		"permission denied": {pluginErr: fmt.Errorf("%w: x", sdk.ErrPermissionDenied), want: sdk.ErrPermissionDenied},
		"invalid argument":  {pluginErr: fmt.Errorf("%w: x", sdk.ErrInvalidArgument), want: sdk.ErrInvalidArgument},
		"unavailable":       {pluginErr: fmt.Errorf("%w: x", sdk.ErrUnavailable), want: sdk.ErrUnavailable},
		"deadline exceeded": {pluginErr: fmt.Errorf("hub: %w", context.DeadlineExceeded), want: context.DeadlineExceeded},
		"doubly wrapped":    {pluginErr: fmt.Errorf("logout: %w", fmt.Errorf("%w: x", sdk.ErrUnavailable)), want: sdk.ErrUnavailable},
		"plain error":       {pluginErr: plain, want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hub := newHub(t, &mockHub{LogoutF: func(context.Context) error { return tc.pluginErr }})
			err := hub.Logout(context.Background())
			if err == nil {
				t.Fatalf("want an error, got nil")
			}
			if err.Error() != tc.pluginErr.Error() {
				t.Errorf("want the message %q, got %q", tc.pluginErr.Error(), err.Error())
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("want errors.Is(err, %v), got %v", tc.want, err)
			}
			for _, s := range []error{sdk.ErrNotFound, sdk.ErrNotConfigured, sdk.ErrUnsupported, sdk.ErrPermissionDenied,
				sdk.ErrInvalidArgument, sdk.ErrUnavailable} {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("want err not to match %v, got a match: %v", s, err)
				}
			}
		})
	}
}
