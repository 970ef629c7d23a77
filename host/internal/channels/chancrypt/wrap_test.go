package chancrypt

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/dpc-go/dpc/host/internal/identity"
)

func TestWrapToMemberRoundTrip(t *testing.T) {
	for _, name := range []string{"b", "rsa"} {
		t.Run(name, func(t *testing.T) {
			id := testIdentity(t, name)
			key := NewKey()
			wrapped, err := WrapToMember(key, memberOf(id), testChannel, testEpoch)
			if err != nil {
				t.Fatal(err)
			}
			if len(wrapped) != WrappedSize {
				t.Fatalf("wrapped size: want %d, got %d", WrappedSize, len(wrapped))
			}
			got, err := Unwrap(wrapped, id.EnvelopeKey, testChannel, testEpoch, id.NodeID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(key) {
				t.Fatal("unwrapped key differs")
			}
		})
	}
}

// hpkeSealRaw wraps key bytes with crypto/hpke directly, for the cases that
// need another info string or suite than Wrap's.
func hpkeSealRaw(t *testing.T, pub *ecdh.PublicKey, aead hpke.AEAD, info []byte, key Key) []byte {
	t.Helper()
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	out, err := hpke.Seal(pk, hpke.HKDFSHA256(), aead, info, key.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// specInfo builds the documented info string by hand.
func specInfo(channel, epoch []byte, nodeID string) []byte {
	info := []byte("dpc-channel-key/v1\x00")
	info = append(info, channel...)
	info = append(info, epoch...)
	return append(info, nodeID...)
}

// TestUnwrapRefuses: a wrapped key opens only with the recipient's envelope
// key, for the channel, epoch and node_id it was wrapped for.
func TestUnwrapRefuses(t *testing.T) {
	b, c := testIdentity(t, "b"), testIdentity(t, "c")
	key := NewKey()
	wrapped, err := WrapToMember(key, memberOf(b), testChannel, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	bPub := b.EnvelopeKey.PublicKey()
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherInfo := func(info []byte) []byte { return hpkeSealRaw(t, bPub, hpke.ChaCha20Poly1305(), info, key) }
	cases := []struct {
		name           string
		wrapped        []byte
		priv           *ecdh.PrivateKey
		channel, epoch []byte
		nodeID         string
		want           error
	}{
		{"wrong recipient: C's envelope key", wrapped, c.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"wrong recipient: C's key and node_id", wrapped, c.EnvelopeKey, testChannel, testEpoch, c.NodeID, ErrUnwrap},
		{"wrong info: other node_id", wrapped, b.EnvelopeKey, testChannel, testEpoch, c.NodeID, ErrUnwrap},
		{"wrong info: other channel", wrapped, b.EnvelopeKey, flip(testChannel, 3), testEpoch, b.NodeID, ErrUnwrap},
		{"wrong info: other epoch", wrapped, b.EnvelopeKey, testChannel, flip(testEpoch, 3), b.NodeID, ErrUnwrap},
		{"wrong info: sealed with another context", otherInfo(append([]byte("dpc-channel-key/v2\x00"), specInfo(testChannel, testEpoch, b.NodeID)[19:]...)), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"wrong info: sealed without the node_id", otherInfo(specInfo(testChannel, testEpoch, "")), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"wrong info: sealed with empty info", otherInfo(nil), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"wrong suite: AES-128-GCM", hpkeSealRaw(t, bPub, hpke.AES128GCM(), specInfo(testChannel, testEpoch, b.NodeID), key), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"truncated: empty", nil, b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"truncated: enc only", wrapped[:EncSize], b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"truncated: last byte cut", wrapped[:WrappedSize-1], b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"extended: one byte appended", append(bytes.Clone(wrapped), 0), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"modified enc", flip(wrapped, 0), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"modified ciphertext", flip(wrapped, EncSize), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"modified tag", flip(wrapped, WrappedSize-1), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"enc is a low-order point", append(make([]byte, EncSize), wrapped[EncSize:]...), b.EnvelopeKey, testChannel, testEpoch, b.NodeID, ErrUnwrap},
		{"nil envelope key", wrapped, nil, testChannel, testEpoch, b.NodeID, ErrInvalidKey},
		{"P-256 envelope key", wrapped, p256, testChannel, testEpoch, b.NodeID, ErrInvalidKey},
		{"invalid node_id", wrapped, b.EnvelopeKey, testChannel, testEpoch, "dpc-node-XYZ", ErrInvalidID},
		{"zero channel id", wrapped, b.EnvelopeKey, make([]byte, IDSize), testEpoch, b.NodeID, ErrInvalidID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Unwrap(tc.wrapped, tc.priv, tc.channel, tc.epoch, tc.nodeID)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if !got.IsZero() {
				t.Fatal("a failed Unwrap returned a key")
			}
		})
	}
}

func TestWrapRefuses(t *testing.T) {
	b := testIdentity(t, "b")
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := b.EnvelopeKey.PublicKey()
	cases := []struct {
		name           string
		key            Key
		pub            *ecdh.PublicKey
		channel, epoch []byte
		nodeID         string
		want           error
	}{
		{"zero key", Key{}, pub, testChannel, testEpoch, b.NodeID, ErrInvalidKey},
		{"nil envelope key", NewKey(), nil, testChannel, testEpoch, b.NodeID, ErrInvalidKey},
		{"P-256 envelope key", NewKey(), p256.PublicKey(), testChannel, testEpoch, b.NodeID, ErrInvalidKey},
		{"empty node_id", NewKey(), pub, testChannel, testEpoch, "", ErrInvalidID},
		{"node_id with upper-case hex", NewKey(), pub, testChannel, testEpoch, "dpc-node-ABCDEF0123456789ABCDEF0123456789", ErrInvalidID},
		{"epoch id all zero", NewKey(), pub, testChannel, make([]byte, IDSize), b.NodeID, ErrInvalidID},
		{"channel id of 31 bytes", NewKey(), pub, testChannel[:31], testEpoch, b.NodeID, ErrInvalidID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Wrap(tc.key, tc.pub, tc.channel, tc.epoch, tc.nodeID)
			if !errors.Is(err, tc.want) || out != nil {
				t.Fatalf("want %v and no output, got %v (%d bytes)", tc.want, err, len(out))
			}
		})
	}
}

// TestWrapToMemberRefusesUnboundEnvelopeKey: a key is never wrapped to an
// envelope key that the member's own node key did not bind to its node_id.
func TestWrapToMemberRefusesUnboundEnvelopeKey(t *testing.T) {
	b, c := testIdentity(t, "b"), testIdentity(t, "c")
	// C binds B's envelope key to B's node_id with C's node key.
	forged, _, err := identity.SignMessage(c.Signer, append(append([]byte("dpc-envelope-key/v1\x00"), b.NodeID...), append([]byte{0}, b.EnvelopeKey.PublicKey().Bytes()...)...))
	if err != nil {
		t.Fatal(err)
	}
	// B's node key signs the same bytes, but as a plugin signature (other domain).
	domainSig, _, _, err := b.SignDomain("envelope-key", append(append([]byte(b.NodeID), 0), b.EnvelopeKey.PublicKey().Bytes()...))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		member func() Member
	}{
		{"binding signed by another node", func() Member { m := memberOf(b); m.EnvelopeBinding = forged; return m }},
		{"C's envelope key with B's binding", func() Member { m := memberOf(b); m.EnvelopePub = c.EnvelopeKey.PublicKey().Bytes(); return m }},
		{"C's envelope key and binding claimed for B", func() Member {
			m := memberOf(b)
			m.EnvelopePub, m.EnvelopeBinding = c.EnvelopeKey.PublicKey().Bytes(), c.EnvelopeBinding
			return m
		}},
		{"node key of another node", func() Member { m := memberOf(b); m.NodeKey = c.Signer.Public(); return m }},
		{"binding made as a plugin signature", func() Member { m := memberOf(b); m.EnvelopeBinding = domainSig; return m }},
		{"binding truncated", func() Member { m := memberOf(b); m.EnvelopeBinding = m.EnvelopeBinding[:63]; return m }},
		{"no binding", func() Member { m := memberOf(b); m.EnvelopeBinding = nil; return m }},
		{"envelope key of 31 bytes", func() Member { m := memberOf(b); m.EnvelopePub = m.EnvelopePub[:31]; return m }},
		{"no node key", func() Member { m := memberOf(b); m.NodeKey = nil; return m }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := WrapToMember(NewKey(), tc.member(), testChannel, testEpoch)
			if !errors.Is(err, ErrEnvelopeBinding) {
				t.Fatalf("want ErrEnvelopeBinding, got %v", err)
			}
			if out != nil {
				t.Fatal("a key was wrapped to an unbound envelope key")
			}
		})
	}
}

