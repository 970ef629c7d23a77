package chanop

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"unicode/utf8"

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

// appendUvarint appends v as a minimal uvarint.
func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// appendBytes appends a uvarint length and p.
func appendBytes(b, p []byte) []byte { return append(appendUvarint(b, uint64(len(p))), p...) }

// Encode returns the canonical header bytes. It does not check the header;
// Check does.
func (h *Header) Encode() []byte {
	b := make([]byte, 0, 2+32+1+32*len(h.Parents)+1+len(h.Author)+32+8+16+32)
	b = append(b, Version, byte(h.Type))
	b = append(b, h.Channel[:]...)
	b = appendUvarint(b, uint64(len(h.Parents)))
	for _, p := range h.Parents {
		b = append(b, p[:]...)
	}
	b = appendBytes(b, []byte(h.Author))
	b = append(b, h.Epoch[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Time))
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

// reader is a strict cursor over canonical bytes: the first problem sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) fixed(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail(fmt.Errorf("%w: truncated", ErrMalformed))
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) byte1() byte {
	p := r.fixed(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) id() (id ID) {
	copy(id[:], r.fixed(32))
	return id
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(fmt.Errorf("%w: bad varint", ErrMalformed))
		return 0
	}
	if n > 1 && r.b[n-1] == 0 {
		r.fail(fmt.Errorf("%w: non-minimal varint", ErrMalformed))
		return 0
	}
	r.b = r.b[n:]
	return v
}

// bytes reads a uvarint length (at most limit, named what) and that many bytes.
func (r *reader) bytes(limit int, what string) []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(limit) {
		r.fail(fmt.Errorf("%w: %s of %d bytes (limit %d)", ErrTooLarge, what, n, limit))
		return nil
	}
	return r.fixed(int(n))
}

func (r *reader) nodeID(what string) string {
	s := string(r.bytes(MaxNodeID, what))
	if r.err == nil {
		if err := checkNodeID(s); err != nil {
			r.fail(fmt.Errorf("%s: %w", what, err))
		}
	}
	return s
}

func (r *reader) text(limit int, what string) string {
	p := r.bytes(limit, what)
	if r.err == nil && !utf8.Valid(p) {
		r.fail(fmt.Errorf("%w: %s is not UTF-8", ErrMalformed, what))
	}
	return string(p)
}

// end fails unless every byte was read.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b)))
	}
	return r.err
}

// DecodeHeader decodes canonical header bytes strictly.
func DecodeHeader(b []byte) (Header, error) {
	var h Header
	if len(b) > MaxHeader {
		return h, fmt.Errorf("%w: header of %d bytes (limit %d)", ErrTooLarge, len(b), MaxHeader)
	}
	r := &reader{b: b}
	if v := r.byte1(); r.err == nil && v != Version {
		return h, fmt.Errorf("%w: %d", ErrUnknownVersion, v)
	}
	h.Type = Type(r.byte1())
	if r.err == nil && !h.Type.Valid() {
		return h, fmt.Errorf("%w: %d", ErrUnknownType, uint8(h.Type))
	}
	h.Channel = r.id()
	n := r.uvarint()
	if r.err == nil && n > MaxParents {
		return h, fmt.Errorf("%w: %d parents (limit %d)", ErrTooLarge, n, MaxParents)
	}
	if r.err == nil && n > 0 {
		h.Parents = make([]ID, n)
		for i := range h.Parents {
			h.Parents[i] = r.id()
		}
	}
	h.Author = string(r.bytes(MaxNodeID, "author node_id"))
	h.Epoch = r.id()
	if p := r.fixed(8); p != nil {
		h.Time = int64(binary.BigEndian.Uint64(p))
	}
	copy(h.Nonce[:], r.fixed(16))
	copy(h.BodyHash[:], r.fixed(32))
	if err := r.end(); err != nil {
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
	b = appendBytes(b, op.HeaderBytes)
	b = appendBytes(b, op.BodyBytes)
	return appendBytes(b, op.Sig)
}

// Decode decodes the wire form of an op strictly: header, body (its hash
// and its own canonical encoding) and a non-empty signature within the limits.
// It does not verify the signature.
func Decode(b []byte) (*Op, error) {
	r := &reader{b: b}
	hb := r.bytes(MaxHeader, "header")
	bb := r.bytes(MaxBody, "body")
	sig := r.bytes(MaxSig, "signature")
	if err := r.end(); err != nil {
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
