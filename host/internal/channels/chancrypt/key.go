package chancrypt

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
)

// KeySize is the size of an epoch key in bytes.
const KeySize = 32

// redacted is what every printing of a Key shows.
const redacted = "chancrypt.Key(redacted)"

// Key is one key epoch's symmetric key. Its bytes never print: String,
// GoString, Format and LogValue all give "chancrypt.Key(redacted)", so a key
// that ends up in a log line or an error message leaks nothing. The zero
// Key is not a key: Seal, Open and Wrap refuse it.
type Key struct {
	b [KeySize]byte
}

// NewKey returns a fresh random epoch key.
func NewKey() Key {
	var k Key
	// crypto/rand.Read never fails (it crashes the program instead, since Go 1.24).
	_, _ = rand.Read(k.b[:])
	return k
}

// KeyFromBytes makes a Key from its 32 bytes (a key kept in the store). It
// refuses other lengths and the all-zero key.
func KeyFromBytes(b []byte) (Key, error) {
	var k Key
	if len(b) != KeySize {
		return k, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(b), KeySize)
	}
	copy(k.b[:], b)
	if k.IsZero() {
		return Key{}, fmt.Errorf("%w: all zero", ErrInvalidKey)
	}
	return k, nil
}

// Bytes returns a copy of the key's bytes, for the store (which keeps them
// encrypted at rest). Never log them.
func (k Key) Bytes() []byte {
	out := make([]byte, KeySize)
	copy(out, k.b[:])
	return out
}

// IsZero reports whether k is the zero Key (no key).
func (k Key) IsZero() bool {
	return allZero(k.b[:])
}

// Equal reports whether two keys are the same, in constant time.
func (k Key) Equal(o Key) bool {
	return subtle.ConstantTimeCompare(k.b[:], o.b[:]) == 1
}

// check refuses the zero Key.
func (k Key) check() error {
	if k.IsZero() {
		return fmt.Errorf("%w: zero key (not made by NewKey, KeyFromBytes or Unwrap)", ErrInvalidKey)
	}
	return nil
}

// String redacts the key.
func (k Key) String() string { return redacted }

// GoString redacts the key (for %#v).
func (k Key) GoString() string { return redacted }

// Format redacts the key for every verb (%x, %v, %s, %d...), so no fmt verb
// can reach the bytes.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue redacts the key in slog records.
func (k Key) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText refuses to encode a key as text (JSON, HCL...), so it cannot be
// serialized by accident; the store uses Bytes.
func (k Key) MarshalText() ([]byte, error) {
	return nil, fmt.Errorf("%w: a channel key is never encoded as text", ErrInvalidKey)
}
