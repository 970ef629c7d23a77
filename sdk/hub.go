package sdk

import (
	"context"
	"time"
)

// Hub talks to a federation hub: discovery, presence, signaling, ICE/TURN
// credentials and a mailbox of sealed envelopes. A hub connector never holds
// the node key: Login asks the host to sign the hub's challenge with
// Host.Sign(ctx, PurposeHubLogin, challenge). As in every kind, a method's
// arguments come in a request struct and its answer in a result struct.
//
// Sessions: a login's state (for a hub of this project, its refresh token)
// lives in the plugin's memory, and the plugin hands a copy to the host as
// an opaque HubSession, so that a restarted plugin or host can go on
// without a new login:
//   - Login and Resume return the session in LoginResult.Session;
//   - whenever the session changes afterwards (a refresh token rotates on
//     every use), the plugin calls Host.SaveHubSession with the new one at
//     once, and with an empty one when it ends (Logout, revoked by the hub);
//   - after a restart the host passes the last session it saved to Resume.
//
// A host that keeps sessions keeps only the latest one, encrypted at rest,
// and never reads inside it; one that keeps none answers SaveHubSession
// with ErrUnsupported. A plugin keeps working when the host cannot save the
// session (SaveHubSession fails): it then needs a new Login after a restart.
type Hub interface {
	Plugin
	// Login signs in. Before the first Login or Resume (and after Logout),
	// the calls that need a login fail with ErrPermissionDenied.
	Login(ctx context.Context) (LoginResult, error)
	// Resume takes up a session a Login returned earlier (possibly in another
	// process) without signing in again. A session the hub no longer accepts
	// is an error wrapping ErrPermissionDenied, one for another hub or not
	// made by this plugin one wrapping ErrInvalidArgument: the host then
	// forgets it and calls Login.
	Resume(ctx context.Context, req ResumeRequest) (LoginResult, error)
	Logout(ctx context.Context) error
	PublishPresence(ctx context.Context, req PublishPresenceRequest) error
	// LookupPeer finds one peer; ErrNotFound if the hub does not know it.
	LookupPeer(ctx context.Context, req LookupPeerRequest) (LookupPeerResult, error)
	SearchPeers(ctx context.Context, req SearchPeersRequest) (SearchPeersResult, error)
	SendSignal(ctx context.Context, req SendSignalRequest) error
	// Signals delivers incoming signals to fn until ctx ends or fn fails.
	Signals(ctx context.Context, fn func(IncomingSignal) error) error
	IceServers(ctx context.Context) ([]IceServer, error)
	MailboxPut(ctx context.Context, req MailboxPutRequest) (MailboxPutResult, error)
	MailboxFetch(ctx context.Context, req MailboxFetchRequest) (MailboxFetchResult, error)
	MailboxAck(ctx context.Context, req MailboxAckRequest) error
	// Accounts lists the identity-provider accounts linked to this node on
	// the hub, the providers the hub offers, and whether it requires one.
	// Linking is an extra fact about the node: the node still logs in with
	// its key. A hub without accounts answers ErrUnsupported.
	Accounts(ctx context.Context) (AccountsResult, error)
	// LinkAccount starts linking an account of req.Provider to this node:
	// the result's URL, on the hub's own origin, is for the user to open in
	// a browser before Expires; the account shows up in Accounts once the
	// user signed in with the provider. A provider the hub does not offer
	// is ErrNotFound; a hub without accounts answers ErrUnsupported.
	LinkAccount(ctx context.Context, req LinkAccountRequest) (LinkAccountResult, error)
	// UnlinkAccount removes the link to req.Provider's account; ErrNotFound
	// when none is linked. A hub without accounts answers ErrUnsupported.
	UnlinkAccount(ctx context.Context, req UnlinkAccountRequest) error
}

// Events a hub plugin emits (Host.EmitEvent) so that the host can tell
// whether the node is reachable through the hub.
const (
	// EventHubConnected: the signaling stream is open; the hub shows the
	// node online.
	EventHubConnected = "hub.connected"
	// EventHubDisconnected: the signaling stream was lost; the plugin is
	// reconnecting by itself (a planned renewal, such as a new access
	// token, is not reported).
	EventHubDisconnected = "hub.disconnected"
	// EventHubSessionEnded: the hub ended the login (logged out elsewhere,
	// revoked, expired); a new Login is needed. The plugin has also saved
	// an empty session.
	EventHubSessionEnded = "hub.session_ended"
)

