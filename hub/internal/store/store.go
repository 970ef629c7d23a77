package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Errors every Store returns for the same conditions.
var (
	// ErrNotFound is returned when a record does not exist (or has expired).
	ErrNotFound = errors.New("not found")
	// ErrExpired is returned for a nonce or refresh token past its expiry.
	ErrExpired = errors.New("expired")
	// ErrRefreshReused is returned when an already rotated refresh token is
	// presented again; the store has revoked its whole family.
	ErrRefreshReused = errors.New("refresh token reused: its family is revoked")
	// ErrRevoked is returned for a refresh token whose family was revoked.
	ErrRevoked = errors.New("revoked")
	// ErrExists is returned when a record that must be new already exists.
	ErrExists = errors.New("already exists")
	// ErrUnavailable is wrapped by the errors of a store that cannot reach
	// its database right now (a PostgreSQL server down or restarting): the
	// request may succeed if retried later.
	ErrUnavailable = errors.New("the hub's database is unreachable")
	// ErrMailboxFull is returned by PutEnvelope when the recipient's
	// mailbox would pass its quota.
	ErrMailboxFull = errors.New("mailbox full")
)

// Nonce is a login challenge the hub issued.
type Nonce struct {
	Value   string
	Expires time.Time
}

// RefreshToken is a refresh token as stored: its hash, never its value.
type RefreshToken struct {
	// Hash is SHA-256 of the token value.
	Hash []byte
	// Family groups the tokens descended from one login.
	Family string
	// NodeID is the node the family belongs to.
	NodeID string
	// Expires ends the token's validity.
	Expires time.Time
}

