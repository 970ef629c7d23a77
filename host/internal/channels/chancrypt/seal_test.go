package chancrypt

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

func TestSealOpenRoundTrip(t *testing.T) {
	key := NewKey()
	cases := map[string]int{"empty": 0, "one byte": 1, "256 bytes": 256, "largest": MaxPlaintextSize}
	for name, n := range cases {
		t.Run(name, func(t *testing.T) {
			pt := bytes.Repeat([]byte{'m'}, n)
			sealed, err := Seal(key, testChannel, testEpoch, testDigest, pt)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != n+Overhead {
				t.Fatalf("sealed size: want %d, got %d", n+Overhead, len(sealed))
			}
			got, err := Open(key, testChannel, testEpoch, testDigest, sealed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatal("plaintext differs after Open")
			}
		})
	}
}

// TestOpenRefuses: every change to the key, the associated data or the
// sealed bytes makes Open fail with a sentinel, never a panic.
func TestOpenRefuses(t *testing.T) {
	key := NewKey()
	pt := []byte("hello, channel")
	sealed, err := Seal(key, testChannel, testEpoch, testDigest, pt)
	if err != nil {
		t.Fatal(err)
	}
	last := len(sealed) - 1
	cases := []struct {
		name                   string
		key                    Key
		channel, epoch, digest []byte
		sealed                 []byte
		want                   error
	}{
		{"tampered AD: other channel", key, flip(testChannel, 0), testEpoch, testDigest, sealed, ErrOpen},
		{"tampered AD: other epoch", key, testChannel, flip(testEpoch, 31), testDigest, sealed, ErrOpen},
		{"tampered AD: other header digest", key, testChannel, testEpoch, flip(testDigest, 7), sealed, ErrOpen},
		{"tampered AD: channel and epoch swapped", key, testEpoch, testChannel, testDigest, sealed, ErrOpen},
		{"wrong key", NewKey(), testChannel, testEpoch, testDigest, sealed, ErrOpen},
		{"zero key", Key{}, testChannel, testEpoch, testDigest, sealed, ErrInvalidKey},
		{"truncated: empty", key, testChannel, testEpoch, testDigest, nil, ErrOpen},
		{"truncated: nonce only", key, testChannel, testEpoch, testDigest, sealed[:NonceSize], ErrOpen},
		{"truncated: one byte short of nonce and tag", key, testChannel, testEpoch, testDigest, sealed[:Overhead-1], ErrOpen},
		{"truncated: last byte cut", key, testChannel, testEpoch, testDigest, sealed[:last], ErrOpen},
		{"extended: one byte appended", key, testChannel, testEpoch, testDigest, append(bytes.Clone(sealed), 0), ErrOpen},
		{"modified nonce", key, testChannel, testEpoch, testDigest, flip(sealed, 0), ErrOpen},
		{"modified ciphertext", key, testChannel, testEpoch, testDigest, flip(sealed, NonceSize), ErrOpen},
		{"modified tag", key, testChannel, testEpoch, testDigest, flip(sealed, last), ErrOpen},
		{"too large", key, testChannel, testEpoch, testDigest, make([]byte, MaxSealedSize+1), ErrTooLarge},
		{"channel id of 31 bytes", key, testChannel[:31], testEpoch, testDigest, sealed, ErrInvalidID},
		{"epoch id all zero", key, testChannel, make([]byte, IDSize), testDigest, sealed, ErrInvalidID},
		{"header digest of 33 bytes", key, testChannel, testEpoch, append(bytes.Clone(testDigest), 0), sealed, ErrInvalidID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(tc.key, tc.channel, tc.epoch, tc.digest, tc.sealed)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
			if got != nil {
				t.Fatalf("a failed Open returned plaintext %q", got)
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	key := NewKey()
	cases := []struct {
		name                   string
		key                    Key
		channel, epoch, digest []byte
		plaintext              []byte
		want                   error
	}{
		{"plaintext too large", key, testChannel, testEpoch, testDigest, make([]byte, MaxPlaintextSize+1), ErrTooLarge},
		{"zero key", Key{}, testChannel, testEpoch, testDigest, nil, ErrInvalidKey},
		{"channel id all zero", key, make([]byte, IDSize), testEpoch, testDigest, nil, ErrInvalidID},
		{"no epoch id", key, testChannel, nil, testDigest, nil, ErrInvalidID},
		{"header digest of 16 bytes", key, testChannel, testEpoch, testDigest[:16], nil, ErrInvalidID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Seal(tc.key, tc.channel, tc.epoch, tc.digest, tc.plaintext); !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// TestSealLayoutMatchesSpec opens a sealed body with raw XChaCha20-Poly1305
// and the associated data built by hand from the spec, so the layout
// (nonce || ciphertext || tag) and the AD
// ("dpc-channel-body/v1\x00" || channel || epoch || HeaderDigest) are pinned.
func TestSealLayoutMatchesSpec(t *testing.T) {
	key := NewKey()
	pt := []byte("layout")
	sealed, err := Seal(key, testChannel, testEpoch, testDigest, pt)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("dpc-channel-body/v1\x00")
	ad = append(ad, testChannel...)
	ad = append(ad, testEpoch...)
	ad = append(ad, testDigest...)
	aead, err := chacha20poly1305.NewX(key.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := aead.Open(nil, sealed[:24], sealed[24:], ad)
	if err != nil {
		t.Fatalf("raw XChaCha20-Poly1305 with the spec's AD: %v", err)
	}
	if !bytes.Equal(got, pt) {
		t.Fatal("plaintext differs")
	}
}
