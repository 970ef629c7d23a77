package mailbox

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// Format constants (proto/dptp.md, "Mailbox envelopes").
const (
	// Magic starts every envelope of this version.
	Magic = "DPCMB1"
	// EncSize is the size of the HPKE encapsulated key (an X25519 public key).
	EncSize = 32
	// MaxEnvelopeSize is the largest envelope a hub stores (64 KiB).
	MaxEnvelopeSize = 64 << 10
	// MaxAge is the longest an envelope is accepted after it was made: the
	// hub's longest TTL.
	MaxAge = 7 * 24 * time.Hour
	// MaxSkew is how far ahead of this node's clock an envelope's time may be.
	MaxSkew = 5 * time.Minute

	// tagSize is the ChaCha20-Poly1305 tag.
	tagSize = 16
	// maxCertSize bounds the sender's certificate (an RSA-2048 one is ~800 bytes).
	maxCertSize = 8 << 10
	// maxSigSize bounds the signature (RSA-2048: 256 bytes, Ed25519: 64).
	maxSigSize = 1024
	// maxNodeIDSize bounds the sender's node_id field.
	maxNodeIDSize = 64
)

// infoContext starts the HPKE info ("dpc-mailbox/v1" || recipient node_id);
// sigContext starts the signed message. The signing context ends in NUL like
// every other node-signature context, so none is a prefix of another's.
const (
	infoContext = "dpc-mailbox/v1"
	sigContext  = "dpc-mailbox-envelope/v1\x00"
)

// The HPKE suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
var (
	suiteKDF  = hpke.HKDFSHA256()
	suiteAEAD = hpke.ChaCha20Poly1305()
)

// Letter is what an envelope carried, once opened and verified.
type Letter struct {
	// Sender is the node_id the sender's certificate derives and whose key
	// signed the envelope.
	Sender string
	// Certificate is the sender's certificate, as it came in the envelope.
	Certificate *x509.Certificate
	// Created is the sender's clock when it sealed the envelope.
	Created time.Time
	// Command is the DPTP command of Payload.
	Command string
	// Payload is the DPTP payload (JSON, as on the wire).
	Payload []byte
	// Digest is SHA-256 over the whole envelope: its key in the replay set.
	Digest [sha256.Size]byte
}

// Seal seals (command, payload) from sender to recipient, whose envelope
// key, certificate and binding are those its peer record kept from its last
// session: the binding is checked before anything is sealed to the key.
func Seal(sender *identity.Identity, recipient peers.Peer, command string, payload []byte) ([]byte, error) {
	return sealAt(sender, recipient, command, payload, time.Now())
}

func sealAt(sender *identity.Identity, recipient peers.Peer, command string, payload []byte, created time.Time) ([]byte, error) {
	pub, err := recipientKey(recipient)
	if err != nil {
		return nil, err
	}
	if !dptp.ValidCommand(command) {
		return nil, fmt.Errorf("seal a mailbox envelope: command %q is not [A-Z0-9_]{1,%d}", command, dptp.MaxCommandLen)
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("seal a mailbox envelope for %s: %w: %w", recipient.NodeID, ErrBadRecipient, err)
	}
	enc, s, err := hpke.NewSender(pk, suiteKDF, suiteAEAD, info(recipient.NodeID))
	if err != nil {
		return nil, fmt.Errorf("seal a mailbox envelope for %s: %w", recipient.NodeID, err)
	}
	body := make([]byte, 0, 64+len(sender.Certificate.Raw)+len(command)+len(payload))
	body = appendField(body, []byte(sender.NodeID))
	body = appendField(body, sender.Certificate.Raw)
	body = binary.BigEndian.AppendUint64(body, uint64(created.UnixMilli()))
	body = appendField(body, []byte(command))
	body = appendField(body, payload)
	sig, _, err := identity.SignMessage(sender.Signer, signedMessage(recipient.NodeID, enc, body))
	if err != nil {
		return nil, fmt.Errorf("seal a mailbox envelope: signing: %w", err)
	}
	pt := appendField(body, sig)
	if size := len(Magic) + EncSize + len(pt) + tagSize; size > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: %d bytes for %s (%s), at most %d: send less at once", ErrTooLarge, size, recipient.NodeID, command, MaxEnvelopeSize)
	}
	ct, err := s.Seal(nil, pt)
	if err != nil {
		return nil, fmt.Errorf("seal a mailbox envelope for %s: %w", recipient.NodeID, err)
	}
	out := make([]byte, 0, len(Magic)+len(enc)+len(ct))
	out = append(out, Magic...)
	out = append(out, enc...)
	return append(out, ct...), nil
}

