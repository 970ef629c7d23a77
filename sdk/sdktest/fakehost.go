package sdktest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// FakeHost is an sdk.Host for tests: it signs with a throwaway Ed25519 key
// using the host's domain separation, and records signals, events and hub
// sessions.
type FakeHost struct {
	// AllowedPurposes lists the signing purposes it accepts.
	AllowedPurposes []string
	// OnRouteSignal, when set, is called with each signal RouteSignal has
	// recorded, and its error returned: tests wire two plugins together
	// with it (as two hosts and a hub would).
	OnRouteSignal func(sdk.Signal) error

	key      ed25519.PrivateKey
	mu       sync.Mutex
	ident    sdk.HostIdentity
	sig      []sdk.Signal
	ev       []sdk.Event
	sessions []sdk.HubSession
	ice      []sdk.IceServer
	// changed is closed (and replaced) whenever something is recorded.
	changed chan struct{}
}

// NewFakeHost returns a FakeHost that allows sdk.PurposeHubLogin.
func NewFakeHost(t testing.TB) *FakeHost {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("fake host key: %v", err)
	}
	return &FakeHost{key: key, AllowedPurposes: []string{sdk.PurposeHubLogin},
		ident: sdk.HostIdentity{NodeID: TestNodeID, DisplayName: "sdktest"}, changed: make(chan struct{})}
}

// UseKeyIdentity makes Identity (and the harness's Configure) report the
// identity of the fake host's key instead of TestNodeID: its real node_id,
// public key and a self-signed certificate, as a plugin that proves the
// node's identity to someone else (a hub login) needs. It returns it.
func (h *FakeHost) UseKeyIdentity(t testing.TB, displayName string) sdk.HostIdentity {
	t.Helper()
	pub := h.PublicKey()
	id, err := nodeid.FromPublicKey(pub)
	if err != nil {
		t.Fatalf("fake host node_id: %v", err)
	}
	pubPEM, err := nodeid.PublicKeyPEM(pub)
	if err != nil {
		t.Fatalf("fake host public key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: id},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, h.key)
	if err != nil {
		t.Fatalf("fake host certificate: %v", err)
	}
	ident := sdk.HostIdentity{NodeID: id, PublicKeyPEM: string(pubPEM), DisplayName: displayName,
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
	h.mu.Lock()
	h.ident = ident
	h.mu.Unlock()
	return ident
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

func (h *FakeHost) nodeID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ident.NodeID
}

// Identity returns a fixed test identity (TestNodeID), or the key's identity
// after UseKeyIdentity.
func (h *FakeHost) Identity(context.Context) (sdk.HostIdentity, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ident, nil
}

// notifyLocked wakes everyone waiting on Changed; h.mu is held.
func (h *FakeHost) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// Changed returns a channel that is closed the next time the fake host
// records a signal, an event or a hub session: tests wait on it instead of
// sleeping.
func (h *FakeHost) Changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

// SaveHubSession records the session.
func (h *FakeHost) SaveHubSession(_ context.Context, s sdk.HubSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sessions = append(h.sessions, sdk.HubSession{Data: slices.Clone(s.Data), Expires: s.Expires})
	h.notifyLocked()
	return nil
}

// HubSessions returns the hub sessions saved so far, oldest first.
func (h *FakeHost) HubSessions() []sdk.HubSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sessions)
}

// RouteSignal records the signal, then hands it to OnRouteSignal if set.
func (h *FakeHost) RouteSignal(_ context.Context, s sdk.Signal) error {
	h.mu.Lock()
	h.sig = append(h.sig, s)
	h.notifyLocked()
	h.mu.Unlock()
	if h.OnRouteSignal != nil {
		return h.OnRouteSignal(s)
	}
	return nil
}

// SetIceServers sets what IceServers answers.
func (h *FakeHost) SetIceServers(servers []sdk.IceServer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ice = slices.Clone(servers)
}

// IceServers answers what SetIceServers set, or sdk.ErrUnavailable (no hub
// login) before that.
func (h *FakeHost) IceServers(context.Context) ([]sdk.IceServer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ice == nil {
		return nil, fmt.Errorf("%w: the fake host has no ICE servers (SetIceServers)", sdk.ErrUnavailable)
	}
	return slices.Clone(h.ice), nil
}

// EmitEvent records the event.
func (h *FakeHost) EmitEvent(_ context.Context, e sdk.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ev = append(h.ev, e)
	h.notifyLocked()
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