// TestWrapUsesDocumentedSuiteAndInfo opens Wrap's output with crypto/hpke
// directly, with the suite and info string built by hand from the spec.
func TestWrapUsesDocumentedSuiteAndInfo(t *testing.T) {
	b := testIdentity(t, "b")
	key := NewKey()
	wrapped, err := Wrap(key, b.EnvelopeKey.PublicKey(), testChannel, testEpoch, b.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	kem, err := hpke.NewKEM(0x0020) // DHKEM(X25519, HKDF-SHA256)
	if err != nil {
		t.Fatal(err)
	}
	kdf, err := hpke.NewKDF(0x0001) // HKDF-SHA256
	if err != nil {
		t.Fatal(err)
	}
	aead, err := hpke.NewAEAD(0x0003) // ChaCha20-Poly1305
	if err != nil {
		t.Fatal(err)
	}
	sk, err := kem.NewPrivateKey(b.EnvelopeKey.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r, err := hpke.NewRecipient(wrapped[:EncSize], sk, kdf, aead, specInfo(testChannel, testEpoch, b.NodeID))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Open(nil, wrapped[EncSize:])
	if err != nil {
		t.Fatalf("open with the documented suite and info: %v", err)
	}
	if !bytes.Equal(got, key.Bytes()) {
		t.Fatal("key differs")
	}
}

// TestWrapNewEpoch: the key of the epoch an op introduces (create, remove,
// rekey) is bound to that op's HeaderDigest, since the epoch id (the op's
// own id) hashes the body that carries the wrapped key. It opens only for
// that digest and recipient, and never as an existing epoch's key.
func TestWrapNewEpoch(t *testing.T) {
	b, c, r := testIdentity(t, "b"), testIdentity(t, "c"), testIdentity(t, "rsa")
	key := NewKey()
	for _, id := range []string{"b", "rsa"} {
		m := testIdentity(t, id)
		w, err := WrapNewEpochToMember(key, memberOf(m), testDigest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnwrapNewEpoch(w, m.EnvelopeKey, testDigest, m.NodeID)
		if err != nil || !got.Equal(key) {
			t.Fatalf("%s: round trip: %v", id, err)
		}
	}
	forB, err := WrapNewEpochToMember(key, memberOf(b), testDigest)
	if err != nil {
		t.Fatal(err)
	}
	asExisting, err := WrapToMember(key, memberOf(b), testChannel, testDigest)
	if err != nil {
		t.Fatal(err)
	}
	unbound := memberOf(b)
	unbound.EnvelopeBinding = c.EnvelopeBinding
	if _, err := WrapNewEpochToMember(key, unbound, testDigest); !errors.Is(err, ErrEnvelopeBinding) {
		t.Fatalf("unbound envelope key: want ErrEnvelopeBinding, got %v", err)
	}
	cases := []struct {
		name string
		open func() (Key, error)
		want error
	}{
		{"other header digest", func() (Key, error) { return UnwrapNewEpoch(forB, b.EnvelopeKey, flip(testDigest, 0), b.NodeID) }, ErrUnwrap},
		{"other node_id", func() (Key, error) { return UnwrapNewEpoch(forB, b.EnvelopeKey, testDigest, c.NodeID) }, ErrUnwrap},
		{"C's envelope key", func() (Key, error) { return UnwrapNewEpoch(forB, c.EnvelopeKey, testDigest, b.NodeID) }, ErrUnwrap},
		{"RSA member's envelope key", func() (Key, error) { return UnwrapNewEpoch(forB, r.EnvelopeKey, testDigest, r.NodeID) }, ErrUnwrap},
		{"new-epoch wrap opened as an existing epoch", func() (Key, error) {
			return Unwrap(forB, b.EnvelopeKey, testChannel, testDigest, b.NodeID)
		}, ErrUnwrap},
		{"existing-epoch wrap opened as a new epoch", func() (Key, error) {
			return UnwrapNewEpoch(asExisting, b.EnvelopeKey, testDigest, b.NodeID)
		}, ErrUnwrap},
		{"truncated", func() (Key, error) { return UnwrapNewEpoch(forB[:WrappedSize-1], b.EnvelopeKey, testDigest, b.NodeID) }, ErrUnwrap},
		{"modified tag", func() (Key, error) {
			return UnwrapNewEpoch(flip(forB, WrappedSize-1), b.EnvelopeKey, testDigest, b.NodeID)
		}, ErrUnwrap},
		{"zero header digest", func() (Key, error) { return UnwrapNewEpoch(forB, b.EnvelopeKey, make([]byte, IDSize), b.NodeID) }, ErrInvalidID},
		{"header digest of 31 bytes", func() (Key, error) { return UnwrapNewEpoch(forB, b.EnvelopeKey, testDigest[:31], b.NodeID) }, ErrInvalidID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.open()
			if !errors.Is(err, tc.want) || !got.IsZero() {
				t.Fatalf("want %v and no key, got %v", tc.want, err)
			}
		})
	}

	// The documented info string, by hand.
	kem, _ := hpke.NewKEM(0x0020)
	sk, err := kem.NewPrivateKey(b.EnvelopeKey.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	info := append([]byte("dpc-channel-key-new-epoch/v1\x00"), testDigest...)
	info = append(info, b.NodeID...)
	pt, err := hpke.Open(sk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, forB)
	if err != nil || !bytes.Equal(pt, key.Bytes()) {
		t.Fatalf("open with the documented new-epoch info: %v", err)
	}
}
