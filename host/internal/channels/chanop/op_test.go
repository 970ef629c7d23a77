package chanop

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/canon"
	"github.com/dpc-go/dpc/host/internal/identity"
)

func newIdentity(t testing.TB, kt identity.KeyType) *identity.Identity {
	t.Helper()
	id, err := identity.Create(filepath.Join(t.TempDir(), "id"), kt)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func envelope(id *identity.Identity) (k [EnvelopeKeySize]byte) {
	copy(k[:], id.EnvelopeKey.PublicKey().Bytes())
	return k
}

func randomID() (id ID) {
	rand.Read(id[:])
	return id
}

// everyType returns one valid op of each type, signed by a.
func everyType(t testing.TB, a, b *identity.Identity) []*Op {
	t.Helper()
	build := func(channel ID, parents []ID, epoch ID, body Body) *Op {
		op, err := Build(a.Signer, a.NodeID, channel, parents, epoch, 1_700_000_000_000, body)
		if err != nil {
			t.Fatalf("build %s: %v", body.Type(), err)
		}
		return op
	}
	create := build(ID{}, nil, ID{}, CreateBody{Name: "général", Cert: a.Certificate.Raw, EnvelopeKey: envelope(a), Binding: a.EnvelopeBinding, WrappedKey: []byte("wrapped-key-bytes")})
	ch := create.ID()
	ps := []ID{randomID(), randomID(), ch}
	keys := []WrappedFor{{Member: a.NodeID, WrappedKey: []byte{1}}, {Member: b.NodeID, WrappedKey: []byte{2}}}
	if a.NodeID > b.NodeID {
		keys[0], keys[1] = keys[1], keys[0]
	}
	return []*Op{
		create,
		build(ch, ps, ID{}, AddBody{Member: b.NodeID, Cert: b.Certificate.Raw, EnvelopeKey: envelope(b), Binding: b.EnvelopeBinding, Perms: PermRead | PermWrite, Epoch: ch, WrappedKey: []byte("k")}),
		build(ch, ps, ID{}, RemoveBody{Target: b.NodeID, Keys: keys[:1]}),
		build(ch, ps, ID{}, RekeyBody{Keys: keys}),
		build(ch, ps, ID{}, GrantBody{Target: b.NodeID, Perms: PermAll}),
		build(ch, ps, ch, PostBody{Sealed: bytes.Repeat([]byte{7}, 256)}),
		build(ch, ps, ch, EditBody{Target: randomID(), Sealed: []byte("sealed")}),
		build(ch, ps, ID{}, RedactBody{Target: randomID()}),
		build(ch, ps, ID{}, CloseBody{}),
	}
}

func TestRoundTripEveryType(t *testing.T) {
	a, b := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	for _, op := range everyType(t, a, b) {
		t.Run(op.Header.Type.String(), func(t *testing.T) {
			wire := op.Encode()
			got, err := Decode(wire)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(got.Encode(), wire) {
				t.Fatal("Encode(Decode(b)) != b")
			}
			if got.ID() != op.ID() {
				t.Fatal("op id changed")
			}
			if err := Verify(got, a.Signer.Public()); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if op.Header.Type == TypeCreate {
				if _, err := VerifyCreate(got); err != nil {
					t.Fatalf("verify create: %v", err)
				}
			}
		})
	}
}

// rawHeader encodes h without any check (for building bad inputs).
func rawOp(h Header, body, sig []byte) []byte {
	h.BodyHash = sha256.Sum256(body)
	var b []byte
	b = canon.AppendBytes(b, h.Encode())
	b = canon.AppendBytes(b, body)
	return canon.AppendBytes(b, sig)
}

func TestDecodeStrict(t *testing.T) {
	a := newIdentity(t, identity.KeyEd25519)
	ch := randomID()
	good := Header{Type: TypeClose, Channel: ch, Parents: []ID{{1}, {2}}, Author: a.NodeID, Time: 5}
	sig := []byte{1, 2, 3}
	with := func(f func(h *Header)) []byte {
		h := good
		h.Parents = append([]ID(nil), good.Parents...)
		f(&h)
		return rawOp(h, nil, sig)
	}
	goodWire := rawOp(good, nil, sig)
	if _, err := Decode(goodWire); err != nil {
		t.Fatalf("the good op does not decode: %v", err)
	}
	// A header whose version or type byte is patched.
	patch := func(i int, v byte) []byte {
		hb := good
		hb.BodyHash = sha256.Sum256(nil)
		enc := hb.Encode()
		enc[i] = v
		return append(append(canon.AppendBytes(nil, enc), 0), canon.AppendBytes(nil, sig)...)
	}
	cases := []struct {
		name string
		wire []byte
		want error
	}{
		{"trailing byte", append(append([]byte(nil), goodWire...), 0), ErrMalformed},
		{"truncated", goodWire[:len(goodWire)-1], ErrMalformed},
		{"empty", nil, ErrMalformed},
		{"non-minimal varint length", append([]byte{0x80 | byte(len(good.Encode())), 0x00}, goodWire[1:]...), ErrMalformed},
		{"unknown version", patch(0, 2), ErrUnknownVersion},
		{"unknown type", patch(1, 99), ErrUnknownType},
		{"type zero", patch(1, 0), ErrUnknownType},
		{"unsorted parents", with(func(h *Header) { h.Parents = []ID{{2}, {1}} }), ErrMalformed},
		{"duplicate parents", with(func(h *Header) { h.Parents = []ID{{1}, {1}} }), ErrMalformed},
		{"no parents", with(func(h *Header) { h.Parents = nil }), ErrMalformed},
		{"17 parents", with(func(h *Header) {
			h.Parents = nil
			for i := range 17 {
				h.Parents = append(h.Parents, ID{byte(i + 1)})
			}
		}), ErrTooLarge},
		{"zero channel", with(func(h *Header) { h.Channel = ID{} }), ErrMalformed},
		{"create with parents", with(func(h *Header) { h.Type = TypeCreate; h.Channel = ID{} }), ErrMalformed},
		{"epoch on an unsealed body", with(func(h *Header) { h.Epoch = ID{1} }), ErrMalformed},
		{"bad author", with(func(h *Header) { h.Author = "dpc-node-XYZ" }), ErrMalformed},
		{"author too long", with(func(h *Header) { h.Author = string(bytes.Repeat([]byte{'a'}, 65)) }), ErrTooLarge},
		{"negative time", with(func(h *Header) { h.Time = -1 }), ErrMalformed},
		{"time beyond year 9999", with(func(h *Header) { h.Time = MaxTime + 1 }), ErrMalformed},
		{"body hash mismatch", func() []byte {
			h := good
			h.BodyHash = sha256.Sum256([]byte("x"))
			return append(append(canon.AppendBytes(nil, h.Encode()), 0), canon.AppendBytes(nil, sig)...)
		}(), ErrBodyHash},
		{"body on a close", rawOp(good, []byte{0}, sig), ErrMalformed},
		{"empty signature", rawOp(good, nil, nil), ErrMalformed},
		{"signature too long", rawOp(good, nil, make([]byte, MaxSig+1)), ErrTooLarge},
		{"body too long", func() []byte {
			h := good
			h.Type, h.Epoch = TypePost, ID{1}
			return rawOp(h, make([]byte, MaxBody+1), sig)
		}(), ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.wire)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestDecodeBodyStrict(t *testing.T) {
	a, b := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	lo, hi := a.NodeID, b.NodeID
	if lo > hi {
		lo, hi = hi, lo
	}
	keys := func(ms ...string) []byte {
		out := binary.AppendUvarint(nil, uint64(len(ms)))
		for _, m := range ms {
			out = canon.AppendBytes(out, []byte(m))
			out = canon.AppendBytes(out, []byte{1})
		}
		return out
	}
	cases := []struct {
		name string
		typ  Type
		body []byte
		want error
	}{
		{"grant: unknown permission bit", TypeGrant, append(canon.AppendBytes(nil, []byte(a.NodeID)), 0x40), ErrMalformed},
		{"grant: target not a node_id", TypeGrant, append(canon.AppendBytes(nil, []byte("bob")), 1), ErrMalformed},
		{"rekey: unsorted key list", TypeRekey, keys(hi, lo), ErrMalformed},
		{"rekey: duplicate recipient", TypeRekey, keys(lo, lo), ErrMalformed},
		{"rekey: count beyond the bytes", TypeRekey, binary.AppendUvarint(nil, 1<<40), ErrMalformed},
		{"post: empty sealed text", TypePost, canon.AppendBytes(nil, nil), ErrMalformed},
		{"post: sealed text too long", TypePost, canon.AppendBytes(nil, make([]byte, MaxSealed+1)), ErrTooLarge},
		{"create: name not UTF-8", TypeCreate, canon.AppendBytes(nil, []byte{0xff}), ErrMalformed},
		{"create: name too long", TypeCreate, canon.AppendBytes(nil, make([]byte, MaxName+1)), ErrTooLarge},
		{"redact: short", TypeRedact, make([]byte, 31), ErrMalformed},
		{"redact: trailing", TypeRedact, make([]byte, 33), ErrMalformed},
		{"close: not empty", TypeClose, []byte{0}, ErrMalformed},
		{"unknown type", Type(42), nil, ErrUnknownType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := DecodeBody(c.typ, c.body); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// DMPC signed only the payload: type, channel, time and parents could be
// changed without breaking the signatures. Here every header byte is
// covered: changing any one either makes the op undecodable or breaks the
// signature, and changing any body byte breaks the body hash.
func TestUnsignedMetadataFlaw_EveryByteIsSigned(t *testing.T) {
	a, b := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	for _, op := range everyType(t, a, b) {
		for i := range op.HeaderBytes {
			h := bytes.Clone(op.HeaderBytes)
			h[i] ^= 0x01
			wire := canon.AppendBytes(canon.AppendBytes(canon.AppendBytes(nil, h), op.BodyBytes), op.Sig)
			got, err := Decode(wire)
			if err != nil {
				continue
			}
			if Verify(got, a.Signer.Public()) == nil {
				t.Fatalf("%s: header byte %d changed and the signature still verifies", op.Header.Type, i)
			}
		}
		for i := range op.BodyBytes {
			body := bytes.Clone(op.BodyBytes)
			body[i] ^= 0x01
			wire := canon.AppendBytes(canon.AppendBytes(canon.AppendBytes(nil, op.HeaderBytes), body), op.Sig)
			if _, err := Decode(wire); !errors.Is(err, ErrBodyHash) {
				t.Fatalf("%s: body byte %d changed: got %v, want ErrBodyHash", op.Header.Type, i, err)
			}
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	a, b := newIdentity(t, identity.KeyEd25519), newIdentity(t, identity.KeyEd25519)
	ops := everyType(t, a, b)
	post := ops[5]
	t.Run("key of another node", func(t *testing.T) {
		if err := Verify(post, b.Signer.Public()); !errors.Is(err, ErrAuthorKey) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("signature of another op", func(t *testing.T) {
		other := *post
		other.Sig = ops[6].Sig
		if err := Verify(&other, a.Signer.Public()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("signed under another domain", func(t *testing.T) {
		// A plugin-domain signature over the same header bytes is useless here.
		sig, _, _, err := a.SignDomain("channel-op", post.HeaderBytes)
		if err != nil {
			t.Fatal(err)
		}
		other := *post
		other.Sig = sig
		if err := Verify(&other, a.Signer.Public()); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("member certificate of another node", func(t *testing.T) {
		if _, err := MemberKey(a.NodeID, b.Certificate.Raw, envelope(b), b.EnvelopeBinding); !errors.Is(err, ErrAuthorKey) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("envelope key not bound", func(t *testing.T) {
		if _, err := MemberKey(b.NodeID, b.Certificate.Raw, envelope(a), b.EnvelopeBinding); !errors.Is(err, ErrEnvelopeBinding) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("certificate garbage", func(t *testing.T) {
		if _, err := MemberKey(b.NodeID, []byte("junk"), envelope(b), b.EnvelopeBinding); !errors.Is(err, ErrBadCertificate) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("builder refuses a signer of another node", func(t *testing.T) {
		if _, err := Build(b.Signer, a.NodeID, randomID(), []ID{{1}}, ID{}, 1, CloseBody{}); !errors.Is(err, ErrAuthorKey) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRSAIdentitySignsAndVerifies(t *testing.T) {
	a := newIdentity(t, identity.KeyRSA)
	op, err := Build(a.Signer, a.NodeID, ID{}, nil, ID{}, 1, CreateBody{Name: "rsa", Cert: a.Certificate.Raw, EnvelopeKey: envelope(a), Binding: a.EnvelopeBinding, WrappedKey: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(op.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCreate(got); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestHeaderDigestIgnoresBodyHashOnly(t *testing.T) {
	a := newIdentity(t, identity.KeyEd25519)
	d, err := NewDraft(TypePost, randomID(), []ID{{1}}, a.NodeID, ID{9}, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := d.Digest()
	op, err := d.Sign(a.Signer, PostBody{Sealed: []byte("sealed")})
	if err != nil {
		t.Fatal(err)
	}
	if op.Header.Digest() != before {
		t.Fatal("the digest changed when the body hash was filled in")
	}
	h := op.Header
	h.Time++
	if h.Digest() == before {
		t.Fatal("the digest does not cover the time")
	}
	d2, _ := NewDraft(TypePost, op.Header.Channel, []ID{{1}}, a.NodeID, ID{9}, 1)
	if d2.Digest() == before {
		t.Fatal("two drafts share a digest: the nonce is not random")
	}
}

func BenchmarkSignVerifyOp(b *testing.B) {
	a := newIdentity(b, identity.KeyEd25519)
	ch, parents, body := randomID(), []ID{randomID()}, PostBody{Sealed: make([]byte, 256)}
	pub := a.Signer.Public()
	b.ReportAllocs()
	for b.Loop() {
		op, err := Build(a.Signer, a.NodeID, ch, parents, ID{1}, 1, body)
		if err != nil {
			b.Fatal(err)
		}
		got, err := Decode(op.Encode())
		if err != nil {
			b.Fatal(err)
		}
		if err := Verify(got, pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawEd25519SignVerify is the physical limit for the benchmark
// above: one Ed25519 signature and verification over a message of the size
// of a post's signed header.
func BenchmarkRawEd25519SignVerify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, len(signedContext)+200)
	b.ReportAllocs()
	for b.Loop() {
		sig := ed25519.Sign(priv, msg)
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify")
		}
	}
}
