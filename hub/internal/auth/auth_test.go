package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/store/badgerstore"
	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

const hubURL = "http://127.0.0.1:7000"

var secret = []byte("0123456789abcdef0123456789abcdef")

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	s, err := badgerstore.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newAuthority(t *testing.T, st store.Store, c *clock) *Authority {
	t.Helper()
	a, err := New(Config{Audience: hubURL, Secret: secret, Now: c.now}, st)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func login(t *testing.T, a *Authority, n testnode.Node) Tokens {
	t.Helper()
	ch, err := a.Challenge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Login(context.Background(), LoginRequest{NodeID: n.NodeID, CertificatePEM: n.CertPEM, Nonce: ch.Value, Signature: n.Sign(t, hubURL, "", ch.Value), Algorithm: nodeid.AlgEd25519})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return tok
}

func TestLoginRefusesForgeries(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Now()}
	st := openStore(t, "")
	defer st.Close()
	a := newAuthority(t, st, c)
	alice := testnode.New(t)
	mallory := testnode.New(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cnClaimsAlice := testnode.WithCN(t, priv, alice.NodeID)

	cases := map[string]struct {
		build   func(nonce string) LoginRequest
		reuse   bool // log in once with the same nonce first
		expire  bool // let the nonce expire first
		wantErr error
	}{
		"wrong signature": {build: func(n string) LoginRequest {
			sig := alice.Sign(t, hubURL, "", n)
			sig[3] ^= 0x40
			return LoginRequest{alice.NodeID, alice.CertPEM, n, sig, nodeid.AlgEd25519}
		}, wantErr: ErrLoginRefused},
		"signature made for another hub": {build: func(n string) LoginRequest {
			return LoginRequest{alice.NodeID, alice.CertPEM, n, alice.Sign(t, "https://other-hub.example.org", "", n), nodeid.AlgEd25519}
		}, wantErr: ErrLoginRefused},
		"certificate key does not hash to the claimed node_id": {build: func(n string) LoginRequest {
			return LoginRequest{alice.NodeID, mallory.CertPEM, n, mallory.Sign(t, hubURL, alice.NodeID, n), nodeid.AlgEd25519}
		}, wantErr: ErrLoginRefused},
		"certificate CN claims the node_id, key does not": {build: func(n string) LoginRequest {
			return LoginRequest{alice.NodeID, cnClaimsAlice.CertPEM, n, cnClaimsAlice.Sign(t, hubURL, alice.NodeID, n), nodeid.AlgEd25519}
		}, wantErr: ErrLoginRefused},
		"reused nonce": {build: func(n string) LoginRequest {
			return LoginRequest{alice.NodeID, alice.CertPEM, n, alice.Sign(t, hubURL, "", n), nodeid.AlgEd25519}
		}, reuse: true, wantErr: ErrBadNonce},
		"expired nonce": {build: func(n string) LoginRequest {
			return LoginRequest{alice.NodeID, alice.CertPEM, n, alice.Sign(t, hubURL, "", n), nodeid.AlgEd25519}
		}, expire: true, wantErr: ErrBadNonce},
		"nonce the hub never issued": {build: func(string) LoginRequest {
			n := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			return LoginRequest{alice.NodeID, alice.CertPEM, n, alice.Sign(t, hubURL, "", n), nodeid.AlgEd25519}
		}, wantErr: ErrBadNonce},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c.t = time.Now()
			ch, err := a.Challenge(ctx)
			if err != nil {
				t.Fatal(err)
			}
			req := tc.build(ch.Value)
			if tc.reuse {
				if _, err := a.Login(ctx, req); err != nil {
					t.Fatalf("first login: %v", err)
				}
			}
			if tc.expire {
				c.t = c.t.Add(DefaultNonceTTL + time.Second)
			}
			_, err = a.Login(ctx, req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestRevokedTokenStaysRevokedAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{time.Now()}
	st := openStore(t, dir)
	a := newAuthority(t, st, c)
	tok := login(t, a, testnode.New(t))
	claims, err := a.Authenticate(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx, claims); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// A new store and authority over the same data dir: a restarted hub.
	st = openStore(t, dir)
	defer st.Close()
	a = newAuthority(t, st, c)
	if _, err := a.Authenticate(ctx, tok.AccessToken); !errors.Is(err, ErrRevoked) {
		t.Fatalf("access token after logout and restart: want ErrRevoked, got %v", err)
	}
	if _, err := a.Refresh(ctx, tok.RefreshToken); !errors.Is(err, ErrRevoked) {
		t.Fatalf("refresh token after logout and restart: want ErrRevoked, got %v", err)
	}
}

func TestReusedRefreshTokenRevokesTheFamily(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Now()}
	st := openStore(t, "")
	defer st.Close()
	a := newAuthority(t, st, c)
	first := login(t, a, testnode.New(t))
	second, err := a.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken {
		t.Fatal("refresh did not rotate the refresh token")
	}
	// An attacker replays the stolen first token.
	if _, err := a.Refresh(ctx, first.RefreshToken); !errors.Is(err, ErrRefreshReused) {
		t.Fatalf("reused refresh token: want ErrRefreshReused, got %v", err)
	}
	for name, tok := range map[string]string{"first access": first.AccessToken, "second access": second.AccessToken} {
		if _, err := a.Authenticate(ctx, tok); !errors.Is(err, ErrRevoked) {
			t.Errorf("%s after reuse: want ErrRevoked, got %v", name, err)
		}
	}
	if _, err := a.Refresh(ctx, second.RefreshToken); !errors.Is(err, ErrRevoked) {
		t.Fatalf("current refresh token after reuse: want ErrRevoked, got %v", err)
	}
}

func TestAuthenticateRefusesForeignTokens(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Now()}
	st := openStore(t, "")
	defer st.Close()
	a := newAuthority(t, st, c)
	n := testnode.New(t)
	good := login(t, a, n)

	other, err := New(Config{Audience: "https://other-hub.example.org", Secret: secret, Now: c.now}, st)
	if err != nil {
		t.Fatal(err)
	}
	otherTok := login2(t, other, n)

	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": hubURL, "aud": hubURL, "sub": n.NodeID, "typ": "access", "sid": "x",
			"iat": c.t.Unix(), "exp": c.t.Add(time.Minute).Unix()}
	}
	wrongType := base()
	wrongType["typ"] = "refresh"
	noExp := base()
	delete(noExp, "exp")
	badSub := base()
	badSub["sub"] = "alice@example.org"

	cases := map[string]string{
		"token of another hub (audience)": otherTok.AccessToken,
		"alg none":                        sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, base()),
		"HS512 instead of HS256":          sign(jwt.SigningMethodHS512, secret, base()),
		"other secret":                    sign(jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), base()),
		"not an access token":             sign(jwt.SigningMethodHS256, secret, wrongType),
		"no expiry":                       sign(jwt.SigningMethodHS256, secret, noExp),
		"subject is not a node_id":        sign(jwt.SigningMethodHS256, secret, badSub),
		"refresh token as access token":   good.RefreshToken,
		"garbage":                         "a.b.c",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := a.Authenticate(ctx, tok); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("want ErrInvalidToken, got %v", err)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		saved := c.t
		defer func() { c.t = saved }()
		c.t = c.t.Add(DefaultAccessTTL + time.Minute)
		if _, err := a.Authenticate(ctx, good.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("want ErrInvalidToken, got %v", err)
		}
	})
	if cl, err := a.Authenticate(ctx, good.AccessToken); err != nil || cl.NodeID != n.NodeID {
		t.Fatalf("good token: %+v, %v", cl, err)
	}
}