// recipientKey returns the X25519 envelope key of recipient's peer record
// after checking that its certificate derives its node_id and that the
// certificate's key signed the envelope key.
func recipientKey(p peers.Peer) (*ecdh.PublicKey, error) {
	if !dpcuri.ValidNodeID(p.NodeID) {
		return nil, fmt.Errorf("%w: %q is not a node_id", ErrBadRecipient, p.NodeID)
	}
	if len(p.EnvelopeKey) == 0 || len(p.Certificate) == 0 {
		return nil, fmt.Errorf("%w: %s has not had a session with this node that carried its envelope key (dpc connect it once; its node must be recent enough to send one)", ErrNoEnvelopeKey, p.NodeID)
	}
	cert, err := x509.ParseCertificate(p.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the certificate on record: %w", ErrBadRecipient, p.NodeID, err)
	}
	if err := identity.VerifyEnvelopeBinding(p.NodeID, cert.PublicKey, p.EnvelopeKey, p.EnvelopeBinding); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadRecipient, p.NodeID, err)
	}
	pub, err := ecdh.X25519().NewPublicKey(p.EnvelopeKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadRecipient, p.NodeID, err)
	}
	return pub, nil
}

// Open opens an envelope sealed to own, checks the sender's certificate and
// signature and the envelope's time, and returns what it carried. Whether
// the command is accepted, and from whom, is the caller's decision.
func Open(own *identity.Identity, envelope []byte) (Letter, error) {
	return openAt(own, envelope, time.Now())
}

func openAt(own *identity.Identity, envelope []byte, now time.Time) (Letter, error) {
	if len(envelope) > MaxEnvelopeSize {
		return Letter{}, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(envelope), MaxEnvelopeSize)
	}
	if len(envelope) < len(Magic)+EncSize+tagSize || string(envelope[:len(Magic)]) != Magic {
		return Letter{}, fmt.Errorf("%w: does not start with %q and an encapsulated key", ErrMalformed, Magic)
	}
	enc := envelope[len(Magic) : len(Magic)+EncSize]
	sk, err := hpke.NewDHKEMPrivateKey(own.EnvelopeKey)
	if err != nil {
		return Letter{}, fmt.Errorf("%w: this node's envelope key: %w", ErrNotForMe, err)
	}
	r, err := hpke.NewRecipient(enc, sk, suiteKDF, suiteAEAD, info(own.NodeID))
	if err != nil {
		return Letter{}, fmt.Errorf("%w: bad encapsulated key: %w", ErrNotForMe, err)
	}
	pt, err := r.Open(nil, envelope[len(Magic)+EncSize:])
	if err != nil {
		return Letter{}, fmt.Errorf("%w: does not open with this node's envelope key and node_id (sealed to another node, or altered)", ErrNotForMe)
	}
	l, signedLen, sig, err := parsePlaintext(pt)
	if err != nil {
		return Letter{}, err
	}
	if got, err := identity.NodeIDFromCertificate(l.Certificate); err != nil || got != l.Sender {
		return Letter{}, fmt.Errorf("%w: the certificate is not that of sender %s (it derives %q)", ErrBadSignature, l.Sender, got)
	}
	if err := nodeid.VerifyMessage(l.Certificate.PublicKey, signedMessage(own.NodeID, enc, pt[:signedLen]), sig); err != nil {
		return Letter{}, fmt.Errorf("%w: from %s: %w", ErrBadSignature, l.Sender, err)
	}
	if l.Created.After(now.Add(MaxSkew)) {
		return Letter{}, fmt.Errorf("%w: from %s, made %s, more than %s ahead of this node's clock", ErrFromFuture, l.Sender, l.Created.UTC().Format(time.RFC3339), MaxSkew)
	}
	if l.Created.Before(now.Add(-MaxAge)) {
		return Letter{}, fmt.Errorf("%w: from %s, made %s, more than %s ago", ErrExpired, l.Sender, l.Created.UTC().Format(time.RFC3339), MaxAge)
	}
	l.Digest = sha256.Sum256(envelope)
	return l, nil
}