// Profile is what a node publishes about itself.
type Profile struct {
	NodeID      string         `json:"node_id"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Expertise   map[string]int `json:"expertise,omitempty"`
	Compute     *Compute       `json:"compute,omitempty"`
	URIs        []string       `json:"uris,omitempty"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// Compute is a node's offer to run inference for others.
type Compute struct {
	Available bool     `json:"available"`
	Models    []string `json:"models,omitempty"`
}

// Node is what the hub records about a node that logged in.
type Node struct {
	NodeID         string    `json:"node_id"`
	CertificatePEM string    `json:"certificate_pem"`
	LastSeen       time.Time `json:"last_seen"`
}

// Query selects profiles: Text matches an expertise key (at level MinLevel
// or above) or appears in the name, case-insensitively.
type Query struct {
	Text     string
	MinLevel int
	Limit    int
}

// OAuthState is a single-use record of the account-linking flow, stored
// under the SHA-256 of its bearer value (never the value): a link ticket
// (Kind "ticket", from POST /oauth/link) or a flow state (Kind "state", the
// OAuth state parameter of one authorization request).
type OAuthState struct {
	// Kind is "ticket" or "state"; a record is taken by kind and hash.
	Kind string
	// Hash is SHA-256 of the ticket or state value.
	Hash []byte
	// NodeID is the node the account will be linked to.
	NodeID string
	// Provider is the name of the provider in the hub's OAuth config.
	Provider string
	// Verifier is the PKCE code verifier (states only), sealed by the
	// caller with a key only the user's browser holds: opaque to the store.
	Verifier string
	// NonceHash is SHA-256 of the OIDC nonce (states only).
	NonceHash []byte
	// BrowserHash is SHA-256 of the browser-binding cookie (states only).
	BrowserHash []byte
	// Expires ends the record's validity.
	Expires time.Time
}

// Account is an identity-provider account linked to a node. One account
// (Provider, Subject) may be linked to several nodes (of the same person),
// and a node may have accounts of several providers.
type Account struct {
	Provider string    `json:"provider"`
	Subject  string    `json:"subject"`
	NodeID   string    `json:"node_id"`
	Email    string    `json:"email,omitempty"`
	Name     string    `json:"name,omitempty"`
	LinkedAt time.Time `json:"linked_at"`
}

// Envelope is a sealed envelope waiting in a node's mailbox: bytes the hub
// cannot read, for Recipient. It has no sender field on purpose: the hub
// never records who sent an envelope (DESIGN §10).
type Envelope struct {
	// ID is the hub's opaque id of the envelope, unique per recipient.
	ID        string
	Recipient string
	Data      []byte
	Received  time.Time
	// Expires ends the envelope's life: it is neither fetched nor counted
	// from then on, and cleanup removes it.
	Expires time.Time
}

// MailboxQuota bounds one recipient's mailbox; a zero field is no bound.
type MailboxQuota struct {
	Envelopes int
	Bytes     int64
}

// Store is the hub's persistent state. Implementations are safe for
// concurrent use; every method that changes two records does it atomically.
type Store interface {
	// PutNonce stores a new nonce; ErrExists if it is already there.
	PutNonce(ctx context.Context, n Nonce) error
	// TakeNonce removes the nonce and returns it: a nonce is usable once.
	// ErrNotFound if unknown or already taken, ErrExpired if past expiry
	// (and removed all the same).
	TakeNonce(ctx context.Context, value string, now time.Time) (Nonce, error)

	// PutRefresh stores the first token of a new family.
	PutRefresh(ctx context.Context, t RefreshToken) error
	// RotateRefresh atomically marks the token with hash oldHash used and
	// stores next in its family, returning the old record. A token that was
	// already used revokes its whole family (until familyRevokeUntil) and
	// returns ErrRefreshReused; a revoked family returns ErrRevoked; an
	// expired token ErrExpired; an unknown one ErrNotFound.
	RotateRefresh(ctx context.Context, oldHash []byte, next RefreshToken, now, familyRevokeUntil time.Time) (RefreshToken, error)
	// RevokeFamily revokes every token of a family until the given time
	// (after which they have all expired anyway).
	RevokeFamily(ctx context.Context, family string, until time.Time) error
	// FamilyRevoked reports whether a family is revoked.
	FamilyRevoked(ctx context.Context, family string, now time.Time) (bool, error)

	// PutNode records a node that logged in (certificate, last seen).
	PutNode(ctx context.Context, n Node) error
	// GetNode returns a node record or ErrNotFound.
	GetNode(ctx context.Context, nodeID string) (Node, error)
	// TouchNodes sets known nodes' last-seen times in one batch; unknown
	// nodes are ignored.
	TouchNodes(ctx context.Context, seen map[string]time.Time) error

	// PutProfile creates or replaces a node's profile.
	PutProfile(ctx context.Context, p Profile) error
	// GetProfile returns a profile or ErrNotFound.
	GetProfile(ctx context.Context, nodeID string) (Profile, error)
	// DeleteProfile removes a profile; ErrNotFound if there is none.
	DeleteProfile(ctx context.Context, nodeID string) error
	// SearchProfiles returns at most q.Limit matching profiles ordered by node_id.
	SearchProfiles(ctx context.Context, q Query) ([]Profile, error)

	// PutOAuthState stores a new single-use record; ErrExists if one of
	// the same Kind and Hash is already there.
	PutOAuthState(ctx context.Context, st OAuthState) error
	// TakeOAuthState removes the record of that kind and hash and returns
	// it: it is usable once. ErrNotFound if unknown or already taken,
	// ErrExpired if now is not before its Expires (removed all the same).
	TakeOAuthState(ctx context.Context, kind string, hash []byte, now time.Time) (OAuthState, error)

	// LinkAccount links the account (a.Provider, a.Subject) to a.NodeID.
	// Linking the same account to the same node again replaces the record
	// (Email, Name, LinkedAt are updated); other links are untouched.
	LinkAccount(ctx context.Context, a Account) error
	// ListAccounts returns the accounts linked to a node, ordered by
	// provider then subject; an empty (nil) slice when there are none.
	ListAccounts(ctx context.Context, nodeID string) ([]Account, error)
	// UnlinkAccounts removes every account of that provider from the node
	// (other nodes keep theirs); ErrNotFound if the node had none.
	UnlinkAccounts(ctx context.Context, nodeID, provider string) error

	// PutEnvelope stores e, unless the recipient's mailbox (its envelopes
	// not expired at e.Received) would then hold more envelopes or bytes
	// than q allows: ErrMailboxFull. Concurrent puts for one recipient
	// never pass the quota together. ErrExists if the recipient already
	// has an envelope with e.ID.
	PutEnvelope(ctx context.Context, e Envelope, q MailboxQuota) error
	// FetchEnvelopes returns at most limit envelopes of recipient not
	// expired at now, oldest first (by Received, then ID); it removes
	// nothing (AckEnvelopes does).
	FetchEnvelopes(ctx context.Context, recipient string, now time.Time, limit int) ([]Envelope, error)
	// AckEnvelopes deletes the envelopes of recipient with those ids and
	// returns how many it deleted; unknown ids, and ids of other
	// recipients' envelopes, are ignored.
	AckEnvelopes(ctx context.Context, recipient string, ids []string) (int, error)
	// CountEnvelopes returns how many envelopes, of every recipient, are
	// held and not expired at now (for /metrics).
	CountEnvelopes(ctx context.Context, now time.Time) (int, error)

	// Ping reports whether the store is usable (for /health).
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Matches reports whether p matches the lower-cased query text at minLevel:
// text is one of its expertise keys at minLevel or above, or appears in its
// name (case-insensitively). Every Store uses it, so searches agree.
func Matches(p Profile, text string, minLevel int) bool {
	if text == "" {
		return true
	}
	if lvl, ok := p.Expertise[text]; ok && lvl >= minLevel {
		return true
	}
	return strings.Contains(strings.ToLower(p.Name), text)
}
