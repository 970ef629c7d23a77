package chancrypt

import (
	"crypto/rand"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// BenchmarkSealOpen256 seals and opens a 256-byte body through the inner
// layer; compare with BenchmarkRawXChaCha256 in the same run.
func BenchmarkSealOpen256(b *testing.B) {
	key := NewKey()
	pt := make([]byte, 256)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		sealed, err := Seal(key, testChannel, testEpoch, testDigest, pt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Open(key, testChannel, testEpoch, testDigest, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawXChaCha256 is the primitive alone: a cipher per operation, a
// random nonce, seal and open of 256 bytes with an AD of the same size.
func BenchmarkRawXChaCha256(b *testing.B) {
	key := NewKey().Bytes()
	pt := make([]byte, 256)
	ad := make([]byte, bodyADSize)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		aead, err := chacha20poly1305.NewX(key)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = rand.Read(nonce)
		ct := aead.Seal(nil, nonce, pt, ad)
		aead2, err := chacha20poly1305.NewX(key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := aead2.Open(nil, nonce, ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWrapUnwrap wraps an epoch key to one member and unwraps it.
func BenchmarkWrapUnwrap(b *testing.B) {
	m := testIdentity(b, "b")
	key := NewKey()
	pub := m.EnvelopeKey.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		w, err := Wrap(key, pub, testChannel, testEpoch, m.NodeID)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Unwrap(w, m.EnvelopeKey, testChannel, testEpoch, m.NodeID); err != nil {
			b.Fatal(err)
		}
	}
}
