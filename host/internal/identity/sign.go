package identity

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/dpc-go/dpc/sdk/nodeid"
)

// Signature algorithm names returned by SignDomain.
const (
	// AlgEd25519 is plain Ed25519 over the signed bytes.
	AlgEd25519 = nodeid.AlgEd25519
	// AlgRSAPSSSHA256 is RSA-PSS with SHA-256, MGF1-SHA256 and salt length = 32.
	AlgRSAPSSSHA256 = nodeid.AlgRSAPSSSHA256
)

// Domain-separation contexts. Each ends in NUL, so no context is a prefix of
// another context's messages.
const (
	envelopeKeyContext = "dpc-envelope-key/v1\x00"
	fingerprintContext = "dpc-fingerprint/v1\x00"
)

// fingerprintGroups is the number of 5-digit groups in a fingerprint.
const fingerprintGroups = 12

// DomainMessage returns the exact bytes SignDomain signs for purpose and data:
// "dpc-plugin-signature/v1\x00" + purpose + "\x00" + data.
func DomainMessage(purpose string, data []byte) ([]byte, error) {
	return nodeid.DomainMessage(purpose, data)
}

// SignDomain signs "dpc-plugin-signature/v1\x00" + purpose + "\x00" + data
// with the node key. It returns the signature, the algorithm name
// (AlgEd25519 or AlgRSAPSSSHA256) and the exact signed bytes.
func (id *Identity) SignDomain(purpose string, data []byte) (sig []byte, algorithm string, signed []byte, err error) {
	msg, err := DomainMessage(purpose, data)
	if err != nil {
		return nil, "", nil, err
	}
	sig, algorithm, err = signMessage(id.Signer, msg)
	if err != nil {
		return nil, "", nil, fmt.Errorf("sign %q: %w", purpose, err)
	}
	return sig, algorithm, msg, nil
}

// VerifyDomain checks a signature made by SignDomain with the key pub for
// the same purpose and data. It returns ErrBadSignature when it does not verify.
func VerifyDomain(pub crypto.PublicKey, purpose string, data, sig []byte) error {
	msg, err := DomainMessage(purpose, data)
	if err != nil {
		return err
	}
	if err := verifyMessage(pub, msg, sig); err != nil {
		return fmt.Errorf("verify %q: %w", purpose, err)
	}
	return nil
}

// envelopeMessage is the message whose signature binds an X25519 public key
// to a node_id.
func envelopeMessage(nodeID string, envelopePub []byte) []byte {
	msg := make([]byte, 0, len(envelopeKeyContext)+len(nodeID)+1+len(envelopePub))
	msg = append(msg, envelopeKeyContext...)
	msg = append(msg, nodeID...)
	msg = append(msg, 0)
	msg = append(msg, envelopePub...)
	return msg
}

// VerifyEnvelopeBinding checks that sig is the node key pub's signature
// binding the X25519 public key envelopePub to nodeID, and that nodeID is the
// node_id of pub.
func VerifyEnvelopeBinding(nodeID string, pub crypto.PublicKey, envelopePub []byte, sig []byte) error {
	want, err := NodeIDFromPublicKey(pub)
	if err != nil {
		return fmt.Errorf("envelope binding: %w", err)
	}
	if nodeID != want {
		return fmt.Errorf("envelope binding: %w: got %q, key gives %q", ErrNodeIDMismatch, nodeID, want)
	}
	if len(envelopePub) != 32 {
		return fmt.Errorf("envelope binding: %w: X25519 public key of %d bytes, want 32", ErrBadSignature, len(envelopePub))
	}
	if err := verifyMessage(pub, envelopeMessage(nodeID, envelopePub), sig); err != nil {
		return fmt.Errorf("envelope binding: %w", err)
	}
	return nil
}

// signMessage signs msg with the scheme of the signer's key type.
func signMessage(signer crypto.Signer, msg []byte) ([]byte, string, error) {
	switch signer.Public().(type) {
	case ed25519.PublicKey:
		sig, err := signer.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			return nil, "", err
		}
		return sig, AlgEd25519, nil
	case *rsa.PublicKey:
		digest := sha256.Sum256(msg)
		sig, err := signer.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		if err != nil {
			return nil, "", err
		}
		return sig, AlgRSAPSSSHA256, nil
	}
	return nil, "", fmt.Errorf("%w: %T", ErrUnsupportedKeyType, signer.Public())
}

// verifyMessage checks sig over msg with the scheme of pub's key type.
func verifyMessage(pub crypto.PublicKey, msg, sig []byte) error {
	return nodeid.VerifyMessage(pub, msg, sig)
}

// Fingerprint returns the identity's safety number: 12 groups of 5 digits
// separated by spaces (see FingerprintOf).
func (id *Identity) Fingerprint() string {
	fp, err := FingerprintOf(id.Signer.Public())
	if err != nil {
		// Unreachable for a loaded identity: Load accepts only keys FingerprintOf supports.
		return ""
	}
	return fp
}

// FingerprintOf returns the safety number of an Ed25519 or RSA public key:
// SHA-512 over "dpc-fingerprint/v1\x00" + SubjectPublicKeyInfo DER, cut into
// 12 chunks of 5 bytes, each read as a big-endian 40-bit integer mod 100000
// and written as 5 digits, joined by single spaces.
func FingerprintOf(pub crypto.PublicKey) (string, error) {
	der, err := nodeid.MarshalPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	h := sha512.New()
	h.Write([]byte(fingerprintContext))
	h.Write(der)
	sum := h.Sum(nil)
	var b strings.Builder
	for i := range fingerprintGroups {
		var buf [8]byte
		copy(buf[3:], sum[i*5:i*5+5])
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%05d", binary.BigEndian.Uint64(buf[:])%100000)
	}
	return b.String(), nil
}

// SignMessage signs msg as it is with signer (Ed25519, or RSA-PSS-SHA256
// for RSA keys). msg must already start with its own NUL-terminated
// domain-separation context (as channel ops do, "dpc-channel-op/v1\x00");
// verify with nodeid.VerifyMessage. It returns the algorithm name.
func SignMessage(signer crypto.Signer, msg []byte) ([]byte, string, error) {
	return signMessage(signer, msg)
}
