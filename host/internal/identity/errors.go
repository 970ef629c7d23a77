package identity

import (
	"errors"

	"github.com/dpc-go/dpc/sdk/nodeid"
)

// ErrIdentityExists is returned by Create when the directory already holds a node key.
var ErrIdentityExists = errors.New("identity already exists")

// ErrNoIdentity is returned by Load when there is no node key yet (run `dpc init`).
var ErrNoIdentity = errors.New("no node identity")

// ErrCorruptKey is returned by Load when an identity file cannot be parsed or does not match the others.
var ErrCorruptKey = errors.New("identity file is corrupt")

// ErrInsecureKeyFile is returned by Load when a private key file is accessible by group or others.
var ErrInsecureKeyFile = errors.New("private key file has insecure permissions")

// ErrUnsupportedKeyType is returned for key types other than Ed25519 and RSA (>= 2048 bits).
var ErrUnsupportedKeyType = nodeid.ErrUnsupportedKeyType

// ErrInvalidPurpose is returned when a signing purpose is empty or contains a NUL byte.
var ErrInvalidPurpose = nodeid.ErrInvalidPurpose

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = nodeid.ErrBadSignature

// ErrNodeIDMismatch is returned when a node_id does not belong to the public key it is checked against.
var ErrNodeIDMismatch = errors.New("node_id does not match public key")
