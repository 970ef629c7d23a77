package chancrypt

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"testing"
	"time"
)

// fuzzKey is a fixed epoch key, so a seed sealed with it opens.
var fuzzKey, _ = KeyFromBytes(bytes.Repeat([]byte{0x42}, KeySize))

// FuzzOpen: Open never panics on outside bytes, returns only its sentinels,
// and opens nothing but what was sealed for exactly these identifiers.
func FuzzOpen(f *testing.F) {
	pt := []byte("seed plaintext")
	sealed, err := Seal(fuzzKey, testChannel, testEpoch, testDigest, pt)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, testChannel, testEpoch, testDigest)
	f.Add(sealed[:Overhead], testChannel, testEpoch, testDigest)
	f.Add(flip(sealed, 30), testChannel, testEpoch, testDigest)
	f.Add(sealed, testEpoch, testChannel, testDigest)
	f.Add([]byte{}, []byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, sealedIn, channel, epoch, digest []byte) {
		got, err := Open(fuzzKey, channel, epoch, digest, sealedIn)
		if err != nil {
			if !errors.Is(err, ErrOpen) && !errors.Is(err, ErrInvalidID) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		// Seeds are sealed with a random nonce in each fuzz worker, so compare
		// what was authenticated, not the bytes.
		if !bytes.Equal(channel, testChannel) || !bytes.Equal(epoch, testEpoch) || !bytes.Equal(digest, testDigest) {
			t.Fatalf("opened a body under identifiers it was not sealed for: %x %x %x", channel, epoch, digest)
		}
		if !bytes.Equal(got, pt) {
			t.Fatal("plaintext differs")
		}
	})
}

// fuzzEnvelope is a fixed X25519 envelope key (any 32 bytes are a valid
// X25519 private key).
var fuzzEnvelope, _ = ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x17}, 32))

const fuzzNodeID = "dpc-node-0123456789abcdef0123456789abcdef"

// FuzzUnwrap: Unwrap never panics on outside bytes, returns only its
// sentinels, and opens nothing but the key wrapped for exactly this
// channel, epoch and node_id.
func FuzzUnwrap(f *testing.F) {
	wrapped, err := Wrap(fuzzKey, fuzzEnvelope.PublicKey(), testChannel, testEpoch, fuzzNodeID)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(wrapped, testChannel, testEpoch, fuzzNodeID)
	f.Add(flip(wrapped, 0), testChannel, testEpoch, fuzzNodeID)
	f.Add(wrapped[:EncSize], testChannel, testEpoch, fuzzNodeID)
	f.Add(make([]byte, WrappedSize), testChannel, testEpoch, fuzzNodeID)
	f.Add(wrapped, testChannel, testEpoch, "dpc-node-0123456789abcdef0123456789abcdee")
	f.Add([]byte{}, []byte{}, []byte{}, "")
	f.Fuzz(func(t *testing.T, w, channel, epoch []byte, nodeID string) {
		// The new-epoch form shares the code after the info string: it
		// must refuse everything here (nothing was wrapped with it).
		if k, err := UnwrapNewEpoch(w, fuzzEnvelope, epoch, nodeID); err == nil || !k.IsZero() {
			t.Fatalf("UnwrapNewEpoch opened bytes never wrapped for a new epoch: %x", w)
		} else if !errors.Is(err, ErrUnwrap) && !errors.Is(err, ErrInvalidID) {
			t.Fatalf("error without a sentinel: %v", err)
		}
		got, err := Unwrap(w, fuzzEnvelope, channel, epoch, nodeID)
		if err != nil {
			if !errors.Is(err, ErrUnwrap) && !errors.Is(err, ErrInvalidID) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			if !got.IsZero() {
				t.Fatal("a failed Unwrap returned a key")
			}
			return
		}
		// Seeds are wrapped with a fresh ephemeral key in each fuzz worker, so
		// compare what was authenticated, not the bytes.
		if !bytes.Equal(channel, testChannel) || !bytes.Equal(epoch, testEpoch) || nodeID != fuzzNodeID {
			t.Fatalf("unwrapped a key under a channel, epoch or node_id it was not wrapped for: %x %x %q", channel, epoch, nodeID)
		}
		if !got.Equal(fuzzKey) {
			t.Fatal("key differs")
		}
	})
}

// FuzzDecodeIntroduction: the decoder never panics, accepts only canonical
// bytes (Encode(Decode(b)) == b), and nothing but the fixture verifies
// with the fixture voucher's key.
func FuzzDecodeIntroduction(f *testing.F) {
	golden := goldenIntroduction(f)
	voucher := fixtureVoucher(f).Public()
	f.Add(golden)
	f.Add(golden[:len(golden)-1])
	f.Add(append(bytes.Clone(golden), 0))
	f.Add(flip(golden, len(golden)-70))
	f.Add([]byte{1})
	f.Add([]byte{})
	now := fixtureIssued.Add(time.Hour)
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeIntroduction(b)
		if err != nil {
			if !errors.Is(err, ErrBadIntroduction) || in != nil {
				t.Fatalf("want ErrBadIntroduction and no value, got %v", err)
			}
			return
		}
		if enc := in.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("not canonical: decoded %x, re-encoded %x", b, enc)
		}
		if err := in.Verify(voucher, now); err == nil && !bytes.Equal(b, golden) {
			t.Fatalf("a modified introduction verifies: %x", b)
		}
	})
}
