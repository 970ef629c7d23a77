package sdk

import (
	"context"
	"time"
)

// Hub talks to a federation hub: discovery, presence, signaling, ICE/TURN
// credentials and a mailbox of sealed envelopes. A hub connector never holds
// the node key: Login asks the host to sign the hub's challenge with
// Host.Sign(ctx, PurposeHubLogin, challenge).
type Hub interface {
	Plugin
	Login(ctx context.Context) (LoginResult, error)
	Logout(ctx context.Context) error
	PublishPresence(ctx context.Context, p Presence) error
	LookupPeer(ctx context.Context, nodeID string) (PeerRecord, error)
	SearchPeers(ctx context.Context, query string, limit int) ([]PeerRecord, error)
	SendSignal(ctx context.Context, s OutgoingSignal) error
	// Signals delivers incoming signals to fn until ctx ends or fn fails.
	Signals(ctx context.Context, fn func(IncomingSignal) error) error
	IceServers(ctx context.Context) ([]IceServer, error)
	MailboxPut(ctx context.Context, m MailboxPut) (envelopeID string, err error)
	MailboxFetch(ctx context.Context, limit int) ([]MailboxEnvelope, error)
	MailboxAck(ctx context.Context, envelopeIDs []string) error
}

// LoginResult is the outcome of a hub login.
type LoginResult struct {
	NodeID  string
	Expires time.Time
}

// Presence is what this node publishes about itself.
type Presence struct {
	// Status is "online", "away" or "offline".
	Status      string
	URIs        []string
	ProfileJSON []byte
}

// PeerRecord is what a hub knows of a peer. It is a hint, not a proof:
// peers always verify each other end to end.
type PeerRecord struct {
	NodeID         string
	Online         bool
	URIs           []string
	ProfileJSON    []byte
	LastSeen       time.Time
	CertificatePEM string
}

// OutgoingSignal is a signaling message to relay to a peer.
type OutgoingSignal struct {
	TargetNodeID string
	Type         string
	Payload      []byte
}

// IncomingSignal is a signaling message relayed by the hub. SenderNodeID is
// the hub's claim, not a proof.
type IncomingSignal struct {
	SenderNodeID string
	Type         string
	Payload      []byte
}

// IceServer is a STUN/TURN server with optional credentials.
type IceServer struct {
	URLs       []string
	Username   string
	Credential string
	Expires    time.Time
}

// MailboxPut stores a sealed envelope for an offline recipient.
type MailboxPut struct {
	RecipientNodeID string
	Envelope        []byte
	TTL             time.Duration
}

// MailboxEnvelope is a sealed envelope waiting in this node's mailbox.
type MailboxEnvelope struct {
	ID       string
	Envelope []byte
	Received time.Time
}
