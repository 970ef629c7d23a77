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

// keyInfoContext starts the HPKE info of a key wrapped for an existing
// epoch (an add op); newEpochInfoContext that of a key wrapped in the op that
// introduces its epoch (create, remove, rekey). Distinct contexts, so one
// kind never opens as the other.
const (
	keyInfoContext      = "dpc-channel-key/v1\x00"
	newEpochInfoContext = "dpc-channel-key-new-epoch/v1\x00"
)

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

// newEpochInfo returns "dpc-channel-key-new-epoch/v1\x00" || HeaderDigest ||
// node_id after checking the two.
func newEpochInfo(headerDigest []byte, recipientNodeID string) ([]byte, error) {
	if err := checkID("header digest", headerDigest, true); err != nil {
		return nil, err
	}
	if err := checkNodeID("recipient", recipientNodeID); err != nil {
		return nil, err
	}
	info := make([]byte, 0, len(newEpochInfoContext)+IDSize+len(recipientNodeID))
	info = append(info, newEpochInfoContext...)
	info = append(info, headerDigest...)
	info = append(info, recipientNodeID...)
	return info, nil
}

// Wrap seals the key of an existing epoch (the one an add op hands to the
// new member) to the member's X25519 envelope public key, for channel
// channelID, epoch epochID and the member's node_id. Use WrapToMember
// unless the envelope key's binding was already verified.
func Wrap(key Key, recipientEnvelopePub *ecdh.PublicKey, channelID, epochID []byte, recipientNodeID string) ([]byte, error) {
	info, err := keyInfo(channelID, epochID, recipientNodeID)
	if err != nil {
		return nil, fmt.Errorf("wrap channel key: %w", err)
	}
	return wrap(key, recipientEnvelopePub, info)
}

// WrapNewEpoch seals the key of the epoch that the op being built
// introduces (create, remove, rekey). That epoch's id is the op's own id,
// which hashes the body that will hold the wrapped key, so the wrap binds
// the op's HeaderDigest instead (its header with the body hash zeroed:
// channel, type, author, parents, time, nonce). Use WrapNewEpochToMember
// unless the envelope key's binding was already verified.
func WrapNewEpoch(key Key, recipientEnvelopePub *ecdh.PublicKey, headerDigest []byte, recipientNodeID string) ([]byte, error) {
	info, err := newEpochInfo(headerDigest, recipientNodeID)
	if err != nil {
		return nil, fmt.Errorf("wrap new epoch key: %w", err)
	}
	return wrap(key, recipientEnvelopePub, info)
}

func wrap(key Key, recipientEnvelopePub *ecdh.PublicKey, info []byte) ([]byte, error) {
	if err := key.check(); err != nil {
		return nil, fmt.Errorf("wrap channel key: %w", err)
	}
	if recipientEnvelopePub == nil || recipientEnvelopePub.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("wrap channel key: %w: the recipient's envelope key must be X25519", ErrInvalidKey)
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
	info, err := keyInfo(channelID, epochID, recipientNodeID)
	if err != nil {
		return Key{}, fmt.Errorf("unwrap channel key: %w", err)
	}
	return unwrap(wrapped, envelopePriv, info)
}

// UnwrapNewEpoch opens a key wrapped by WrapNewEpoch, in the op whose
// HeaderDigest is headerDigest, with this node's envelope private key and
// node_id. The epoch id of the key is that op's id.
func UnwrapNewEpoch(wrapped []byte, envelopePriv *ecdh.PrivateKey, headerDigest []byte, recipientNodeID string) (Key, error) {
	info, err := newEpochInfo(headerDigest, recipientNodeID)
	if err != nil {
		return Key{}, fmt.Errorf("unwrap new epoch key: %w", err)
	}
	return unwrap(wrapped, envelopePriv, info)
}

func unwrap(wrapped []byte, envelopePriv *ecdh.PrivateKey, info []byte) (Key, error) {
	if envelopePriv == nil || envelopePriv.Curve() != ecdh.X25519() {
		return Key{}, fmt.Errorf("unwrap channel key: %w: the envelope key must be X25519", ErrInvalidKey)
	}
	if len(wrapped) != WrappedSize {
		return Key{}, fmt.Errorf("unwrap channel key: %w: %d bytes, a wrapped key has %d", ErrUnwrap, len(wrapped), WrappedSize)
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

// WrapNewEpochToMember is WrapToMember for the epoch the op being built
// introduces (see WrapNewEpoch).
func WrapNewEpochToMember(key Key, m Member, headerDigest []byte) ([]byte, error) {
	pub, err := m.EnvelopeKey()
	if err != nil {
		return nil, fmt.Errorf("wrap new epoch key: %w", err)
	}
	return WrapNewEpoch(key, pub, headerDigest, m.NodeID)
}
