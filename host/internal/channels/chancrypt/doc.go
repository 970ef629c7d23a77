// Package chancrypt is the cryptography of multi-user channels: per-epoch
// channel keys, the inner AEAD layer that seals operation bodies, wrapping an
// epoch key to one member's envelope key, and introductions (signed vouches).
// It is pure: no I/O, no state, no operation encoding. Callers (chanop, the
// channel service) pass in the byte strings the format names: channel id,
// epoch id, HeaderDigest, the recipient's node_id.
//
// # Epoch keys
//
// A [Key] is 32 random bytes ([NewKey]). It never prints its bytes: String,
// GoString and Format redact, so a key in a log line or an error shows as
// "chancrypt.Key(redacted)".
//
// # Inner layer
//
// [Seal] uses XChaCha20-Poly1305 with a fresh random 24-byte nonce for every
// seal (the sealed body is nonce || ciphertext || tag), so DMPC's nonce reuse
// cannot happen: 2^96 random nonces make a collision negligible for any
// number of posts one epoch will ever see. The associated data is
//
//	"dpc-channel-body/v1\x00" || channel id (32) || epoch id (32) || HeaderDigest (32)
//
// HeaderDigest is SHA-256 of the operation's canonical header with the body
// hash zeroed: the op id depends on the body hash, which depends on the
// ciphertext, so the AD binds everything in the header except that hash.
// Moving a ciphertext to another channel, epoch or header makes [Open] fail.
//
// # Key wrapping
//
// [Wrap] seals an epoch key to one member with HPKE (RFC 9180, Go's
// crypto/hpke) in base mode, suite DHKEM(X25519, HKDF-SHA256) (0x0020),
// HKDF-SHA256 (0x0001), ChaCha20-Poly1305 (0x0003), with
//
//	info = "dpc-channel-key/v1\x00" || channel id (32) || epoch id (32) || recipient node_id
//
// and no AAD. That is for an existing epoch (an add op hands it to the new
// member). The ops that introduce an epoch (create, remove, rekey) carry its
// key, but the epoch id is their own op id, which hashes the body holding the
// wrapped key; [WrapNewEpoch] therefore binds the op's HeaderDigest instead:
//
//	info = "dpc-channel-key-new-epoch/v1\x00" || HeaderDigest (32) || recipient node_id
//
// The result is enc (32) || ciphertext (32) || tag (16), exactly
// [WrappedSize] bytes. There is no RSA anywhere (DMPC wrapped keys with RSA
// PKCS#1 v1.5). [WrapToMember] first checks the member's envelope key binding
// (identity.VerifyEnvelopeBinding): a key is only ever wrapped to an X25519
// key the member's node key signed.
//
// # Introductions
//
// An [Introduction] is node A's signed statement "I vouch for node_id B,
// whose certificate has this SHA-256 fingerprint", with the time it was made
// and an optional expiry. Its canonical encoding and the signed message
// ("dpc-introduction/v1\x00" || statement) are in proto/channels.md;
// [DecodeIntroduction] is strict (fuzzed: Encode(Decode(b)) == b).
// [Introduction.Verify] checks that A's node_id derives from the key it is
// given (sdk/nodeid), the signature, and the time bounds: expired statements
// and statements dated more than [MaxClockSkew] in the future are refused.
package chancrypt