// login2 logs in to an authority with another audience.
func login2(t *testing.T, a *Authority, n testnode.Node) Tokens {
	t.Helper()
	ch, err := a.Challenge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.Login(context.Background(), LoginRequest{n.NodeID, n.CertPEM, ch.Value, n.Sign(t, a.Audience(), "", ch.Value), nodeid.AlgEd25519})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.secret")
	s1, err := LoadOrCreateSecret(path, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode: %v, %v", fi.Mode().Perm(), err)
	}
	s2, err := LoadOrCreateSecret(path, true)
	if err != nil || string(s1) != string(s2) {
		t.Fatalf("second load gave another secret (%v)", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateSecret(path, true); !errors.Is(err, ErrInsecureSecret) {
		t.Fatalf("world-readable secret: want ErrInsecureSecret, got %v", err)
	}
	if _, err := LoadOrCreateSecret(filepath.Join(dir, "missing"), false); err == nil {
		t.Fatal("missing secret file without create: want an error")
	}
}

// TestKeyRotationLogsNoOneOut: replicas roll from an old signing key to a
// new one. A replica that accepts a key honours the tokens it signed,
// whichever key signs its own; a replica that knows only the old key
// refuses the new key's tokens, saying why.
func TestKeyRotationLogsNoOneOut(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	st := openStore(t, t.TempDir())
	c := &clock{time.Now()}
	mk := func(sign []byte, accept ...[]byte) *Authority {
		t.Helper()
		a, err := New(Config{Audience: hubURL, Secret: sign, AcceptSecrets: accept, Now: c.now}, st)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	before := mk(oldKey)
	phase1 := mk(oldKey, newKey) // accepts the next key, still signs with the old
	phase2 := mk(newKey, oldKey) // signs with the new key, accepts the old
	after := mk(newKey)
	n := testnode.New(t)
	oldTok := login(t, before, n).AccessToken
	newTok := login(t, phase2, n).AccessToken
	cases := []struct {
		name  string
		a     *Authority
		token string
		ok    bool
	}{
		{"old token, old replica", before, oldTok, true},
		{"old token, replica that accepts the next key", phase1, oldTok, true},
		{"old token, replica signing with the new key", phase2, oldTok, true},
		{"new token, replica that accepts the next key", phase1, newTok, true},
		{"new token, replica signing with the new key", phase2, newTok, true},
		{"new token, replica that dropped the old key", after, newTok, true},
		{"old token, replica that dropped the old key", after, oldTok, false},
		{"new token, replica that never heard of it", before, newTok, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.a.Authenticate(context.Background(), tc.token)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("want ErrInvalidToken, got %v", err)
			}
		})
	}
	if before.KeyID() == after.KeyID() || phase1.KeyID() != before.KeyID() {
		t.Fatalf("key ids: before %s phase1 %s after %s", before.KeyID(), phase1.KeyID(), after.KeyID())
	}
}
