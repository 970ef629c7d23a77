package chanop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/dpc-go/dpc/host/internal/channels/canon"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// Version is the only format version this package reads and writes.
const Version = 1

// Limits of the encoding (see proto/channels.md).
const (
	MaxParents    = 16
	MaxNodeID     = 64
	MaxBody       = 64 << 10
	MaxSig        = 1 << 10
	MaxHeader     = 1 << 10
	MaxName       = 128
	MaxCert       = 8 << 10
	MaxBinding    = MaxSig
	MaxWrappedKey = 256
	// MaxText is the largest plaintext of a post or an edit.
	MaxText = 16 << 10
	// MaxSealed bounds a sealed text: MaxText plus the inner AEAD's 24-byte
	// nonce and 16-byte tag (chancrypt).
	MaxSealed = MaxText + 40
	// MaxTime is the largest time accepted (9999-12-31T23:59:59.999Z in
	// Unix milliseconds): a sanity bound, time never orders anything.
	MaxTime = 253402300799999
	// EnvelopeKeySize is the size of an X25519 public key.
	EnvelopeKeySize = 32
)

// Domain-separation prefixes. Each ends in NUL so that none is a prefix of
// another's messages.
const (
	opIDContext   = "dpc-channel-op-id/v1\x00"
	signedContext = "dpc-channel-op/v1\x00"
)

// ID is an op id (and a channel id: the id of its create op): SHA-256 of
// the op id context and the canonical header.
type ID [32]byte

// String returns the id in lower-case hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is all zero.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses 64 lower-case hex characters.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 64 {
		return id, fmt.Errorf("%w: op id %q: want 64 hex characters", ErrMalformed, s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil || hex.EncodeToString(id[:]) != s {
		return id, fmt.Errorf("%w: op id %q: want 64 lower-case hex characters", ErrMalformed, s)
	}
	return id, nil
}

// Type is the kind of an op.
type Type uint8

// Op types. The values are on the wire.
const (
	TypeCreate Type = 1 + iota
	TypeAdd
	TypeRemove
	TypeGrant
	TypeRekey
	TypePost
	TypeEdit
	TypeRedact
	TypeClose
)

var typeNames = [...]string{"", "create", "add", "remove", "grant", "rekey", "post", "edit", "redact", "close"}

// String returns the lower-case name of t.
func (t Type) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t >= TypeCreate && t <= TypeClose }

// Control reports whether t changes the channel's membership, permissions,
// keys or open/closed state (as opposed to a post, edit or redact).
func (t Type) Control() bool {
	switch t {
	case TypeCreate, TypeAdd, TypeRemove, TypeGrant, TypeRekey, TypeClose:
		return true
	}
	return false
}

// Sealed reports whether the body of an op of type t holds a text sealed
// with a channel key (its header then names the key epoch).
func (t Type) Sealed() bool { return t == TypePost || t == TypeEdit }

// Header is the signed part of an op. The body is covered by BodyHash.
type Header struct {
	Type    Type
	Channel ID   // zero in a create op
	Parents []ID // strictly ascending; empty only in a create op
	Author  string
	// Epoch is the op id of the op that introduced the key the body is
	// sealed with; zero when the body is not sealed.
	Epoch ID
	// Time is the author's clock in Unix milliseconds: informational only.
	Time     int64
	Nonce    [16]byte
	BodyHash [32]byte
}

// Encode returns the canonical header bytes. It does not check the header;
// Check does.
func (h *Header) Encode() []byte {
	b := make([]byte, 0, 2+32+1+32*len(h.Parents)+1+len(h.Author)+32+8+16+32)
	b = append(b, Version, byte(h.Type))
	b = append(b, h.Channel[:]...)
	b = canon.AppendUvarint(b, uint64(len(h.Parents)))
	for _, p := range h.Parents {
		b = append(b, p[:]...)
	}
	b = canon.AppendBytes(b, []byte(h.Author))
	b = append(b, h.Epoch[:]...)
	b = canon.AppendUint64(b, uint64(h.Time))
	b = append(b, h.Nonce[:]...)
	b = append(b, h.BodyHash[:]...)
	return b
}