// LoginResult is the outcome of a hub login.
type LoginResult struct {
	NodeID string
	// Expires is when the current access ends; the plugin renews it by itself.
	Expires time.Time
	// Session is the state to resume from later; see Hub.
	Session HubSession
}

// HubSession is a hub connector's login state, opaque to the host. Data is
// a secret (it logs in as this node): keep it encrypted at rest, never log it.
type HubSession struct {
	Data []byte
	// Expires is when Data becomes useless (the refresh token's expiry);
	// zero when unknown.
	Expires time.Time
}

// ResumeRequest carries the session to take up.
type ResumeRequest struct {
	Session HubSession
}

// PublishPresenceRequest is what this node publishes about itself.
type PublishPresenceRequest struct {
	// Status is "online", "away" or "offline".
	Status      string
	URIs        []string
	ProfileJSON []byte
}

// LookupPeerRequest names the peer to look up.
type LookupPeerRequest struct {
	NodeID string
}

// LookupPeerResult is what the hub knows of the peer.
type LookupPeerResult struct {
	Peer PeerRecord
}

// SearchPeersRequest searches the hub's directory.
type SearchPeersRequest struct {
	Query string
	// Limit of 0 means the hub's default.
	Limit int
}

// SearchPeersResult lists the peers found.
type SearchPeersResult struct {
	Peers []PeerRecord
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

// SendSignalRequest is a signaling message to relay to a peer.
type SendSignalRequest struct {
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

// SignalTypeMailbox is the Type of an IncomingSignal from the hub itself,
// with no SenderNodeID and no Payload: an envelope arrived in this node's
// mailbox, and MailboxFetch gets it. The hub does not say who sent it. (A
// signal of this type that names a sender was relayed from that peer.)
const SignalTypeMailbox = "mailbox"

// IceServer is a STUN/TURN server with optional credentials.
type IceServer struct {
	URLs       []string
	Username   string
	Credential string
	Expires    time.Time
}

// MailboxPutRequest stores a sealed envelope for an offline recipient.
type MailboxPutRequest struct {
	RecipientNodeID string
	Envelope        []byte
	TTL             time.Duration
}

// MailboxPutResult names the stored envelope.
type MailboxPutResult struct {
	EnvelopeID string
}

// MailboxFetchRequest asks for waiting envelopes.
type MailboxFetchRequest struct {
	// Limit of 0 means the hub's default.
	Limit int
}

// MailboxFetchResult holds the envelopes fetched.
type MailboxFetchResult struct {
	Envelopes []MailboxEnvelope
}

// MailboxAckRequest acknowledges fetched envelopes, so the hub drops them.
type MailboxAckRequest struct {
	EnvelopeIDs []string
}

// MailboxEnvelope is a sealed envelope waiting in this node's mailbox.
type MailboxEnvelope struct {
	ID       string
	Envelope []byte
	Received time.Time
}

// AccountsResult is what the hub knows of this node's linked accounts.
type AccountsResult struct {
	// Required: the hub refuses most calls of a node with no linked account.
	Required  bool
	Providers []AccountProvider
	Accounts  []Account
}

// AccountProvider is an identity provider the hub offers for linking.
type AccountProvider struct {
	// Name is what LinkAccountRequest.Provider takes, e.g. "github".
	Name        string
	DisplayName string
	// Kind is "github", "google" or "oidc".
	Kind string
}

// Account is an identity-provider account linked to this node.
type Account struct {
	Provider string
	// Subject is the provider's stable id of the user.
	Subject  string
	Email    string
	Name     string
	LinkedAt time.Time
}

// LinkAccountRequest names the provider to link an account of.
type LinkAccountRequest struct {
	Provider string
}

// LinkAccountResult is where the user goes to link the account.
type LinkAccountResult struct {
	// URL is single-use and bound to this node: a secret until used.
	URL     string
	Expires time.Time
}

// UnlinkAccountRequest names the provider whose account to unlink.
type UnlinkAccountRequest struct {
	Provider string
}
