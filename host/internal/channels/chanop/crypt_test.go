package chanop

import (
	"bytes"
	"testing"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/identity"
)

// The author's flow with the real inner layer: the draft's HeaderDigest is
// what Seal and WrapNewEpoch bind, and a reader recomputes it from the
// signed header (the body hash zeroed) to open.
func TestSealedOpsWithChancrypt(t *testing.T) {
	a := newIdentity(t, identity.KeyEd25519)
	key := chancrypt.NewKey()
	env := a.EnvelopeKey.PublicKey()

	d, err := NewDraft(TypeCreate, ID{}, nil, a.NodeID, ID{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	dg := d.Digest()
	wrapped, err := chancrypt.WrapNewEpoch(key, env, dg[:], a.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	create, err := d.Sign(a.Signer, CreateBody{Name: "c", Cert: a.Certificate.Raw, EnvelopeKey: envelope(a), Binding: a.EnvelopeBinding, WrappedKey: wrapped})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(create.Encode())
	if err != nil {
		t.Fatal(err)
	}
	rdg := got.Header.Digest()
	k, err := chancrypt.UnwrapNewEpoch(got.Body.(CreateBody).WrappedKey, a.EnvelopeKey, rdg[:], a.NodeID)
	if err != nil || !k.Equal(key) {
		t.Fatalf("unwrap the create's key: %v", err)
	}

	ch, epoch := create.ID(), create.ID()
	d, err = NewDraft(TypePost, ch, []ID{ch}, a.NodeID, epoch, 2)
	if err != nil {
		t.Fatal(err)
	}
	dg = d.Digest()
	text := bytes.Repeat([]byte("x"), MaxText)
	sealed, err := chancrypt.Seal(key, ch[:], epoch[:], dg[:], text)
	if err != nil {
		t.Fatal(err)
	}
	post, err := d.Sign(a.Signer, PostBody{Sealed: sealed})
	if err != nil {
		t.Fatalf("a post of MaxText bytes does not fit: %v", err)
	}
	got, err = Decode(post.Encode())
	if err != nil {
		t.Fatal(err)
	}
	rdg = got.Header.Digest()
	plain, err := chancrypt.Open(key, got.Header.Channel[:], got.Header.Epoch[:], rdg[:], got.Body.(PostBody).Sealed)
	if err != nil || !bytes.Equal(plain, text) {
		t.Fatalf("open: %v", err)
	}
}

// BenchmarkSealSignVerifyOpenPost is one 256 B post end to end as far as
// these packages go: seal, sign, encode, decode, verify, open.
func BenchmarkSealSignVerifyOpenPost(b *testing.B) {
	a := newIdentity(b, identity.KeyEd25519)
	key := chancrypt.NewKey()
	ch, parents, epoch := randomID(), []ID{randomID()}, randomID()
	text := make([]byte, 256)
	pub := a.Signer.Public()
	b.ReportAllocs()
	for b.Loop() {
		d, err := NewDraft(TypePost, ch, parents, a.NodeID, epoch, 1)
		if err != nil {
			b.Fatal(err)
		}
		dg := d.Digest()
		sealed, err := chancrypt.Seal(key, ch[:], epoch[:], dg[:], text)
		if err != nil {
			b.Fatal(err)
		}
		op, err := d.Sign(a.Signer, PostBody{Sealed: sealed})
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
		rdg := got.Header.Digest()
		if _, err := chancrypt.Open(key, ch[:], epoch[:], rdg[:], got.Body.(PostBody).Sealed); err != nil {
			b.Fatal(err)
		}
	}
}
