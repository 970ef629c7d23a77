package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// Errors of the login and token checks; the HTTP layer maps them to statuses.
var (
	// ErrBadNonce: the nonce is unknown, already used or expired.
	ErrBadNonce = errors.New("login nonce is unknown, used or expired")
	// ErrLoginRefused: the certificate, node_id or signature does not hold.
	ErrLoginRefused = errors.New("login refused")
	// ErrInvalidToken: a token is malformed, expired, for another hub or of the wrong type.
	ErrInvalidToken = errors.New("invalid token")
	// ErrRevoked: the token's login was logged out or revoked.
	ErrRevoked = errors.New("token revoked")
	// ErrRefreshReused: a rotated refresh token came back; its family is now revoked.
	ErrRefreshReused = errors.New("refresh token was already used: every token of this login is revoked, log in again")
)

// Token lifetimes and sizes.
const (
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	DefaultNonceTTL   = 2 * time.Minute
	// MinSecretLen is the shortest HS256 secret accepted.
	MinSecretLen = 32
	// refreshPrefix marks the hub's refresh tokens, so a leaked one is recognisable.
	refreshPrefix = "dpcr_"
	// MaxTokenLen bounds any token the hub parses.
	MaxTokenLen = 4096
	accessType  = "access"
)

// Config configures an Authority.
type Config struct {
	// Audience is the hub's canonical public URL.
	Audience string
	// Secret signs access tokens (HS256).
	Secret []byte
	// AcceptSecrets are further keys whose tokens are accepted, never used
	// to sign: the previous key while a new one rolls out (or the next one,
	// before replicas switch to it), so that rotating the key logs no one out.
	AcceptSecrets [][]byte
	// UnknownKey, when set, is called when a token names a key this hub
	// does not know: the keys may have been rotated and another replica
	// already signs with the new one. It reloads the keys (SetKeys) and
	// reports whether it did; it must bound how often it reads them.
	UnknownKey func() bool
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	NonceTTL   time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Authority issues and checks nonces and tokens.
type Authority struct {
	cfg   Config
	store store.Store

	mu sync.RWMutex
	// sign is the signing key and kid its id; keys are the keys tokens are
	// accepted with, by id (sign among them).
	sign []byte
	kid  string
	keys map[string][]byte
}

// New returns an Authority over st; cfg.Audience must be canonical.
func New(cfg Config, st store.Store) (*Authority, error) {
	canon, err := hublogin.CanonicalURL(cfg.Audience)
	if err != nil {
		return nil, fmt.Errorf("hub audience: %w", err)
	}
	if canon != cfg.Audience {
		return nil, fmt.Errorf("hub audience %q is not canonical (want %q)", cfg.Audience, canon)
	}

	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.NonceTTL <= 0 {
		cfg.NonceTTL = DefaultNonceTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Authority{cfg: cfg, store: st}
	if err := a.SetKeys(cfg.Secret, cfg.AcceptSecrets); err != nil {
		return nil, err
	}
	return a, nil
}

// SetKeys replaces the signing key and the further keys tokens are
// accepted with.
func (a *Authority) SetKeys(sign []byte, accept [][]byte) error {
	keys := make(map[string][]byte)
	for i, k := range append([][]byte{sign}, accept...) {
		if len(k) < MinSecretLen {
			return fmt.Errorf("token secret %d of %d bytes: want at least %d", i, len(k), MinSecretLen)
		}
		keys[KeyID(k)] = k
	}
	a.mu.Lock()
	a.sign, a.keys, a.kid = sign, keys, KeyID(sign)
	a.mu.Unlock()
	return nil
}

// KeyID names a token key without revealing it: the first 8 bytes of a
// SHA-256 of the key, in hex. Access tokens carry it as their "kid".
func KeyID(secret []byte) string {
	h := sha256.Sum256(append([]byte("dpc-hub token key id\x00"), secret...))
	return hex.EncodeToString(h[:8])
}

// KeyID returns the id of the key this hub signs with.
func (a *Authority) KeyID() string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.kid
}

func (a *Authority) acceptedKey(kid string) ([]byte, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	k, ok := a.keys[kid]
	return k, ok
}

// signingKey returns the key and its id.
func (a *Authority) signingKey() ([]byte, string) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.sign, a.kid
}

