package chancrypt

import (
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"

	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

const (
	// EncSize is the size of the HPKE encapsulated key (an X25519 public key).
	EncSize = 32
	// WrappedSize is the size of a wrapped key: enc || sealed key || tag.
	WrappedSize = EncSize + KeySize + 16
	// MaxNodeIDSize bounds a node_id in info strings and introductions.
	MaxNodeIDSize = 64
)

// keyInfoContext starts the HPKE info of every wrapped key.
const keyInfoContext = "dpc-channel-key/v1\x00"

// The HPKE suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
var (
	wrapKDF  = hpke.HKDFSHA256()
	wrapAEAD = hpke.ChaCha20Poly1305()
)

// checkNodeID checks a node_id as the format carries it.
func checkNodeID(what, nodeID string) error {
	if len(nodeID) > MaxNodeIDSize || !dpcuri.ValidNodeID(nodeID) {
		return fmt.Errorf("%w: %s %q is not a node_id (dpc-node- and 32 hex digits)", ErrInvalidID, what, nodeID)
	}
	return nil
}

// keyInfo returns "dpc-channel-key/v1\x00" || channel || epoch || node_id
// after checking the three.
func keyInfo(channelID, epochID []byte, recipientNodeID string) ([]byte, error) {
	if err := checkID("channel id", channelID, true); err != nil {
		return nil, err
	}
	if err := checkID("epoch id", epochID, true); err != nil {
		return nil, err
	}
	if err := checkNodeID("recipient", recipientNodeID); err != nil {
		return nil, err
	}
	info := make([]byte, 0, len(keyInfoContext)+2*IDSize+len(recipientNodeID))
	info = append(info, keyInfoContext...)
	info = append(info, channelID...)
	info = append(info, epochID...)
	info = append(info, recipientNodeID...)
	return info, nil
}

// Wrap seals the epoch key to one member's X25519 envelope public key, for
// channel channelID, epoch epochID and the member's node_id. Use
// WrapToMember unless the envelope key's binding was already verified.
func Wrap(key Key, recipientEnvelopePub *ecdh.PublicKey, channelID, epochID []byte, recipientNodeID string) ([]byte, error) {
	if err := key.check(); err != nil {
		return nil, fmt.Errorf("wrap channel key: %w", err)
	}
	if recipientEnvelopePub == nil || recipientEnvelopePub.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("wrap channel key: %w: the recipient's envelope key must be X25519", ErrInvalidKey)
	}
	info, err := keyInfo(channelID, epochID, recipientNodeID)
	if err != nil {
		return nil, fmt.Errorf("wrap channel key: %w", err)
	}
	pk, err := hpke.NewDHKEMPublicKey(recipientEnvelopePub)
	if err != nil {
		return nil, fmt.Errorf("wrap channel key: %w: %w", ErrInvalidKey, err)
	}
	wrapped, err := hpke.Seal(pk, wrapKDF, wrapAEAD, info, key.b[:])
	if err != nil {
		return nil, fmt.Errorf("wrap channel key: %w", err)
	}
	return wrapped, nil
}

// Unwrap opens a key wrapped by Wrap with this node's envelope private key,
// for channel channelID, epoch epochID and this node's node_id. Every
// failure to open is ErrUnwrap.
func Unwrap(wrapped []byte, envelopePriv *ecdh.PrivateKey, channelID, epochID []byte, recipientNodeID string) (Key, error) {
	if envelopePriv == nil || envelopePriv.Curve() != ecdh.X25519() {
		return Key{}, fmt.Errorf("unwrap channel key: %w: the envelope key must be X25519", ErrInvalidKey)
	}
	if len(wrapped) != WrappedSize {
		return Key{}, fmt.Errorf("unwrap channel key: %w: %d bytes, a wrapped key has %d", ErrUnwrap, len(wrapped), WrappedSize)
	}
	info, err := keyInfo(channelID, epochID, recipientNodeID)
	if err != nil {
		return Key{}, fmt.Errorf("unwrap channel key: %w", err)
	}
	sk, err := hpke.NewDHKEMPrivateKey(envelopePriv)
	if err != nil {
		return Key{}, fmt.Errorf("unwrap channel key: %w: %w", ErrInvalidKey, err)
	}
	pt, err := hpke.Open(sk, wrapKDF, wrapAEAD, info, wrapped)
	if err != nil {
		return Key{}, fmt.Errorf("unwrap channel key: %w: not wrapped to this node's envelope key for this channel, epoch and node_id, or modified", ErrUnwrap)
	}
	k, err := KeyFromBytes(pt)
	if err != nil {
		return Key{}, fmt.Errorf("unwrap channel key: %w: %w", ErrUnwrap, err)
	}
	return k, nil
}

// Member is what a channel's log says about a member's keys: its node_id,
// its node public key (from its certificate), its X25519 envelope public
// key and the node key's signature binding the two (identity's envelope
// binding).
type Member struct {
	NodeID          string
	NodeKey         crypto.PublicKey
	EnvelopePub     []byte
	EnvelopeBinding []byte
}

// EnvelopeKey verifies the member's envelope key binding (the node_id
// derives from NodeKey, which signed EnvelopePub) and returns the key.
func (m Member) EnvelopeKey() (*ecdh.PublicKey, error) {
	if err := identity.VerifyEnvelopeBinding(m.NodeID, m.NodeKey, m.EnvelopePub, m.EnvelopeBinding); err != nil {
		return nil, fmt.Errorf("%w (member %s): %w", ErrEnvelopeBinding, m.NodeID, err)
	}
	pub, err := ecdh.X25519().NewPublicKey(m.EnvelopePub)
	if err != nil {
		return nil, fmt.Errorf("%w (member %s): %w", ErrEnvelopeBinding, m.NodeID, err)
	}
	return pub, nil
}

// WrapToMember checks the member's envelope key binding, then wraps the
// epoch key to it: a key is never wrapped to an envelope key the member's
// node key did not sign.
func WrapToMember(key Key, m Member, channelID, epochID []byte) ([]byte, error) {
	pub, err := m.EnvelopeKey()
	if err != nil {
		return nil, fmt.Errorf("wrap channel key: %w", err)
	}
	return Wrap(key, pub, channelID, epochID, m.NodeID)
}
