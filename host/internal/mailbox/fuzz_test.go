package mailbox

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// FuzzOpen: whatever bytes a hub hands over, Open never panics, fails only
// with its sentinels, and opens nothing but what the fixture sender
// signed.
func FuzzOpen(f *testing.F) {
	sender, recipient := fixtureIdentity(f, "sender"), fixtureIdentity(f, "recipient")
	now := vectorCreated.Add(time.Hour)
	good, err := sealAt(sender, recordOf(recipient), "CHANNEL_OPS", testPayload, vectorCreated)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(Magic)+EncSize])
	f.Add([]byte(Magic))
	f.Add([]byte{})
	f.Add(append(good[:len(good)-1:len(good)-1], good[len(good)-1]^1))
	f.Fuzz(func(t *testing.T, env []byte) {
		l, err := openAt(recipient, env, now)
		if err != nil {
			for _, s := range []error{ErrMalformed, ErrNotForMe, ErrBadSignature, ErrExpired, ErrFromFuture} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error without a sentinel: %v", err)
		}
		if l.Sender != sender.NodeID {
			t.Fatalf("opened an envelope from %s, which only the fixture sender can sign", l.Sender)
		}
	})
}

// FuzzParsePlaintext: the plaintext decoder, which the fuzzer cannot reach
// through HPKE, never panics on what a sender could seal, fails only with
// ErrMalformed, and what it accepts re-encodes to the same bytes
// (canonical: one encoding per letter).
func FuzzParsePlaintext(f *testing.F) {
	sender := fixtureIdentity(f, "sender")
	var body []byte
	body = field(body, []byte(sender.NodeID))
	body = field(body, sender.Certificate.Raw)
	body = binary.BigEndian.AppendUint64(body, uint64(vectorCreated.UnixMilli()))
	body = field(body, []byte("CHANNEL_OPS"))
	body = field(body, testPayload)
	f.Add(field(body, make([]byte, 64)))
	f.Add(body)
	f.Add([]byte{0, 0, 0, 41})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, pt []byte) {
		l, signedLen, sig, err := parsePlaintext(pt)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error without ErrMalformed: %v", err)
			}
			return
		}
		var re []byte
		re = field(re, []byte(l.Sender))
		re = field(re, l.Certificate.Raw)
		re = binary.BigEndian.AppendUint64(re, uint64(l.Created.UnixMilli()))
		re = field(re, []byte(l.Command))
		re = field(re, l.Payload)
		if signedLen != len(re) || !bytes.Equal(field(re, sig), pt) {
			t.Fatalf("accepted a non-canonical plaintext %x", pt)
		}
	})
}