// key finds the key a token names; a token without a kid (issued before
// kids) is checked with the signing key.
func (a *Authority) key(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok {
		sign, _ := a.signingKey()
		return sign, nil
	}
	if k, ok := a.acceptedKey(kid); ok {
		return k, nil
	}
	if a.cfg.UnknownKey != nil && a.cfg.UnknownKey() {
		if k, ok := a.acceptedKey(kid); ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("token key %q is not one of this hub's (was the key rotated on another replica, or without --token-accept-secret-file?)", kid)
}

// Audience returns the hub's canonical URL.
func (a *Authority) Audience() string { return a.cfg.Audience }

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Challenge issues and stores a fresh nonce.
func (a *Authority) Challenge(ctx context.Context) (store.Nonce, error) {
	v, err := randomToken(32)
	if err != nil {
		return store.Nonce{}, err
	}
	n := store.Nonce{Value: v, Expires: a.cfg.Now().Add(a.cfg.NonceTTL)}
	if err := a.store.PutNonce(ctx, n); err != nil {
		return store.Nonce{}, fmt.Errorf("store nonce: %w", err)
	}
	return n, nil
}

// LoginRequest is a node's answer to a challenge.
type LoginRequest struct {
	NodeID         string
	CertificatePEM []byte
	Nonce          string
	Signature      []byte
	Algorithm      string
}

// Tokens is what a login or a refresh returns.
type Tokens struct {
	NodeID         string
	AccessToken    string
	AccessExpires  time.Time
	RefreshToken   string
	RefreshExpires time.Time
}

// Login checks a login and starts a new token family. The nonce is consumed
// whatever the outcome, so a refused attempt cannot be retried with it.
func (a *Authority) Login(ctx context.Context, req LoginRequest) (Tokens, error) {
	now := a.cfg.Now()
	if _, err := a.store.TakeNonce(ctx, req.Nonce, now); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) {
			return Tokens{}, fmt.Errorf("%w: %w", ErrBadNonce, err)
		}
		return Tokens{}, fmt.Errorf("take nonce: %w", err)
	}
	if err := hublogin.Verify(req.CertificatePEM, req.NodeID, a.cfg.Audience, req.Nonce, req.Signature, req.Algorithm); err != nil {
		return Tokens{}, fmt.Errorf("%w: %w", ErrLoginRefused, err)
	}
	if err := a.store.PutNode(ctx, store.Node{NodeID: req.NodeID, CertificatePEM: string(req.CertificatePEM), LastSeen: now}); err != nil {
		return Tokens{}, fmt.Errorf("record node: %w", err)
	}
	family, err := randomToken(16)
	if err != nil {
		return Tokens{}, err
	}
	refresh, err := randomToken(32)
	if err != nil {
		return Tokens{}, err
	}
	refresh = refreshPrefix + refresh
	rexp := now.Add(a.cfg.RefreshTTL)
	if err := a.store.PutRefresh(ctx, store.RefreshToken{Hash: hashToken(refresh), Family: family, NodeID: req.NodeID, Expires: rexp}); err != nil {
		return Tokens{}, fmt.Errorf("store refresh token: %w", err)
	}
	return a.tokens(req.NodeID, family, refresh, rexp, now)
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// Refresh rotates a refresh token: the presented one is spent, a new access
// and refresh token are returned.
func (a *Authority) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	if !strings.HasPrefix(refreshToken, refreshPrefix) || len(refreshToken) > MaxTokenLen {
		return Tokens{}, fmt.Errorf("%w: not a refresh token of this hub", ErrInvalidToken)
	}
	now := a.cfg.Now()
	next, err := randomToken(32)
	if err != nil {
		return Tokens{}, err
	}
	next = refreshPrefix + next
	rexp := now.Add(a.cfg.RefreshTTL)
	old, err := a.store.RotateRefresh(ctx, hashToken(refreshToken), store.RefreshToken{Hash: hashToken(next), Expires: rexp}, now, a.revokeUntil(now))
	switch {
	case errors.Is(err, store.ErrRefreshReused):
		return Tokens{}, fmt.Errorf("%w", ErrRefreshReused)
	case errors.Is(err, store.ErrRevoked):
		return Tokens{}, fmt.Errorf("%w: this login was logged out or revoked", ErrRevoked)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExpired):
		return Tokens{}, fmt.Errorf("%w: refresh token unknown or expired: %w", ErrInvalidToken, err)
	case err != nil:
		return Tokens{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return a.tokens(old.NodeID, old.Family, next, rexp, now)
}

