package nodeid

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

// Signature algorithm names.
const (
	// AlgEd25519 is plain Ed25519 over the signed bytes.
	AlgEd25519 = "ed25519"
	// AlgRSAPSSSHA256 is RSA-PSS with SHA-256, MGF1-SHA256 and salt length = 32.
	AlgRSAPSSSHA256 = "rsa-pss-sha256"
)

// domainContext starts every domain-separated message; it ends in NUL so it
// is no prefix of any other context's messages.
const domainContext = "dpc-plugin-signature/v1\x00"

// ErrInvalidPurpose is returned when a signing purpose is empty or contains a NUL byte.
var ErrInvalidPurpose = errors.New("invalid signature purpose")

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("signature verification failed")

// DomainMessage returns the exact bytes a node key signs for purpose and
// data: "dpc-plugin-signature/v1\x00" + purpose + "\x00" + data.
func DomainMessage(purpose string, data []byte) ([]byte, error) {
	if purpose == "" {
		return nil, fmt.Errorf("%w: empty purpose", ErrInvalidPurpose)
	}
	if strings.IndexByte(purpose, 0) >= 0 {
		return nil, fmt.Errorf("%w: purpose %q contains a NUL byte", ErrInvalidPurpose, purpose)
	}
	msg := make([]byte, 0, len(domainContext)+len(purpose)+1+len(data))
	msg = append(msg, domainContext...)
	msg = append(msg, purpose...)
	msg = append(msg, 0)
	msg = append(msg, data...)
	return msg, nil
}

// AlgorithmOf returns the signature algorithm a node key of pub's type uses.
func AlgorithmOf(pub crypto.PublicKey) (string, error) {
	if err := CheckKey(pub); err != nil {
		return "", err
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		return AlgRSAPSSSHA256, nil
	}
	return AlgEd25519, nil
}

// VerifyDomain checks sig, a domain-separated signature by pub for purpose
// and data.
func VerifyDomain(pub crypto.PublicKey, purpose string, data, sig []byte) error {
	msg, err := DomainMessage(purpose, data)
	if err != nil {
		return err
	}
	if err := VerifyMessage(pub, msg, sig); err != nil {
		return fmt.Errorf("verify %q: %w", purpose, err)
	}
	return nil
}

// VerifyMessage checks sig over msg with the scheme of pub's key type
// (Ed25519, or RSA-PSS-SHA256 with salt length = hash length).
func VerifyMessage(pub crypto.PublicKey, msg, sig []byte) error {
	if err := CheckKey(pub); err != nil {
		return err
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(k, msg, sig) {
			return ErrBadSignature
		}
		return nil
	case *rsa.PublicKey:
		digest := sha256.Sum256(msg)
		if err := rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		return nil
	}
	return fmt.Errorf("%w: %T (want Ed25519 or RSA)", ErrUnsupportedKeyType, pub)
}
