package chancrypt

import (
	"crypto/rand"
	"fmt"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// IDSize is the size of a channel id, an epoch id and a HeaderDigest.
	IDSize = 32
	// NonceSize is the size of the random nonce that starts a sealed body.
	NonceSize = chacha20poly1305.NonceSizeX
	// Overhead is what sealing adds to a plaintext: nonce and Poly1305 tag.
	Overhead = NonceSize + chacha20poly1305.Overhead
	// MaxSealedSize is the largest sealed body: the largest operation body
	// the op format carries (64 KiB).
	MaxSealedSize = 64 << 10
	// MaxPlaintextSize is the largest plaintext Seal accepts.
	MaxPlaintextSize = MaxSealedSize - Overhead
)

// bodyADContext starts the associated data of every sealed body.
const bodyADContext = "dpc-channel-body/v1\x00"

// bodyADSize is the size of the associated data.
const bodyADSize = len(bodyADContext) + 3*IDSize

// checkID checks that an identifier is IDSize bytes and, when nonZero, not all zero.
func checkID(what string, id []byte, nonZero bool) error {
	if len(id) != IDSize {
		return fmt.Errorf("%w: %s of %d bytes, want %d", ErrInvalidID, what, len(id), IDSize)
	}
	if nonZero && allZero(id) {
		return fmt.Errorf("%w: %s is all zero", ErrInvalidID, what)
	}
	return nil
}

// allZero reports whether b is all zero bytes, without an early exit.
func allZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// adPool recycles associated-data buffers: the AEAD interface makes any AD
// escape to the heap, and posts are the hot path.
var adPool = sync.Pool{New: func() any { return new([bodyADSize]byte) }}

// bodyAD fills a pooled buffer with
// "dpc-channel-body/v1\x00" || channel || epoch || headerDigest after
// checking the three identifiers. Give it back with adPool.Put.
func bodyAD(channelID, epochID, headerDigest []byte) (*[bodyADSize]byte, error) {
	if err := checkID("channel id", channelID, true); err != nil {
		return nil, err
	}
	if err := checkID("epoch id", epochID, true); err != nil {
		return nil, err
	}
	if err := checkID("header digest", headerDigest, false); err != nil {
		return nil, err
	}
	ad := adPool.Get().(*[bodyADSize]byte)
	n := copy(ad[:], bodyADContext)
	n += copy(ad[n:], channelID)
	n += copy(ad[n:], epochID)
	copy(ad[n:], headerDigest)
	return ad, nil
}

// Seal encrypts plaintext with the epoch key for one operation of channel
// channelID, epoch epochID, whose header (body hash zeroed) hashes to
// headerDigest. The result is nonce (24 random bytes) || ciphertext || tag.
func Seal(key Key, channelID, epochID, headerDigest, plaintext []byte) ([]byte, error) {
	if err := key.check(); err != nil {
		return nil, fmt.Errorf("seal channel body: %w", err)
	}
	if len(plaintext) > MaxPlaintextSize {
		return nil, fmt.Errorf("seal channel body: %w: %d bytes, at most %d", ErrTooLarge, len(plaintext), MaxPlaintextSize)
	}
	ad, err := bodyAD(channelID, epochID, headerDigest)
	if err != nil {
		return nil, fmt.Errorf("seal channel body: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key.b[:])
	if err != nil {
		return nil, fmt.Errorf("seal channel body: %w", err)
	}
	out := make([]byte, NonceSize, len(plaintext)+Overhead)
	// A fresh random nonce per seal: never reused under one key (DMPC reused one).
	_, _ = rand.Read(out)
	out = aead.Seal(out, out[:NonceSize], plaintext, ad[:])
	adPool.Put(ad)
	return out, nil
}

// Open decrypts a body made by Seal with the same key, channel id, epoch id
// and header digest. Every failure to authenticate is ErrOpen.
func Open(key Key, channelID, epochID, headerDigest, sealed []byte) ([]byte, error) {
	if err := key.check(); err != nil {
		return nil, fmt.Errorf("open channel body: %w", err)
	}
	if len(sealed) > MaxSealedSize {
		return nil, fmt.Errorf("open channel body: %w: %d bytes, at most %d", ErrTooLarge, len(sealed), MaxSealedSize)
	}
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("open channel body: %w: truncated to %d bytes, a sealed body has at least %d", ErrOpen, len(sealed), Overhead)
	}
	ad, err := bodyAD(channelID, epochID, headerDigest)
	if err != nil {
		return nil, fmt.Errorf("open channel body: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key.b[:])
	if err != nil {
		return nil, fmt.Errorf("open channel body: %w", err)
	}
	pt, err := aead.Open(nil, sealed[:NonceSize], sealed[NonceSize:], ad[:])
	adPool.Put(ad)
	if err != nil {
		return nil, fmt.Errorf("open channel body: %w: wrong key, or the channel, epoch or header differs from the one it was sealed for, or the bytes were modified", ErrOpen)
	}
	return pt, nil
}
