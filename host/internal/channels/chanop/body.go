package chanop

import (
	"fmt"

	"github.com/dpc-go/dpc/host/internal/channels/canon"
)

// Perm is a set of channel permissions (a bitmask on the wire, one byte).
type Perm uint8

// Permissions.
const (
	PermRead Perm = 1 << iota
	PermWrite
	PermInvite
	PermRemove
	PermClose
	PermAdmin
	// PermAll is every permission: what the creator holds.
	PermAll = PermRead | PermWrite | PermInvite | PermRemove | PermClose | PermAdmin
)

// Has reports whether p holds every permission of q.
func (p Perm) Has(q Perm) bool { return p&q == q }

// String lists the permissions of p by name, comma-separated.
func (p Perm) String() string {
	names := []string{"read", "write", "invite", "remove", "close", "admin"}
	var b []byte
	for i, n := range names {
		if p&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, n...)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

// Body is the decoded body of an op; each type has its own.
type Body interface {
	// Type is the op type the body belongs to.
	Type() Type
	// Encode returns the canonical body bytes.
	Encode() []byte
}

// CreateBody starts a channel; its author is the creator.
type CreateBody struct {
	Name string
	// Cert is the creator's certificate (DER); its key derives the author node_id.
	Cert []byte
	// EnvelopeKey is the creator's X25519 public key, Binding its signature
	// by the node key (identity's envelope binding).
	EnvelopeKey [EnvelopeKeySize]byte
	Binding     []byte
	// WrappedKey is the first epoch's key wrapped to the creator (opaque here).
	WrappedKey []byte
}

// AddBody admits a member.
type AddBody struct {
	Member      string
	Cert        []byte
	EnvelopeKey [EnvelopeKeySize]byte
	Binding     []byte
	Perms       Perm
	// Epoch is the key epoch WrappedKey holds the key of.
	Epoch      ID
	WrappedKey []byte
}

// WrappedFor is one member's copy of a new epoch key.
type WrappedFor struct {
	Member     string
	WrappedKey []byte
}

// RemoveBody removes Target (possibly the author: leaving) and starts a new
// key epoch wrapped to every remaining member, sorted by node_id.
type RemoveBody struct {
	Target string
	Keys   []WrappedFor
}

// RekeyBody starts a new key epoch without removing anyone.
type RekeyBody struct {
	Keys []WrappedFor
}

// GrantBody sets Target's permissions to Perms.
type GrantBody struct {
	Target string
	Perms  Perm
}

// PostBody is a message sealed with the epoch key the header names.
type PostBody struct {
	Sealed []byte
}

// EditBody replaces the text of the author's post Target.
type EditBody struct {
	Target ID
	Sealed []byte
}

// RedactBody hides the author's post Target.
type RedactBody struct {
	Target ID
}

// CloseBody closes the channel; it is empty.
type CloseBody struct{}

func (CreateBody) Type() Type { return TypeCreate }
func (AddBody) Type() Type    { return TypeAdd }
func (RemoveBody) Type() Type { return TypeRemove }
func (RekeyBody) Type() Type  { return TypeRekey }
func (GrantBody) Type() Type  { return TypeGrant }
func (PostBody) Type() Type   { return TypePost }
func (EditBody) Type() Type   { return TypeEdit }
func (RedactBody) Type() Type { return TypeRedact }
func (CloseBody) Type() Type  { return TypeClose }

func (b CreateBody) Encode() []byte {
	out := canon.AppendBytes(nil, []byte(b.Name))
	out = canon.AppendBytes(out, b.Cert)
	out = append(out, b.EnvelopeKey[:]...)
	out = canon.AppendBytes(out, b.Binding)
	return canon.AppendBytes(out, b.WrappedKey)
}

func (b AddBody) Encode() []byte {
	out := canon.AppendBytes(nil, []byte(b.Member))
	out = canon.AppendBytes(out, b.Cert)
	out = append(out, b.EnvelopeKey[:]...)
	out = canon.AppendBytes(out, b.Binding)
	out = append(out, byte(b.Perms))
	out = append(out, b.Epoch[:]...)
	return canon.AppendBytes(out, b.WrappedKey)
}

func appendKeys(out []byte, keys []WrappedFor) []byte {
	out = canon.AppendUvarint(out, uint64(len(keys)))
	for _, k := range keys {
		out = canon.AppendBytes(out, []byte(k.Member))
		out = canon.AppendBytes(out, k.WrappedKey)
	}
	return out
}

func (b RemoveBody) Encode() []byte {
	return appendKeys(canon.AppendBytes(nil, []byte(b.Target)), b.Keys)
}
func (b RekeyBody) Encode() []byte { return appendKeys(nil, b.Keys) }
func (b GrantBody) Encode() []byte {
	return append(canon.AppendBytes(nil, []byte(b.Target)), byte(b.Perms))
}
func (b PostBody) Encode() []byte { return canon.AppendBytes(nil, b.Sealed) }
func (b EditBody) Encode() []byte {
	return canon.AppendBytes(append([]byte(nil), b.Target[:]...), b.Sealed)
}
func (b RedactBody) Encode() []byte { return append([]byte(nil), b.Target[:]...) }
func (CloseBody) Encode() []byte    { return []byte{} }

func (r *reader) perm() Perm {
	p := Perm(r.Byte("permissions"))
	if r.Err() == nil && p&^PermAll != 0 {
		r.Fail(fmt.Errorf("%w: unknown permission bits %#x", ErrMalformed, uint8(p&^PermAll)))
	}
	return p
}

func (r *reader) envelopeKey() (k [EnvelopeKeySize]byte) {
	copy(k[:], r.Fixed(EnvelopeKeySize, "envelope key"))
	return k
}

// keys reads a key list: a count, then (node_id, wrapped key) pairs in
// strictly ascending node_id order.
func (r *reader) keys() []WrappedFor {
	n := r.Uvarint("key list count")
	if r.Err() != nil {
		return nil
	}
	// Each entry takes at least 2 bytes: a bound before allocating.
	if n > uint64(r.Remaining())/2 {
		r.Fail(fmt.Errorf("%w: key list of %d entries in %d bytes", ErrMalformed, n, r.Remaining()))
		return nil
	}
	var keys []WrappedFor
	if n > 0 {
		keys = make([]WrappedFor, n)
	}
	for i := range keys {
		keys[i].Member = r.nodeID("key recipient")
		keys[i].WrappedKey = r.Bytes(MaxWrappedKey, "wrapped key")
		if r.Err() == nil && len(keys[i].WrappedKey) == 0 {
			r.Fail(fmt.Errorf("%w: empty wrapped key", ErrMalformed))
		}
		if r.Err() == nil && i > 0 && keys[i-1].Member >= keys[i].Member {
			r.Fail(fmt.Errorf("%w: key recipients not strictly ascending", ErrMalformed))
		}
	}
	return keys
}

func (r *reader) nonEmpty(p []byte, what string) []byte {
	if r.Err() == nil && len(p) == 0 {
		r.Fail(fmt.Errorf("%w: empty %s", ErrMalformed, what))
	}
	return p
}

// DecodeBody decodes the canonical body of an op of type t strictly.
// Byte fields of the result alias b.
func DecodeBody(t Type, b []byte) (Body, error) {
	if len(b) > MaxBody {
		return nil, fmt.Errorf("%w: body of %d bytes (limit %d)", ErrTooLarge, len(b), MaxBody)
	}
	r := newReader(b)
	var body Body
	switch t {
	case TypeCreate:
		var c CreateBody
		c.Name = r.text(MaxName, "channel name")
		c.Cert = r.nonEmpty(r.Bytes(MaxCert, "certificate"), "certificate")
		c.EnvelopeKey = r.envelopeKey()
		c.Binding = r.nonEmpty(r.Bytes(MaxBinding, "envelope binding"), "envelope binding")
		c.WrappedKey = r.nonEmpty(r.Bytes(MaxWrappedKey, "wrapped key"), "wrapped key")
		body = c
	case TypeAdd:
		var a AddBody
		a.Member = r.nodeID("member")
		a.Cert = r.nonEmpty(r.Bytes(MaxCert, "certificate"), "certificate")
		a.EnvelopeKey = r.envelopeKey()
		a.Binding = r.nonEmpty(r.Bytes(MaxBinding, "envelope binding"), "envelope binding")
		a.Perms = r.perm()
		a.Epoch = r.id("key epoch")
		a.WrappedKey = r.nonEmpty(r.Bytes(MaxWrappedKey, "wrapped key"), "wrapped key")
		if r.Err() == nil && a.Epoch.IsZero() {
			r.Fail(fmt.Errorf("%w: zero key epoch", ErrMalformed))
		}
		body = a
	case TypeRemove:
		var rm RemoveBody
		rm.Target = r.nodeID("target")
		rm.Keys = r.keys()
		body = rm
	case TypeRekey:
		body = RekeyBody{Keys: r.keys()}
	case TypeGrant:
		var g GrantBody
		g.Target = r.nodeID("target")
		g.Perms = r.perm()
		body = g
	case TypePost:
		body = PostBody{Sealed: r.nonEmpty(r.Bytes(MaxSealed, "sealed text"), "sealed text")}
	case TypeEdit:
		var e EditBody
		e.Target = r.id("target post")
		e.Sealed = r.nonEmpty(r.Bytes(MaxSealed, "sealed text"), "sealed text")
		body = e
	case TypeRedact:
		body = RedactBody{Target: r.id("target post")}
	case TypeClose:
		body = CloseBody{}
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, uint8(t))
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("%s body: %w", t, err)
	}
	return body, nil
}
