package sdk

import "context"

// Host is the host's callback service, available to a plugin from
// ConfigureRequest.Host. It is the only way to use the node's identity.
type Host interface {
	// Sign signs data with the node key under a registered purpose (e.g.
	// PurposeHubLogin). The signed bytes are domain-separated: see
	// Signature.SignedMessage. The host refuses purposes the plugin's kind
	// may not use.
	Sign(ctx context.Context, purpose string, data []byte) (Signature, error)
	// Identity returns the node's public identity.
	Identity(ctx context.Context) (HostIdentity, error)
	// RouteSignal forwards a signal to another plugin of this host.
	RouteSignal(ctx context.Context, s Signal) error
	// EmitEvent reports something the user should see.
	EmitEvent(ctx context.Context, e Event) error
	// SaveHubSession hands the host a hub plugin's current session each time
	// it changes, and an empty one when it ends; see Hub. Other kinds are
	// refused with ErrPermissionDenied.
	SaveHubSession(ctx context.Context, s HubSession) error
	// IceServers returns the STUN/TURN servers, with short-lived
	// credentials, of the hub the node is logged in to (transports only).
	// It fails with ErrUnavailable when the node has no hub login now.
	IceServers(ctx context.Context) ([]IceServer, error)
}

// PurposeHubLogin is the signing purpose hub connectors use to answer a
// hub's login challenge.
const PurposeHubLogin = "hub-login/v1"

// Signature is a domain-separated signature by the node key.
type Signature struct {
	Signature []byte
	// Algorithm is "ed25519" or "rsa-pss-sha256".
	Algorithm string
	// SignedMessage is exactly what was signed:
	// "dpc-plugin-signature/v1" 0x00 purpose 0x00 data.
	SignedMessage []byte
}

// HostIdentity is the node's public identity.
type HostIdentity struct {
	NodeID         string
	PublicKeyPEM   string
	CertificatePEM string
	DisplayName    string
	// EnvelopePublicKey is the X25519 key for sealed envelopes, bound to the
	// node key by EnvelopeBinding.
	EnvelopePublicKey []byte
	EnvelopeBinding   []byte
}

// EventLevel says how much an event matters to the user.
type EventLevel int

// Event levels.
const (
	EventInfo EventLevel = iota + 1
	EventWarning
	EventError
)

// Event is something a plugin reports to the user through the host.
type Event struct {
	Type       string
	Level      EventLevel
	Message    string
	Attributes map[string]string
}
