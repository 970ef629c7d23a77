package dpcv1ref

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testdata/python-identity was written by gen.py (next to it) with
// CPython 3.11.7 and cryptography 48.0.0, following dpc_protocol/crypto.py:
// node.key, node.crt, node.id, the hashed public.pem, and nonce.sig.b64, a
// HELLO signature over the nonce bytes 0..31 with PSS.MAX_LENGTH.
func pythonFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "python-identity", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	poolOnce sync.Once
	pool     []*Identity
	poolErr  error
)

// testIdentities returns n distinct identities, generated once per test
// binary (RSA key generation is slow under -race).
func testIdentities(t *testing.T, n int) []*Identity {
	t.Helper()
	poolOnce.Do(func() {
		for range 4 {
			id, err := NewIdentity()
			if err != nil {
				poolErr = err
				return
			}
			pool = append(pool, id)
		}
	})
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	if n > len(pool) {
		t.Fatalf("asked for %d identities, pool has %d", n, len(pool))
	}
	return pool[:n]
}

var nodeIDPattern = regexp.MustCompile(`^dpc-node-[0-9a-f]{32}$`)

func TestNodeIDDerivation(t *testing.T) {
	t.Parallel()
	fixtureKey, err := LoadIdentity(pythonFixture(t, "node.key"), pythonFixture(t, "node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ours := testIdentities(t, 1)[0]
	tests := map[string]struct {
		pub       crypto.PublicKey
		wantPEM   []byte // nil: only check the shape
		wantID    string // "": only check the shape
		wantBytes int
		wantLines int
	}{
		"python RSA-2048 fixture": {
			pub:       &fixtureKey.Key.PublicKey,
			wantPEM:   pythonFixture(t, "public.pem"),
			wantID:    string(pythonFixture(t, "node.id")),
			wantBytes: 451, wantLines: 9,
		},
		"NewIdentity RSA-2048": {pub: &ours.Key.PublicKey, wantID: ours.NodeID, wantBytes: 451, wantLines: 9},
		"Ed25519":              {pub: edPub, wantBytes: 113, wantLines: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := PublicKeyPEM(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantPEM != nil && !bytes.Equal(p, tc.wantPEM) {
				t.Errorf("PublicKeyPEM differs from Python's:\n got %q\nwant %q", p, tc.wantPEM)
			}
			if len(p) != tc.wantBytes || strings.Count(string(p), "\n") != tc.wantLines {
				t.Errorf("PublicKeyPEM is %d bytes, %d lines; want %d, %d", len(p), strings.Count(string(p), "\n"), tc.wantBytes, tc.wantLines)
			}
			if !strings.HasPrefix(string(p), "-----BEGIN PUBLIC KEY-----\n") || !strings.HasSuffix(string(p), "\n-----END PUBLIC KEY-----\n") {
				t.Errorf("PublicKeyPEM framing wrong: %q", p)
			}
			id, err := NodeID(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			if !nodeIDPattern.MatchString(id) || len(id) != 41 {
				t.Errorf("NodeID = %q, want dpc-node- and 32 lowercase hex", id)
			}
			sum := sha256.Sum256(p)
			if want := "dpc-node-" + hex.EncodeToString(sum[:])[:32]; id != want {
				t.Errorf("NodeID = %q, want %q", id, want)
			}
			if tc.wantID != "" && id != tc.wantID {
				t.Errorf("NodeID = %q, want %q", id, tc.wantID)
			}
		})
	}
}

// TestCertificateShape compares NewIdentity's certificate with the one
// Python's cryptography wrote, field by field (§4.2).
func TestCertificateShape(t *testing.T) {
	t.Parallel()
	fixture, err := parseCertPEM(pythonFixture(t, "node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	fixtureID := string(pythonFixture(t, "node.id"))
	ours := testIdentities(t, 1)[0]
	edPEM, edID, err := NewEd25519CertPEM()
	if err != nil {
		t.Fatal(err)
	}
	ed, err := parseCertPEM(edPEM)
	if err != nil {
		t.Fatal(err)
	}
	ourCert, err := parseCertPEM(ours.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		cert    *x509.Certificate
		nodeID  string
		sigAlg  x509.SignatureAlgorithm
		wantRSA bool
	}{
		"python fixture": {fixture, fixtureID, x509.SHA256WithRSA, true},
		"NewIdentity":    {ourCert, ours.NodeID, x509.SHA256WithRSA, true},
		"Ed25519 helper": {ed, edID, x509.PureEd25519, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := tc.cert
			if c.Version != 3 {
				t.Errorf("version = %d, want 3", c.Version)
			}
			if c.SignatureAlgorithm != tc.sigAlg {
				t.Errorf("signature algorithm = %v, want %v", c.SignatureAlgorithm, tc.sigAlg)
			}
			if cn, ok := firstCN(c); !ok || cn != tc.nodeID {
				t.Errorf("CN = %q, want %q", cn, tc.nodeID)
			}
			if len(c.Subject.Names) != 1 || !bytes.Equal(c.RawSubject, c.RawIssuer) {
				t.Errorf("subject %v / issuer %v: want only CN, subject == issuer", c.Subject, c.Issuer)
			}
			// The CN is a UTF8String (tag 12), as cryptography writes it.
			if !bytes.Contains(c.RawSubject, append([]byte{0x0c, byte(len(tc.nodeID))}, tc.nodeID...)) {
				t.Errorf("CN is not a UTF8String: % x", c.RawSubject)
			}
			if len(c.Extensions) != 1 || !c.Extensions[0].Id.Equal(oidBasicConstraints) || !c.Extensions[0].Critical {
				t.Errorf("extensions = %+v, want only a critical BasicConstraints", c.Extensions)
			}
			if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != -1 {
				t.Errorf("BasicConstraints valid=%v CA=%v pathlen=%d, want CA:TRUE without pathlen", c.BasicConstraintsValid, c.IsCA, c.MaxPathLen)
			}
			if c.KeyUsage != 0 || len(c.DNSNames)+len(c.IPAddresses) != 0 || len(c.SubjectKeyId)+len(c.AuthorityKeyId) != 0 {
				t.Errorf("unexpected KeyUsage/SAN/key identifiers")
			}
			if d := c.NotAfter.Sub(c.NotBefore); d != 3650*24*time.Hour {
				t.Errorf("validity = %v, want 3650 days", d)
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 159 {
				t.Errorf("serial %v: want positive, at most 159 bits", c.SerialNumber)
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Errorf("self-signature: %v", err)
			}
			if pub, ok := c.PublicKey.(*rsa.PublicKey); ok != tc.wantRSA || (ok && (pub.N.BitLen() != 2048 || pub.E != 65537)) {
				t.Errorf("public key %T: want RSA-2048 e=65537: %v", c.PublicKey, tc.wantRSA)
			}
			if id, _ := NodeID(c.PublicKey); id != tc.nodeID {
				t.Errorf("key hashes to %s, want %s", id, tc.nodeID)
			}
		})
	}
}

func TestForgedCertPEM(t *testing.T) {
	t.Parallel()
	victim := testIdentities(t, 1)[0]
	forged, err := ForgedCertPEM(victim.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCertPEM(forged)
	if err != nil {
		t.Fatal(err)
	}
	if cn, _ := firstCN(c); cn != victim.NodeID {
		t.Errorf("CN = %q, want %q", cn, victim.NodeID)
	}
	if id, _ := NodeID(c.PublicKey); id == victim.NodeID {
		t.Errorf("forged key hashes to the victim's node_id")
	}
}

// TestSaltModes checks verifyHello's check 3 against both cryptography
// behaviours (§4.5): 38.0.4 wants a salt of exactly 222 bytes, 48.0.0
// accepts any.
func TestSaltModes(t *testing.T) {
	t.Parallel()
	py, err := LoadIdentity(pythonFixture(t, "node.key"), pythonFixture(t, "node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 32)
	for i := range nonce {
		nonce[i] = byte(i)
	}
	sign := func(salt int) string {
		d := sha256.Sum256(nonce)
		sig, err := rsa.SignPSS(rand.Reader, py.Key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256})
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
	good := sign(rsa.PSSSaltLengthAuto)
	flip := byte('A')
	if good[10] == 'A' {
		flip = 'B'
	}
	corrupt := good[:10] + string(flip) + good[11:]
	tests := map[string]struct {
		sig        string
		wantStrict string
		wantLax    string
	}{
		"python MAX_LENGTH signature": {sig: string(pythonFixture(t, "nonce.sig.b64"))},
		"Go PSSSaltLengthAuto (222)":  {sig: sign(rsa.PSSSaltLengthAuto)},
		"salt 221":                    {sig: sign(221), wantStrict: RejectBadSignature},
		"salt 32 (EqualsHash)":        {sig: sign(rsa.PSSSaltLengthEqualsHash), wantStrict: RejectBadSignature},
		"salt 1":                      {sig: sign(1), wantStrict: RejectBadSignature}, // Go cannot sign with salt 0: 0 is PSSSaltLengthAuto
		"corrupted signature":         {sig: corrupt, wantStrict: RejectBadSignature, wantLax: RejectBadSignature},
		"not base64":                  {sig: "abc", wantStrict: RejectBadSignature, wantLax: RejectBadSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, strict := range []bool{true, false} {
				p := &Peer{opts: Options{StrictSalt: strict}}
				want := tc.wantLax
				if strict {
					want = tc.wantStrict
				}
				if got, detail := p.verifyHello(py.NodeID, string(py.CertPEM), nonce, tc.sig); got != want {
					t.Errorf("strict=%v: verifyHello = %q (%s), want %q", strict, got, detail, want)
				}
			}
		})
	}
}
