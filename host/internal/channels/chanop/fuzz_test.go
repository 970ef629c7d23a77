package chanop

import (
	"bytes"
	"testing"

	"github.com/dpc-go/dpc/host/internal/identity"
)

// FuzzDecode: the op decoder never panics, and what it accepts re-encodes
// to the same bytes (one encoding per op).
func FuzzDecode(f *testing.F) {
	a, b := newIdentity(f, identity.KeyEd25519), newIdentity(f, identity.KeyEd25519)
	for _, op := range everyType(f, a, b) {
		f.Add(op.Encode())
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		op, err := Decode(wire)
		if err != nil {
			return
		}
		if !bytes.Equal(op.Encode(), wire) {
			t.Fatalf("Encode(Decode(b)) != b")
		}
		if !bytes.Equal(op.Header.Encode(), op.HeaderBytes) || !bytes.Equal(op.Body.Encode(), op.BodyBytes) {
			t.Fatalf("header or body does not re-encode")
		}
		_ = Verify(op, a.Signer.Public())
	})
}

// FuzzDecodeHeader: the header decoder never panics and is canonical.
func FuzzDecodeHeader(f *testing.F) {
	a, b := newIdentity(f, identity.KeyEd25519), newIdentity(f, identity.KeyEd25519)
	for _, op := range everyType(f, a, b) {
		f.Add(op.HeaderBytes)
	}
	f.Fuzz(func(t *testing.T, hb []byte) {
		h, err := DecodeHeader(hb)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Encode(), hb) {
			t.Fatalf("header does not re-encode to the same bytes")
		}
	})
}

// FuzzDecodeBody: every body decoder (the first byte picks the type) never
// panics and is canonical.
func FuzzDecodeBody(f *testing.F) {
	a, b := newIdentity(f, identity.KeyEd25519), newIdentity(f, identity.KeyEd25519)
	for _, op := range everyType(f, a, b) {
		f.Add(append([]byte{byte(op.Header.Type)}, op.BodyBytes...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		typ := Type(in[0])
		body, err := DecodeBody(typ, in[1:])
		if err != nil {
			return
		}
		if body.Type() != typ {
			t.Fatalf("decoded a %s body as %s", body.Type(), typ)
		}
		if !bytes.Equal(body.Encode(), in[1:]) {
			t.Fatalf("%s body does not re-encode to the same bytes", typ)
		}
	})
}
