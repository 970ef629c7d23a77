package mailbox

import (
	"bytes"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/peers"
)

var testPayload = []byte(`{"channel_id":"` + string(bytes.Repeat([]byte("ab"), 32)) + `","ops":["AAEC"]}`)

func newIdentity(t testing.TB, kt identity.KeyType) *identity.Identity {
	t.Helper()
	id, err := identity.Create(filepath.Join(t.TempDir(), "id"), kt)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// recordOf is the peer record a session with id leaves behind.
func recordOf(id *identity.Identity) peers.Peer {
	return peers.Peer{NodeID: id.NodeID, Certificate: id.Certificate.Raw, EnvelopeKey: id.EnvelopeKey.PublicKey().Bytes(),
		EnvelopeBinding: id.EnvelopeBinding}
}

// fields are an envelope's plaintext fields, for building envelopes by
// hand from the spec (proto/dptp.md, "Mailbox envelopes"), not with Seal.
type fields struct {
	sender  string
	cert    []byte
	created time.Time
	command string
	payload []byte
	// signer signs; signedFor is the recipient node_id the signature names
	// ("" : the one sealed to).
	signer    *identity.Identity
	signedFor string
	trailing  []byte
}

func field(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// sealByHand builds an envelope to recipient as the spec describes it.
func sealByHand(t testing.TB, recipient *identity.Identity, f fields) []byte {
	t.Helper()
	pk, err := hpke.NewDHKEMPublicKey(recipient.EnvelopeKey.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	enc, s, err := hpke.NewSender(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte("dpc-mailbox/v1"+recipient.NodeID))
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	body = field(body, []byte(f.sender))
	body = field(body, f.cert)
	body = binary.BigEndian.AppendUint64(body, uint64(f.created.UnixMilli()))
	body = field(body, []byte(f.command))
	body = field(body, f.payload)
	signedFor := f.signedFor
	if signedFor == "" {
		signedFor = recipient.NodeID
	}
	msg := append([]byte("dpc-mailbox-envelope/v1\x00"+signedFor), enc...)
	sig, _, err := identity.SignMessage(f.signer.Signer, append(msg, body...))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := s.Seal(nil, append(field(body, sig), f.trailing...))
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte("DPCMB1"), enc...), ct...)
}

// honest are the fields alice would seal.
func honest(alice *identity.Identity, created time.Time) fields {
	return fields{sender: alice.NodeID, cert: alice.Certificate.Raw, created: created, command: "CHANNEL_OPS", payload: testPayload, signer: alice}
}

// TestEnvelopeRoundTrip: what Seal seals to bob, bob opens, with the
// sender's node_id, command and payload, for either node key type; and an
// envelope built by hand from the spec opens alike.
func TestEnvelopeRoundTrip(t *testing.T) {
	t.Parallel()
	bob := newIdentity(t, identity.KeyEd25519)
	for name, kt := range map[string]identity.KeyType{"ed25519 sender": identity.KeyEd25519, "rsa sender": identity.KeyRSA} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			alice := newIdentity(t, kt)
			now := time.Now()
			for how, env := range map[string][]byte{
				"Seal":    mustSeal(t, alice, recordOf(bob), now),
				"by hand": sealByHand(t, bob, honest(alice, now)),
			} {
				l, err := openAt(bob, env, now)
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if l.Sender != alice.NodeID || l.Command != "CHANNEL_OPS" || !bytes.Equal(l.Payload, testPayload) || l.Created.UnixMilli() != now.UnixMilli() {
					t.Fatalf("%s: opened %+v", how, l)
				}
			}
		})
	}
}

