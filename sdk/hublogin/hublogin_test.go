package hublogin

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// testNode is a node key with its self-signed certificate, made the way
// host/internal/identity makes one.
type testNode struct {
	signer  crypto.Signer
	nodeID  string
	certPEM []byte
}

func newTestNode(t testing.TB, signer crypto.Signer, cn string) testNode {
	t.Helper()
	id, err := nodeid.FromPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	if cn == "" {
		cn = id
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return testNode{signer: signer, nodeID: id, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func newEd25519Node(t testing.TB) testNode {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newTestNode(t, priv, "")
}

// sign signs like the host's Sign(PurposeHubLogin, data).
func (n testNode) sign(t testing.TB, hubURL, nodeID, nonce string) ([]byte, string) {
	t.Helper()
	data, err := Data(hubURL, nodeID, nonce)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nodeid.DomainMessage(sdk.PurposeHubLogin, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := n.signer.Public().(*rsa.PublicKey); ok {
		d := sha256.Sum256(msg)
		sig, err := n.signer.Sign(rand.Reader, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		return sig, nodeid.AlgRSAPSSSHA256
	}
	sig, err := n.signer.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return sig, nodeid.AlgEd25519
}

const (
	hubURL   = "https://hub.example.org"
	otherHub = "https://evil.example.org"
	nonce    = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

func TestPurposeIsTheSDKs(t *testing.T) {
	if Purpose != sdk.PurposeHubLogin {
		t.Fatalf("hublogin.Purpose %q != sdk.PurposeHubLogin %q", Purpose, sdk.PurposeHubLogin)
	}
}

func TestVerifyRefusesForgedLogins(t *testing.T) {
	alice := newEd25519Node(t)
	mallory := newEd25519Node(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaNode := newTestNode(t, rsaKey, "")
	// A certificate for Mallory's key whose CN claims Alice's node_id.
	forgedCN := newTestNode(t, mallory.signer, alice.nodeID)

	aliceSig, aliceAlg := alice.sign(t, hubURL, alice.nodeID, nonce)
	otherHubSig, _ := alice.sign(t, otherHub, alice.nodeID, nonce)
	malloryAsAlice, _ := mallory.sign(t, hubURL, alice.nodeID, nonce)
	rsaSig, rsaAlg := rsaNode.sign(t, hubURL, rsaNode.nodeID, nonce)
	otherNonceSig, _ := alice.sign(t, hubURL, alice.nodeID, nonce+"B")
	badSig := append([]byte(nil), aliceSig...)
	badSig[0] ^= 1

	cases := map[string]struct {
		cert    []byte
		nodeID  string
		hub     string
		sig     []byte
		alg     string
		wantErr error
	}{
		"ed25519 ok":                          {alice.certPEM, alice.nodeID, hubURL, aliceSig, aliceAlg, nil},
		"ed25519 ok, URL in another form":     {alice.certPEM, alice.nodeID, "HTTPS://Hub.Example.org:443/", aliceSig, aliceAlg, nil},
		"rsa-pss ok":                          {rsaNode.certPEM, rsaNode.nodeID, hubURL, rsaSig, rsaAlg, nil},
		"wrong signature":                     {alice.certPEM, alice.nodeID, hubURL, badSig, aliceAlg, ErrBadSignature},
		"signature made for another hub":      {alice.certPEM, alice.nodeID, hubURL, otherHubSig, aliceAlg, ErrBadSignature},
		"signature over another nonce":        {alice.certPEM, alice.nodeID, hubURL, otherNonceSig, aliceAlg, ErrBadSignature},
		"certificate key is not the node_id":  {mallory.certPEM, alice.nodeID, hubURL, malloryAsAlice, aliceAlg, ErrNodeIDMismatch},
		"CN claims the node_id, key does not": {forgedCN.certPEM, alice.nodeID, hubURL, malloryAsAlice, aliceAlg, ErrNodeIDMismatch},
		"algorithm of another key type":       {alice.certPEM, alice.nodeID, hubURL, aliceSig, nodeid.AlgRSAPSSSHA256, ErrAlgorithmMismatch},
		"empty signature":                     {alice.certPEM, alice.nodeID, hubURL, nil, aliceAlg, ErrBadSignature},
		"not a certificate":                   {[]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), alice.nodeID, hubURL, aliceSig, aliceAlg, ErrBadCertificate},
		"malformed node_id":                   {alice.certPEM, "dpc-node-XYZ", hubURL, aliceSig, aliceAlg, ErrInvalidChallenge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := Verify(tc.cert, tc.nodeID, tc.hub, nonce, tc.sig, tc.alg)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestCanonicalURL(t *testing.T) {
	cases := map[string]struct {
		in, want string
		wantErr  bool
	}{
		"plain":           {in: "https://hub.example.org", want: "https://hub.example.org"},
		"case and slash":  {in: "HTTPS://HUB.example.org/", want: "https://hub.example.org"},
		"default port":    {in: "http://127.0.0.1:80", want: "http://127.0.0.1"},
		"other port kept": {in: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		"path kept":       {in: "https://x.org/hub/", want: "https://x.org/hub"},
		"ipv6":            {in: "http://[::1]:9000", want: "http://[::1]:9000"},
		"no scheme":       {in: "hub.example.org", wantErr: true},
		"ftp":             {in: "ftp://hub.example.org", wantErr: true},
		"query":           {in: "https://hub.example.org/?a=b", wantErr: true},
		"user info":       {in: "https://u:p@hub.example.org", wantErr: true},
		"fragment":        {in: "https://hub.example.org/#x", wantErr: true},
		"no host":         {in: "https:///x", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := CanonicalURL(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidURL) {
					t.Fatalf("want ErrInvalidURL, got %q, %v", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("want %q, got %q, %v", tc.want, got, err)
			}
		})
	}
}

func TestDataIsCanonicalAndRoundTrips(t *testing.T) {
	id := newEd25519Node(t).nodeID
	data, err := Data("HTTP://127.0.0.1:80/", id, nonce)
	if err != nil {
		t.Fatal(err)
	}
	want := "dpc-hub-login/v1\x00\x00\x10http://127.0.0.1\x00\x29" + id + "\x00\x2b" + nonce
	if string(data) != want {
		t.Fatalf("data:\n got %q\nwant %q", data, want)
	}
	c, err := ParseData(data)
	if err != nil {
		t.Fatal(err)
	}
	if c != (Challenge{HubURL: "http://127.0.0.1", NodeID: id, Nonce: nonce}) {
		t.Fatalf("round trip: %+v", c)
	}
	if _, err := ParseData(append(data, 0)); !errors.Is(err, ErrInvalidChallenge) {
		t.Fatalf("trailing byte: want ErrInvalidChallenge, got %v", err)
	}
}

func FuzzParseData(f *testing.F) {
	f.Add([]byte("dpc-hub-login/v1\x00\x00\x10http://127.0.0.1\x00\x29dpc-node-00000000000000000000000000000000\x00\x2b" + nonce))
	f.Add([]byte("dpc-hub-login/v1\x00\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseData(b)
		if err != nil {
			return
		}
		again, err := Data(c.HubURL, c.NodeID, c.Nonce)
		if err != nil || string(again) != string(b) {
			t.Fatalf("accepted data does not re-encode to itself: %q -> %+v -> %q, %v", b, c, again, err)
		}
	})
}

func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{"https://hub.example.org", "HTTP://a:80/", "http://[::1]:1/x/", "https://a/%2F/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalURL(s)
		if err != nil {
			return
		}
		again, err := CanonicalURL(c)
		if err != nil || again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, c, again, err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	n := newEd25519Node(f)
	sig, alg := n.sign(f, hubURL, n.nodeID, nonce)
	f.Add(n.certPEM, n.nodeID, nonce, sig, alg)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), "dpc-node-", "", []byte{1}, "rsa-pss-sha256")
	f.Fuzz(func(t *testing.T, cert []byte, id, nc string, sig []byte, alg string) {
		// Must never panic; only the seed login may succeed.
		if err := Verify(cert, id, hubURL, nc, sig, alg); err == nil && (id != n.nodeID || nc != nonce) {
			t.Fatalf("accepted a login for %q / %q", id, nc)
		}
	})
}
