package nodeid

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

const (
	// hexLen is the number of hex characters of the SHA-256 kept in a node_id.
	hexLen = 32
	// MinRSABits and MaxRSABits bound the RSA keys a node may use.
	MinRSABits = 2048
	MaxRSABits = 4096
)

// ErrUnsupportedKeyType is returned for keys other than Ed25519 and RSA of
// MinRSABits to MaxRSABits bits.
var ErrUnsupportedKeyType = errors.New("unsupported key type")

// FromPublicKey derives the node_id of an Ed25519 or RSA public key.
func FromPublicKey(pub crypto.PublicKey) (string, error) {
	pubPEM, err := PublicKeyPEM(pub)
	if err != nil {
		return "", err
	}
	return FromPEM(pubPEM), nil
}

// FromCertificate derives the node_id from a certificate's public key (not
// from its CN, which anyone can write).
func FromCertificate(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", fmt.Errorf("node_id from certificate: %w: nil certificate", ErrUnsupportedKeyType)
	}
	return FromPublicKey(cert.PublicKey)
}

// FromPEM returns the node_id of the SubjectPublicKeyInfo PEM text pubPEM,
// hashed as it is, byte for byte.
func FromPEM(pubPEM []byte) string {
	sum := sha256.Sum256(pubPEM)
	return dpcuri.NodeIDPrefix + hex.EncodeToString(sum[:])[:hexLen]
}

// PublicKeyPEM returns the SubjectPublicKeyInfo PEM of pub, byte for byte as
// `openssl x509 -pubkey` prints it; this is the text a node_id hashes.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPublicKey returns the SubjectPublicKeyInfo DER of a supported key.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	if err := CheckKey(pub); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return der, nil
}

// CheckKey reports whether pub is a key a node may use: Ed25519, or RSA of
// MinRSABits to MaxRSABits bits.
func CheckKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrUnsupportedKeyType, len(k))
		}
		return nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return fmt.Errorf("%w: nil RSA public key", ErrUnsupportedKeyType)
		}
		return CheckRSABits(k.N.BitLen())
	}
	return fmt.Errorf("%w: %T (want Ed25519 or RSA)", ErrUnsupportedKeyType, pub)
}

// CheckRSABits reports whether an RSA key of bits bits is acceptable.
func CheckRSABits(bits int) error {
	if bits < MinRSABits || bits > MaxRSABits {
		return fmt.Errorf("%w: RSA key of %d bits (want %d to %d)", ErrUnsupportedKeyType, bits, MinRSABits, MaxRSABits)
	}
	return nil
}
