package testnode

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk/hublogin"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// Node is a test identity.
type Node struct {
	Signer  crypto.Signer
	NodeID  string
	CertPEM []byte
}

// New makes an Ed25519 node.
func New(t testing.TB) Node {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return WithCN(t, priv, "")
}

// WithCN makes a node certificate for signer whose CN is cn ("" = its real node_id).
func WithCN(t testing.TB, signer crypto.Signer, cn string) Node {
	t.Helper()
	id, err := nodeid.FromPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	if cn == "" {
		cn = id
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		Issuer:                pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return Node{Signer: signer, NodeID: id, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Sign signs a login to hubURL with nonce, claiming nodeID ("" = its own),
// exactly as the host's Sign(PurposeHubLogin, hublogin.Data(...)) does.
func (n Node) Sign(t testing.TB, hubURL, nodeID, nonce string) []byte {
	t.Helper()
	if nodeID == "" {
		nodeID = n.NodeID
	}
	data, err := hublogin.Data(hubURL, nodeID, nonce)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := nodeid.DomainMessage(hublogin.Purpose, data)
	if err != nil {
		t.Fatal(err)
	}
	var sig []byte
	if _, ok := n.Signer.Public().(*rsa.PublicKey); ok {
		d := sha256.Sum256(msg)
		sig, err = n.Signer.Sign(rand.Reader, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	} else {
		sig, err = n.Signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Algorithm is the signature algorithm of the node's key.
func (n Node) Algorithm(t testing.TB) string {
	t.Helper()
	alg, err := nodeid.AlgorithmOf(n.Signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return alg
}

// Load reads a node identity written by `dpc init` (DIR/node.key, DIR/node.crt).
func Load(t testing.TB, dir string) Node {
	t.Helper()
	keyPEM, err := os.ReadFile(filepath.Join(dir, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "node.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		t.Fatalf("%s/node.key: no PEM block", dir)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("%s/node.key: %T is not a signer", dir, key)
	}
	id, err := nodeid.FromPublicKey(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	return Node{Signer: signer, NodeID: id, CertPEM: certPEM}
}