// Digest is HeaderDigest: SHA-256 of the canonical header with the body
// hash zeroed. The inner AEAD binds it (the body hash cannot be known
// before sealing).
func (h *Header) Digest() [32]byte {
	c := *h
	c.BodyHash = [32]byte{}
	return sha256.Sum256(c.Encode())
}

// Check reports whether h is a header the decoder accepts.
func (h *Header) Check() error {
	if !h.Type.Valid() {
		return fmt.Errorf("%w: %d", ErrUnknownType, uint8(h.Type))
	}
	if h.Type == TypeCreate {
		if !h.Channel.IsZero() || len(h.Parents) != 0 {
			return fmt.Errorf("%w: a create op has a zero channel and no parents", ErrMalformed)
		}
	} else {
		if h.Channel.IsZero() {
			return fmt.Errorf("%w: %s op with a zero channel id", ErrMalformed, h.Type)
		}
		if len(h.Parents) == 0 || len(h.Parents) > MaxParents {
			return fmt.Errorf("%w: %s op with %d parents (want 1 to %d)", ErrMalformed, h.Type, len(h.Parents), MaxParents)
		}
	}
	for i := 1; i < len(h.Parents); i++ {
		if bytes.Compare(h.Parents[i-1][:], h.Parents[i][:]) >= 0 {
			return fmt.Errorf("%w: parents not strictly ascending", ErrMalformed)
		}
	}
	if err := checkNodeID(h.Author); err != nil {
		return fmt.Errorf("author: %w", err)
	}
	if h.Type.Sealed() == h.Epoch.IsZero() {
		return fmt.Errorf("%w: %s op: key epoch must be set exactly when the body is sealed", ErrMalformed, h.Type)
	}
	if h.Time < 0 || h.Time > MaxTime {
		return fmt.Errorf("%w: time %d out of range", ErrMalformed, h.Time)
	}
	return nil
}

func checkNodeID(s string) error {
	if len(s) > MaxNodeID {
		return fmt.Errorf("%w: node_id of %d bytes (limit %d)", ErrTooLarge, len(s), MaxNodeID)
	}
	if !dpcuri.ValidNodeID(s) {
		return fmt.Errorf("%w: %q is not a node_id", ErrMalformed, s)
	}
	return nil
}

// reader is canon's strict cursor with the op format's fields; canon's
// errors carry ErrTooLarge (a length beyond its limit) or ErrMalformed.
type reader struct{ canon.Reader }

func newReader(b []byte) *reader { return &reader{canon.NewReader(b, canonErr)} }