// revokeUntil is how long a revocation must last: past the expiry of any
// refresh token the family could hold (and so of any access token).
func (a *Authority) revokeUntil(now time.Time) time.Time {
	return now.Add(a.cfg.RefreshTTL + a.cfg.AccessTTL)
}

// Claims are the checked claims of an access token.
type Claims struct {
	NodeID  string
	Family  string
	Expires time.Time
}

type accessClaims struct {
	jwt.RegisteredClaims
	Type   string `json:"typ"`
	Family string `json:"sid"`
}

func (a *Authority) tokens(nodeID, family, refresh string, rexp, now time.Time) (Tokens, error) {
	jti, err := randomToken(16)
	if err != nil {
		return Tokens{}, err
	}
	exp := now.Add(a.cfg.AccessTTL)
	c := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.cfg.Audience,
			Subject:   nodeID,
			Audience:  jwt.ClaimStrings{a.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
		Type:   accessType,
		Family: family,
	}
	key, kid := a.signingKey()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = kid
	signed, err := tok.SignedString(key)
	if err != nil {
		return Tokens{}, fmt.Errorf("sign access token: %w", err)
	}
	return Tokens{NodeID: nodeID, AccessToken: signed, AccessExpires: exp, RefreshToken: refresh, RefreshExpires: rexp}, nil
}

// Authenticate checks an access token: signature (HS256 only), expiry,
// issuer and audience (this hub), type, subject, and that its login has not
// been revoked.
func (a *Authority) Authenticate(ctx context.Context, token string) (Claims, error) {
	if len(token) > MaxTokenLen {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxTokenLen)
	}
	var c accessClaims
	_, err := jwt.ParseWithClaims(token, &c, a.key,
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(a.cfg.Audience),
		jwt.WithIssuer(a.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(a.cfg.Now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if c.Type != accessType {
		return Claims{}, fmt.Errorf("%w: token type %q, want %q", ErrInvalidToken, c.Type, accessType)
	}
	if !dpcuri.ValidNodeID(c.Subject) || c.Family == "" {
		return Claims{}, fmt.Errorf("%w: bad subject or session", ErrInvalidToken)
	}
	revoked, err := a.store.FamilyRevoked(ctx, c.Family, a.cfg.Now())
	if err != nil {
		return Claims{}, fmt.Errorf("check revocation: %w", err)
	}
	if revoked {
		return Claims{}, fmt.Errorf("%w: this login was logged out or revoked", ErrRevoked)
	}
	return Claims{NodeID: c.Subject, Family: c.Family, Expires: c.ExpiresAt.Time}, nil
}

// Logout revokes the login (token family) the claims belong to: its access
// token and every refresh token stop working, across restarts.
func (a *Authority) Logout(ctx context.Context, c Claims) error {
	if err := a.store.RevokeFamily(ctx, c.Family, a.revokeUntil(a.cfg.Now())); err != nil {
		return fmt.Errorf("revoke login: %w", err)
	}
	return nil
}