func mustSeal(t testing.TB, from *identity.Identity, to peers.Peer, at time.Time) []byte {
	t.Helper()
	env, err := sealAt(from, to, "CHANNEL_OPS", testPayload, at)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestOpenRefusesForgedOrStaleEnvelopes: an envelope opens only for the
// node it was sealed to, unaltered, signed by the key of the certificate
// that derives the sender's node_id, for this recipient, and within the
// time window.
func TestOpenRefusesForgedOrStaleEnvelopes(t *testing.T) {
	t.Parallel()
	alice, bob, carol, mallory := newIdentity(t, ""), newIdentity(t, ""), newIdentity(t, ""), newIdentity(t, "")
	now := time.Now()
	good := mustSeal(t, alice, recordOf(bob), now)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	with := func(edit func(*fields)) []byte {
		f := honest(alice, now)
		edit(&f)
		return sealByHand(t, bob, f)
	}
	tests := map[string]struct {
		env  []byte
		want error
	}{
		"sealed to another node":       {env: mustSeal(t, alice, recordOf(carol), now), want: ErrNotForMe},
		"a flipped ciphertext byte":    {env: flip(len(good) - 20), want: ErrNotForMe},
		"a flipped encapsulated key":   {env: flip(len(Magic) + 3), want: ErrNotForMe},
		"a flipped tag":                {env: flip(len(good) - 1), want: ErrNotForMe},
		"another magic":                {env: flip(0), want: ErrMalformed},
		"truncated to the header":      {env: good[:len(Magic)+EncSize], want: ErrMalformed},
		"empty":                        {env: nil, want: ErrMalformed},
		"larger than a hub keeps":      {env: append(bytes.Clone(good), make([]byte, MaxEnvelopeSize)...), want: ErrMalformed},
		"bytes after the signature":    {env: with(func(f *fields) { f.trailing = []byte{0} }), want: ErrMalformed},
		"a sender that is no node_id":  {env: with(func(f *fields) { f.sender = "alice" }), want: ErrMalformed},
		"a command that is no command": {env: with(func(f *fields) { f.command = "channel_ops" }), want: ErrMalformed},
		"forged: alice's name and certificate, mallory's signature": {
			env: with(func(f *fields) { f.signer = mallory }), want: ErrBadSignature},
		"mallory's certificate under alice's node_id": {
			env: with(func(f *fields) { f.cert, f.signer = mallory.Certificate.Raw, mallory }), want: ErrBadSignature},
		"re-sealed by carol: signed for carol, sealed to bob": {
			env: with(func(f *fields) { f.signedFor = carol.NodeID }), want: ErrBadSignature},
		"a payload swapped after signing": {env: swapPayload(t, alice, bob, now), want: ErrBadSignature},
		"older than the longest TTL":      {env: mustSeal(t, alice, recordOf(bob), now.Add(-MaxAge-time.Minute)), want: ErrExpired},
		"from the future":                 {env: mustSeal(t, alice, recordOf(bob), now.Add(MaxSkew+time.Minute)), want: ErrFromFuture},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := openAt(bob, tc.env, now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("just inside the window", func(t *testing.T) {
		for _, at := range []time.Time{now.Add(-MaxAge + time.Minute), now.Add(MaxSkew - time.Minute)} {
			if _, err := openAt(bob, mustSeal(t, alice, recordOf(bob), at), now); err != nil {
				t.Errorf("made %s: %v", at, err)
			}
		}
	})
}

// swapPayload signs one payload and seals another under that signature.
func swapPayload(t testing.TB, alice, bob *identity.Identity, now time.Time) []byte {
	t.Helper()
	pk, _ := hpke.NewDHKEMPublicKey(bob.EnvelopeKey.PublicKey())
	enc, s, err := hpke.NewSender(pk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte("dpc-mailbox/v1"+bob.NodeID))
	if err != nil {
		t.Fatal(err)
	}
	body := func(payload []byte) []byte {
		var b []byte
		b = field(b, []byte(alice.NodeID))
		b = field(b, alice.Certificate.Raw)
		b = binary.BigEndian.AppendUint64(b, uint64(now.UnixMilli()))
		b = field(b, []byte("CHANNEL_OPS"))
		return field(b, payload)
	}
	sig, _, err := identity.SignMessage(alice.Signer, append(append([]byte("dpc-mailbox-envelope/v1\x00"+bob.NodeID), enc...), body(testPayload)...))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := s.Seal(nil, field(body([]byte(`{"channel_id":"x","ops":[]}`)), sig))
	return append(append([]byte(Magic), enc...), ct...)
}

// TestSealRefusesUnboundRecipientKeys: an envelope is never sealed to an
// envelope key that the recipient's certificate did not sign for its
// node_id, nor to a peer whose record has no key.
func TestSealRefusesUnboundRecipientKeys(t *testing.T) {
	t.Parallel()
	alice, bob, mallory := newIdentity(t, ""), newIdentity(t, ""), newIdentity(t, "")
	tests := map[string]struct {
		edit func(*peers.Peer)
		want error
	}{
		"no envelope key on record":      {edit: func(p *peers.Peer) { p.EnvelopeKey = nil }, want: ErrNoEnvelopeKey},
		"no certificate on record":       {edit: func(p *peers.Peer) { p.Certificate = nil }, want: ErrNoEnvelopeKey},
		"mallory's key under bob's name": {edit: func(p *peers.Peer) { p.EnvelopeKey = mallory.EnvelopeKey.PublicKey().Bytes() }, want: ErrBadRecipient},
		"mallory's key and binding": {edit: func(p *peers.Peer) {
			p.EnvelopeKey, p.EnvelopeBinding = mallory.EnvelopeKey.PublicKey().Bytes(), mallory.EnvelopeBinding
		}, want: ErrBadRecipient},
		"mallory's certificate and keys":    {edit: func(p *peers.Peer) { *p = recordOf(mallory); p.NodeID = bob.NodeID }, want: ErrBadRecipient},
		"a certificate that does not parse": {edit: func(p *peers.Peer) { p.Certificate = []byte("x") }, want: ErrBadRecipient},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := recordOf(bob)
			tc.edit(&p)
			if _, err := Seal(alice, p, "CHANNEL_OPS", testPayload); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("too large for the hub", func(t *testing.T) {
		if _, err := Seal(alice, recordOf(bob), "CHANNEL_OPS", make([]byte, MaxEnvelopeSize)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
	})
}