// parsePlaintext reads the canonical plaintext: sender node_id, certificate
// DER, created_ms, command, payload, signature. It returns the letter
// (without digest), how many bytes precede the signature field, and the
// signature.
func parsePlaintext(pt []byte) (l Letter, signedLen int, sig []byte, err error) {
	r := reader{b: pt}
	sender := r.field("sender node_id", maxNodeIDSize)
	certDER := r.field("certificate", maxCertSize)
	created := r.uint64("created_ms")
	command := r.field("command", dptp.MaxCommandLen)
	payload := r.field("payload", MaxEnvelopeSize)
	signedLen = r.off
	sig = r.field("signature", maxSigSize)
	switch {
	case r.err != nil:
		return Letter{}, 0, nil, fmt.Errorf("%w: %w", ErrMalformed, r.err)
	case len(r.b) != r.off:
		return Letter{}, 0, nil, fmt.Errorf("%w: %d bytes after the signature", ErrMalformed, len(r.b)-r.off)
	case !dpcuri.ValidNodeID(string(sender)):
		return Letter{}, 0, nil, fmt.Errorf("%w: sender %q is not a node_id", ErrMalformed, sender)
	case !dptp.ValidCommand(string(command)):
		return Letter{}, 0, nil, fmt.Errorf("%w: command %q is not [A-Z0-9_]{1,%d}", ErrMalformed, command, dptp.MaxCommandLen)
	case len(sig) == 0:
		return Letter{}, 0, nil, fmt.Errorf("%w: empty signature", ErrMalformed)
	case created > uint64(1<<62):
		return Letter{}, 0, nil, fmt.Errorf("%w: created_ms %d out of range", ErrMalformed, created)
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return Letter{}, 0, nil, fmt.Errorf("%w: the sender's certificate: %w", ErrMalformed, err)
	}
	return Letter{Sender: string(sender), Certificate: cert, Created: time.UnixMilli(int64(created)), Command: string(command),
		Payload: payload}, signedLen, sig, nil
}

// info is the HPKE info: "dpc-mailbox/v1" || recipient node_id.
func info(recipient string) []byte {
	return append([]byte(infoContext), recipient...)
}

// signedMessage is what the sender's node key signs:
// "dpc-mailbox-envelope/v1\x00" || recipient node_id || enc || body, where
// body is every plaintext field before the signature, as encoded.
func signedMessage(recipient string, enc, body []byte) []byte {
	msg := make([]byte, 0, len(sigContext)+len(recipient)+len(enc)+len(body))
	msg = append(msg, sigContext...)
	msg = append(msg, recipient...)
	msg = append(msg, enc...)
	return append(msg, body...)
}

// appendField appends a 4-byte big-endian length and b.
func appendField(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// reader reads the plaintext's fields; the first error sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) field(name string, max int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b)-r.off < 4 {
		r.err = fmt.Errorf("truncated before the length of %s", name)
		return nil
	}
	n := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	if n > uint32(max) {
		r.err = fmt.Errorf("%s of %d bytes, at most %d", name, n, max)
		return nil
	}
	if uint32(len(r.b)-r.off) < n {
		r.err = fmt.Errorf("%s truncated: %d bytes, %d left", name, n, len(r.b)-r.off)
		return nil
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

func (r *reader) uint64(name string) uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b)-r.off < 8 {
		r.err = fmt.Errorf("truncated in %s", name)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}
