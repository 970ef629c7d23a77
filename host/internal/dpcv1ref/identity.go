package dpcv1ref

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// NodeIDPrefix starts every D-PC node_id (§4.2).
const NodeIDPrefix = "dpc-node-"

// Identity is a D-PC node identity as the Python client keeps it in ~/.dpc
// (§4.2): the RSA key (node.key), the certificate (node.crt, PEM text) and
// the node_id (node.id).
type Identity struct {
	// Key is the node's RSA-2048 private key.
	Key *rsa.PrivateKey
	// CertPEM is the PEM text of the self-signed certificate, exactly what
	// the Python client reads from node.crt and sends as HELLO's cert_pem.
	CertPEM []byte
	// NodeID is "dpc-node-" followed by 32 lowercase hex characters.
	NodeID string
}

// NewIdentity makes a fresh identity the way dpc_protocol/crypto.py does
// (§4.2): an RSA-2048 key with e = 65537 and a self-signed X.509 v3
// certificate whose subject and issuer are both CN=<node_id> and nothing
// else (the CN a UTF8String, as Python's cryptography writes it), with a
// critical BasicConstraints CA:TRUE as the only extension (no SAN, no
// KeyUsage, no key identifiers), signed sha256WithRSAEncryption, with a random
// positive 159-bit serial, valid from now for 3650 days.
func NewIdentity() (*Identity, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: generate key: %w", err)
	}
	nodeID, err := NodeID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	certPEM, err := selfSignedCertPEM(key, &key.PublicKey, nodeID)
	if err != nil {
		return nil, err
	}
	return &Identity{Key: key, CertPEM: certPEM, NodeID: nodeID}, nil
}

// LoadIdentity builds an Identity from a Python node's node.key (PKCS#8 PEM,
// §4.2) and node.crt. The node_id is derived from the key; the Python client
// reads node.id instead, which holds the same string.
func LoadIdentity(keyPEM, certPEM []byte) (*Identity, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("dpcv1ref: node.key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: node.key: %w", err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("dpcv1ref: node.key: %T is not an RSA key", k)
	}
	if _, err := parseCertPEM(certPEM); err != nil {
		return nil, fmt.Errorf("dpcv1ref: node.crt: %w", err)
	}
	nodeID, err := NodeID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Identity{Key: key, CertPEM: append([]byte(nil), certPEM...), NodeID: nodeID}, nil
}

// PublicKeyPEM returns the bytes the node_id hashes (§4.2): the
// SubjectPublicKeyInfo PEM text of pub, "-----BEGIN PUBLIC KEY-----\n",
// base64 wrapped at 64 characters, "-----END PUBLIC KEY-----\n". For
// RSA-2048 that is 451 bytes in 9 lines.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// NodeID derives a node_id from a public key the way generate_node_id does
// (§4.2): "dpc-node-" + the first 32 lowercase hex characters of the SHA-256
// of [PublicKeyPEM]. Like the Python function it accepts any key type the
// PEM serialisation accepts, not only RSA.
func NodeID(pub crypto.PublicKey) (string, error) {
	p, err := PublicKeyPEM(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(p)
	return NodeIDPrefix + hex.EncodeToString(sum[:])[:32], nil
}

// NewEd25519CertPEM makes a self-signed certificate for a fresh Ed25519 key,
// with CN = the node_id derived from that key, for negative tests: a HELLO
// carrying it passes the CN and key-hash checks and must then fail because
// the key is not RSA (§4.4 check 3).
func NewEd25519CertPEM() (certPEM []byte, nodeID string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("dpcv1ref: generate ed25519 key: %w", err)
	}
	nodeID, err = NodeID(pub)
	if err != nil {
		return nil, "", err
	}
	certPEM, err = selfSignedCertPEM(priv, pub, nodeID)
	if err != nil {
		return nil, "", err
	}
	return certPEM, nodeID, nil
}

