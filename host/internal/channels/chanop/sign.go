package chanop

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"slices"

	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

// Draft is an op header being built: the author fills it, reads Digest for
// sealing the body, then signs. NewDraft sets the nonce.
type Draft struct {
	Header Header
}

// NewDraft starts an op of type t. parents are sorted here (duplicates are
// an error); timeMs is the author's clock in Unix milliseconds. epoch is
// the key epoch of a sealed body (zero for other types).
func NewDraft(t Type, channel ID, parents []ID, author string, epoch ID, timeMs int64) (*Draft, error) {
	ps := slices.Clone(parents)
	slices.SortFunc(ps, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	d := &Draft{Header: Header{Type: t, Channel: channel, Parents: ps, Author: author, Epoch: epoch, Time: timeMs}}
	if _, err := io.ReadFull(rand.Reader, d.Header.Nonce[:]); err != nil {
		return nil, fmt.Errorf("op nonce: %w", err)
	}
	if err := d.Header.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	return d, nil
}

// Digest is the HeaderDigest the inner AEAD layer binds (see Header.Digest).
func (d *Draft) Digest() [32]byte { return d.Header.Digest() }

// Sign completes the op with body and signs it with signer, whose public key
// must derive the author node_id. The result encodes to bytes Decode accepts.
func (d *Draft) Sign(signer crypto.Signer, body Body) (*Op, error) {
	if body == nil || body.Type() != d.Header.Type {
		return nil, fmt.Errorf("%w: body of the wrong type for a %s op", ErrBadArgument, d.Header.Type)
	}
	if err := checkAuthorKey(signer.Public(), d.Header.Author); err != nil {
		return nil, err
	}
	bb := body.Encode()
	// Round-trip the body through the strict decoder: a builder must never
	// produce an op the decoder refuses.
	parsed, err := DecodeBody(d.Header.Type, bb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArgument, err)
	}
	h := d.Header
	h.Parents = slices.Clone(h.Parents)
	h.BodyHash = sha256.Sum256(bb)
	hb := h.Encode()
	if len(hb) > MaxHeader {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrBadArgument, len(hb))
	}
	sig, _, err := identity.SignMessage(signer, SignedMessage(hb))
	if err != nil {
		return nil, fmt.Errorf("sign channel op: %w", err)
	}
	return &Op{Header: h, Body: parsed, BodyBytes: bb, Sig: sig, HeaderBytes: hb, id: opID(hb)}, nil
}

// checkAuthorKey fails unless pub derives nodeID.
func checkAuthorKey(pub crypto.PublicKey, nodeID string) error {
	got, err := nodeid.FromPublicKey(pub)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAuthorKey, err)
	}
	if got != nodeID {
		return fmt.Errorf("%w: key gives %s, op names %s", ErrAuthorKey, got, nodeID)
	}
	return nil
}

// Verify checks op's signature with pub, the author's public key; pub must
// derive the author node_id.
func Verify(op *Op, pub crypto.PublicKey) error {
	if err := checkAuthorKey(pub, op.Header.Author); err != nil {
		return fmt.Errorf("verify %s op %s: %w", op.Header.Type, op.id, err)
	}
	return VerifySignature(op, pub)
}

// VerifySignature checks op's signature with pub, which the caller has
// already bound to the author node_id (chanstate takes it from the author's
// create or add, checked by VerifyCreate or MemberKey): Verify without
// deriving the node_id again.
func VerifySignature(op *Op, pub crypto.PublicKey) error {
	if err := nodeid.VerifyMessage(pub, SignedMessage(op.HeaderBytes), op.Sig); err != nil {
		return fmt.Errorf("verify %s op %s: %w: %w", op.Header.Type, op.id, ErrBadSignature, err)
	}
	return nil
}

// MemberKey parses a member's certificate, checks that its key derives
// nodeID and that binding is that key's signature over envelopeKey, and
// returns the key.
func MemberKey(nodeID string, cert []byte, envelopeKey [EnvelopeKeySize]byte, binding []byte) (crypto.PublicKey, error) {
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	if err := checkAuthorKey(c.PublicKey, nodeID); err != nil {
		return nil, err
	}
	if err := identity.VerifyEnvelopeBinding(nodeID, c.PublicKey, envelopeKey[:], binding); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEnvelopeBinding, err)
	}
	return c.PublicKey, nil
}

// VerifyCreate verifies a create op on its own: the creator's certificate
// and envelope binding in its body, and its signature by that key. It
// returns the creator's key.
func VerifyCreate(op *Op) (crypto.PublicKey, error) {
	c, ok := op.Body.(CreateBody)
	if !ok {
		return nil, fmt.Errorf("%w: %s op is not a create", ErrBadArgument, op.Header.Type)
	}
	pub, err := MemberKey(op.Header.Author, c.Cert, c.EnvelopeKey, c.Binding)
	if err != nil {
		return nil, fmt.Errorf("verify create op %s: %w", op.id, err)
	}
	if err := Verify(op, pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// Build makes and signs an op of body's type in one step, for bodies that
// are not sealed after the header is known (every type but post and edit;
// for those, NewDraft, seal with Digest, then Sign). channel is ignored
// for a create.
func Build(signer crypto.Signer, author string, channel ID, parents []ID, epoch ID, timeMs int64, body Body) (*Op, error) {
	if body == nil {
		return nil, fmt.Errorf("%w: nil body", ErrBadArgument)
	}
	if body.Type() == TypeCreate {
		channel = ID{}
	}
	d, err := NewDraft(body.Type(), channel, parents, author, epoch, timeMs)
	if err != nil {
		return nil, err
	}
	return d.Sign(signer, body)
}
