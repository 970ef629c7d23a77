package sdktest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/dpc-go/dpc/sdk"
)

// FakeHost is an sdk.Host for tests: it signs with a throwaway Ed25519 key
// using the host's domain separation, and records signals and events.
type FakeHost struct {
	// AllowedPurposes lists the signing purposes it accepts.
	AllowedPurposes []string

	key ed25519.PrivateKey
	mu  sync.Mutex
	sig []sdk.Signal
	ev  []sdk.Event
}

// NewFakeHost returns a FakeHost that allows sdk.PurposeHubLogin.
func NewFakeHost(t testing.TB) *FakeHost {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("fake host key: %v", err)
	}
	return &FakeHost{key: key, AllowedPurposes: []string{sdk.PurposeHubLogin}}
}

// PublicKey is the key the fake host signs with.
func (h *FakeHost) PublicKey() ed25519.PublicKey { return h.key.Public().(ed25519.PublicKey) }

// Sign signs "dpc-plugin-signature/v1" 0 purpose 0 data, like the host.
func (h *FakeHost) Sign(_ context.Context, purpose string, data []byte) (sdk.Signature, error) {
	if !slices.Contains(h.AllowedPurposes, purpose) {
		return sdk.Signature{}, fmt.Errorf("%w: signing purpose %q", sdk.ErrPermissionDenied, purpose)
	}
	msg := append([]byte("dpc-plugin-signature/v1\x00"+purpose+"\x00"), data...)
	return sdk.Signature{Signature: ed25519.Sign(h.key, msg), Algorithm: "ed25519", SignedMessage: msg}, nil
}

// Identity returns a fixed test identity.
func (h *FakeHost) Identity(context.Context) (sdk.HostIdentity, error) {
	return sdk.HostIdentity{NodeID: TestNodeID, DisplayName: "sdktest"}, nil
}

// RouteSignal records the signal.
func (h *FakeHost) RouteSignal(_ context.Context, s sdk.Signal) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sig = append(h.sig, s)
	return nil
}

// EmitEvent records the event.
func (h *FakeHost) EmitEvent(_ context.Context, e sdk.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ev = append(h.ev, e)
	return nil
}

// Signals returns the signals routed so far.
func (h *FakeHost) Signals() []sdk.Signal {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sig)
}

// Events returns the events emitted so far.
func (h *FakeHost) Events() []sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ev)
}