// ForgedCertPEM makes a certificate whose CN is nodeID but whose key is a
// fresh RSA key, so that it passes the CN check and fails the key-hash check
// (§4.4 check 2). It is for negative tests.
func ForgedCertPEM(nodeID string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: generate key: %w", err)
	}
	return selfSignedCertPEM(key, &key.PublicKey, nodeID)
}

var (
	oidCommonName       = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSHA256WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidEd25519          = asn1.ObjectIdentifier{1, 3, 101, 112}
)

type tbsCertificate struct {
	Version            int `asn1:"optional,explicit,default:0,tag:0"`
	SerialNumber       *big.Int
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Issuer             asn1.RawValue
	Validity           certValidity
	Subject            asn1.RawValue
	PublicKey          asn1.RawValue
	Extensions         []pkix.Extension `asn1:"optional,explicit,tag:3"`
}

type certValidity struct {
	NotBefore, NotAfter time.Time
}

type certificate struct {
	TBS                asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
}

// selfSignedCertPEM builds the certificate field by field rather than with
// x509.CreateCertificate, which would add a SubjectKeyIdentifier to a CA
// certificate and write the CN as a PrintableString; Python's does neither.
func selfSignedCertPEM(signer crypto.Signer, pub crypto.PublicKey, cn string) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: marshal public key: %w", err)
	}
	name, err := asn1.Marshal(pkix.RDNSequence{pkix.RelativeDistinguishedNameSET{{
		Type:  oidCommonName,
		Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(cn)},
	}}})
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: marshal name: %w", err)
	}
	// x509.random_serial_number(): 20 random bytes shifted right by one bit.
	var raw [20]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	serial := new(big.Int).Rsh(new(big.Int).SetBytes(raw[:]), 1)
	if serial.Sign() == 0 {
		serial.SetInt64(1)
	}
	var alg pkix.AlgorithmIdentifier
	switch signer.(type) {
	case *rsa.PrivateKey:
		alg = pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}
	case ed25519.PrivateKey:
		alg = pkix.AlgorithmIdentifier{Algorithm: oidEd25519}
	default:
		return nil, fmt.Errorf("dpcv1ref: unsupported signer %T", signer)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tbs, err := asn1.Marshal(tbsCertificate{
		Version:            2, // X.509 v3
		SerialNumber:       serial,
		SignatureAlgorithm: alg,
		Issuer:             asn1.RawValue{FullBytes: name},
		Validity:           certValidity{NotBefore: now, NotAfter: now.Add(3650 * 24 * time.Hour)},
		Subject:            asn1.RawValue{FullBytes: name},
		PublicKey:          asn1.RawValue{FullBytes: spki},
		Extensions: []pkix.Extension{{
			Id:       oidBasicConstraints,
			Critical: true,
			Value:    []byte{0x30, 0x03, 0x01, 0x01, 0xff}, // SEQUENCE { cA TRUE }
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: marshal tbsCertificate: %w", err)
	}
	var sig []byte
	switch k := signer.(type) {
	case *rsa.PrivateKey:
		sum := sha256.Sum256(tbs)
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, tbs)
	}
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: sign certificate: %w", err)
	}
	der, err := asn1.Marshal(certificate{
		TBS:                asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: alg,
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("dpcv1ref: marshal certificate: %w", err)
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("dpcv1ref: built certificate does not parse: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// parseCertPEM parses the first CERTIFICATE block of a PEM text, as
// cryptography's load_pem_x509_certificate does.
func parseCertPEM(certPEM []byte) (*x509.Certificate, error) {
	rest := certPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no CERTIFICATE PEM block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// firstCN returns the first commonName attribute of the certificate's
// subject, as D-PC's _validate_peer_certificate and _verify_hello_identity
// take it, and whether there was one.
func firstCN(cert *x509.Certificate) (string, bool) {
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			s, ok := atv.Value.(string)
			return s, ok
		}
	}
	return "", false
}