func canonErr(err error) error {
	if errors.Is(err, canon.ErrTooLong) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

func (r *reader) id(what string) (id ID) {
	copy(id[:], r.Fixed(len(id), what))
	return id
}

func (r *reader) nodeID(what string) string {
	s := string(r.Bytes(MaxNodeID, what))
	if r.Err() == nil {
		if err := checkNodeID(s); err != nil {
			r.Fail(fmt.Errorf("%s: %w", what, err))
		}
	}
	return s
}

func (r *reader) text(limit int, what string) string {
	p := r.Bytes(limit, what)
	if r.Err() == nil && !utf8.Valid(p) {
		r.Fail(fmt.Errorf("%w: %s is not UTF-8", ErrMalformed, what))
	}
	return string(p)
}

// DecodeHeader decodes canonical header bytes strictly.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) > MaxHeader {
		return h, fmt.Errorf("%w: header of %d bytes (limit %d)", ErrTooLarge, len(b), MaxHeader)
	}
	r := newReader(b)
	if v := r.Byte("version"); r.Err() == nil && v != Version {
		return h, fmt.Errorf("%w: %d", ErrUnknownVersion, v)
	}
	h.Type = Type(r.Byte("type"))
	if r.Err() == nil && !h.Type.Valid() {
		return h, fmt.Errorf("%w: %d", ErrUnknownType, uint8(h.Type))
	}
	h.Channel = r.id("channel")
	n := r.Uvarint("parent count")
	if r.Err() == nil && n > MaxParents {
		return h, fmt.Errorf("%w: %d parents (limit %d)", ErrTooLarge, n, MaxParents)
	}
	if r.Err() == nil && n > 0 {
		h.Parents = make([]ID, n)
		for i := range h.Parents {
			h.Parents[i] = r.id("parent")
		}
	}
	h.Author = string(r.Bytes(MaxNodeID, "author node_id"))
	h.Epoch = r.id("key epoch")
	h.Time = int64(r.Uint64("time"))
	copy(h.Nonce[:], r.Fixed(16, "nonce"))
	copy(h.BodyHash[:], r.Fixed(32, "body hash"))
	if err := r.End(); err != nil {
		return Header{}, fmt.Errorf("header: %w", err)
	}
	if err := h.Check(); err != nil {
		return Header{}, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

// Op is a decoded, well-formed operation. Its signature is not verified by
// decoding: see Verify.
type Op struct {
	Header Header
	// Body is the decoded body (its type matches Header.Type).
	Body Body
	// BodyBytes is the body as carried; Header.BodyHash is its SHA-256.
	BodyBytes []byte
	Sig       []byte
	// HeaderBytes is the canonical encoding of Header.
	HeaderBytes []byte
	id          ID
}

// ID returns the op id.
func (op *Op) ID() ID { return op.id }

// opID computes the op id of canonical header bytes.
func opID(header []byte) ID {
	h := sha256.New()
	h.Write([]byte(opIDContext))
	h.Write(header)
	var id ID
	h.Sum(id[:0])
	return id
}

// SignedMessage returns the bytes an op's signature covers:
// "dpc-channel-op/v1\x00" || canonical header.
func SignedMessage(header []byte) []byte {
	msg := make([]byte, 0, len(signedContext)+len(header))
	return append(append(msg, signedContext...), header...)
}

// Encode returns the wire and store form of op: the header, body and
// signature, each with a uvarint length, nothing after.
func (op *Op) Encode() []byte {
	b := make([]byte, 0, len(op.HeaderBytes)+len(op.BodyBytes)+len(op.Sig)+9)
	b = canon.AppendBytes(b, op.HeaderBytes)
	b = canon.AppendBytes(b, op.BodyBytes)
	return canon.AppendBytes(b, op.Sig)
}

// Decode decodes the wire form of an op strictly: header, body (its hash
// and its own canonical encoding) and a non-empty signature within the limits.
// It does not verify the signature.
func Decode(b []byte) (*Op, error) {
	r := newReader(b)
	hb := r.Bytes(MaxHeader, "header")
	bb := r.Bytes(MaxBody, "body")
	sig := r.Bytes(MaxSig, "signature")
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("decode channel op: %w", err)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("decode channel op: %w: empty signature", ErrMalformed)
	}
	h, err := DecodeHeader(hb)
	if err != nil {
		return nil, fmt.Errorf("decode channel op: %w", err)
	}
	if sha256.Sum256(bb) != h.BodyHash {
		return nil, fmt.Errorf("decode channel op: %w", ErrBodyHash)
	}
	body, err := DecodeBody(h.Type, bb)
	if err != nil {
		return nil, fmt.Errorf("decode channel op: %w", err)
	}
	hb = append([]byte(nil), hb...)
	return &Op{
		Header:      h,
		Body:        body,
		BodyBytes:   append([]byte(nil), bb...),
		Sig:         append([]byte(nil), sig...),
		HeaderBytes: hb,
		id:          opID(hb),
	}, nil
}
