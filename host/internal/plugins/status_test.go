package plugins

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/config"
	"github.com/dpc-go/dpc/sdk"
)

// TestGrantsSayWhatTheHostServiceAllows: what the user is shown a plugin
// may do is exactly what the host service lets a plugin of its kind do.
func TestGrantsSayWhatTheHostServiceAllows(t *testing.T) {
	t.Parallel()
	for _, kind := range []sdk.Kind{sdk.KindTransport, sdk.KindHub, sdk.KindLLM, sdk.KindBackup} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			m := NewManager(ManagerOptions{HubSessions: &fakeKeeper{}, Hub: &fakeRelay{}, Signer: edSigner{key}})
			h := &hostService{m: m, self: string(kind) + "/x", kind: kind, log: hclog.NewNullLogger()}
			ctx := context.Background()
			g := Grants(kind)
			checks := map[string]error{
				GrantHubRelay:                         h.RouteSignal(ctx, sdk.Signal{To: sdk.SignalViaHub, PeerNodeID: "dpc-node-0123456789abcdef0123456789abcdef"}),
				GrantHubSession:                       h.SaveHubSession(ctx, sdk.HubSession{Data: []byte("s")}),
				GrantSignPrefix + sdk.PurposeHubLogin: signErr(h, ctx),
			}
			for grant, err := range checks {
				denied := errors.Is(err, sdk.ErrPermissionDenied)
				if shown := slices.Contains(g, grant); shown == denied {
					t.Errorf("%s: shown as allowed=%v, but the host service answered %v", grant, shown, err)
				}
			}
			for _, base := range []string{"identity", "events", "signals"} {
				if !slices.Contains(g, base) {
					t.Errorf("want %q among %v: every plugin may", base, g)
				}
			}
		})
	}
}

func signErr(h *hostService, ctx context.Context) error {
	_, err := h.Sign(ctx, sdk.PurposeHubLogin, []byte("challenge"))
	return err
}

// TestManagerReportsStatusChangesWithPinAndGrants: every state change
// reaches OnStatus with the pinned digest and what the plugin may do, and
// a running plugin's report already carries its pid.
func TestManagerReportsStatusChangesWithPinAndGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sum, _, err := Fingerprint(ctx, fixtureBin, t.TempDir(), hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan Status, 16)
	m := NewManager(ManagerOptions{DataDir: t.TempDir(), ExecDir: t.TempDir(), OnStatus: func(s Status) { seen <- s }})
	spec := Spec{Config: config.Plugin{Kind: string(sdk.KindBackup), Name: "fixture", Enabled: true}, Binary: fixtureBin, SHA256: sum}
	if err := m.Start(ctx, []Spec{spec}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(context.Background()) })
	deadline := time.After(30 * time.Second)
	var states []State
	for {
		select {
		case s := <-seen:
			states = append(states, s.State)
			if s.SHA256 != sum || !slices.Equal(s.Allowed, Grants(sdk.KindBackup)) {
				t.Fatalf("status %s: want sha256 %s and grants %v, got %q and %v", s.State, sum, Grants(sdk.KindBackup), s.SHA256, s.Allowed)
			}
			if s.State == StateRunning {
				if s.PID == 0 || s.Version != "1.0.0" {
					t.Errorf("running: want its pid and version in the report, got pid %d version %q", s.PID, s.Version)
				}
				if got := m.Status(); len(got) != 1 || got[0].SHA256 != sum {
					t.Errorf("Status(): want the pin, got %+v", got)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no running status reported; saw %v", states)
		}
	}
}
