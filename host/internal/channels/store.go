package channels

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/store"
)

// atRestInfo is the HKDF info of the node-local key that seals epoch keys.
const atRestInfo = "dpc-channel-at-rest/v1"

// keyAD starts the associated data of a sealed epoch key.
const keyAD = "dpc-channel-key-at-rest/v1\x00"

// notApplied is the seq of an op stored while it waits for parents.
const notApplied = math.MaxUint64

// meta is what chanmeta/<channel> holds: this node joined the channel.
type meta struct {
	Joined bool `json:"joined"`
	// Inviter is who invited this node (empty for the creator), InviteOp
	// the add op: until the log holds something, they are where it comes from.
	Inviter  string `json:"inviter,omitempty"`
	InviteOp string `json:"invite_op,omitempty"`
}

// Invite is an invite received and not yet accepted (chaninvite/<channel>).
type Invite struct {
	Channel  string `json:"channel"`
	From     string `json:"from"`
	FromName string `json:"from_name,omitempty"`
	Op       string `json:"op"`
	Perms    string `json:"perms"`
	Received int64  `json:"received_ms"`
}

// chanStore is the service's part of the node store. Op records go
// through the writer (group commit); the rest is written at once.
type chanStore struct {
	st     *store.Store
	w      *writer
	atRest []byte
}

func newChanStore(st *store.Store, w *writer, envelopePriv []byte) (*chanStore, error) {
	k, err := hkdf.Key(sha256.New, envelopePriv, nil, atRestInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("channel at-rest key: %w", err)
	}
	return &chanStore{st: st, w: w, atRest: k}, nil
}

func opKey(ch, id chanop.ID) []byte    { return []byte("chanop/" + ch.String() + "/" + id.String()) }
func seqPrefix(ch chanop.ID) []byte    { return []byte("chanseq/" + ch.String() + "/") }
func keyPrefix(ch chanop.ID) []byte    { return []byte("chankey/" + ch.String() + "/") }
func metaKey(ch chanop.ID) []byte      { return []byte("chanmeta/" + ch.String()) }
func inviteKey(ch chanop.ID) []byte    { return []byte("chaninvite/" + ch.String()) }
func epochKey(ch, ep chanop.ID) []byte { return append(keyPrefix(ch), ep.String()...) }

// opRecord is the record of an op as received, at seq (notApplied while
// it waits), to append to a batch for the writer.
func opRecord(ch, id chanop.ID, seq uint64, raw []byte) store.KV {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(raw)), seq)
	return store.KV{Key: opKey(ch, id), Value: append(v, raw...)}
}

// op returns a stored op's seq and raw bytes, from the write queue while
// it is not on disk yet.
func (s *chanStore) op(ch, id chanop.ID) (uint64, []byte, error) {
	k := opKey(ch, id)
	v, deleted, ok := s.w.get(k)
	if deleted {
		return 0, nil, fmt.Errorf("channel op %s: %w", id, store.ErrNotFound)
	}
	if !ok {
		var err error
		if v, err = s.st.Get(k); err != nil {
			return 0, nil, err
		}
	}
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("channel op %s in the store: %d bytes: %w", id, len(v), errCorrupt)
	}
	return binary.BigEndian.Uint64(v), v[8:], nil
}

// appliedRecords are the records of id applied at seq: the op with its
// seq, then the seq index entry (in this order: a batch cut short by a
// crash never leaves an index entry without its op).
func appliedRecords(kvs []store.KV, ch, id chanop.ID, seq uint64, raw []byte) []store.KV {
	return append(kvs, opRecord(ch, id, seq, raw), store.KV{Key: binary.BigEndian.AppendUint64(seqPrefix(ch), seq), Value: id[:]})
}

// replay calls fn with every applied op of ch in apply order.
func (s *chanStore) replay(ch chanop.ID, fn func(seq uint64, raw []byte) error) error {
	p := seqPrefix(ch)
	return s.st.Iterate(p, func(k, v []byte) error {
		if len(v) != len(chanop.ID{}) {
			return fmt.Errorf("channel %s seq index: %w", ch, errCorrupt)
		}
		if len(k) != len(p)+8 {
			return fmt.Errorf("channel %s seq key %q: %w", ch, k, errCorrupt)
		}
		_, raw, err := s.op(ch, chanop.ID(v))
		if err != nil {
			return err
		}
		return fn(binary.BigEndian.Uint64(k[len(p):]), raw)
	})
}

// waiting calls fn with every op of ch stored while it waits for parents
// (seq notApplied), in op id order.
func (s *chanStore) waiting(ch chanop.ID, fn func(id chanop.ID, raw []byte) error) error {
	p := []byte("chanop/" + ch.String() + "/")
	type rec struct {
		id  chanop.ID
		raw []byte
	}
	var recs []rec
	err := s.st.Iterate(p, func(k, v []byte) error {
		if len(v) < 8 || binary.BigEndian.Uint64(v) != notApplied {
			return nil
		}
		id, err := chanop.ParseID(string(k[len(p):]))
		if err != nil {
			return fmt.Errorf("channel op key %q: %w", k, errCorrupt)
		}
		recs = append(recs, rec{id, v[8:]})
		return nil
	})
	if err != nil {
		return err
	}
	// fn may write the store: not from inside the iteration's transaction.
	for _, r := range recs {
		if err := fn(r.id, r.raw); err != nil {
			return err
		}
	}
	return nil
}

// dropWaiting deletes the stored bytes of ops the log let go of while they
// waited for parents (evicted from its bounded pending buffer): a sync
// fetches them again when their parents are there.
func (s *chanStore) dropWaiting(ch chanop.ID, ids []chanop.ID) error {
	// Through the write queue, after any queued write of the same record.
	kvs := make([]store.KV, 0, len(ids))
	for _, id := range ids {
		kvs = append(kvs, store.KV{Key: opKey(ch, id), Delete: true})
	}
	return s.w.enqueue(kvs, nil, true)
}

// putKey seals an epoch key under the at-rest key and stores it.
func (s *chanStore) putKey(ch, ep chanop.ID, k chancrypt.Key) error {
	aead, err := chacha20poly1305.NewX(s.atRest)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(k.Bytes())+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	return s.st.Set(epochKey(ch, ep), aead.Seal(nonce, nonce, k.Bytes(), keyAssoc(ch, ep)))
}

func keyAssoc(ch, ep chanop.ID) []byte {
	return append(append([]byte(keyAD), ch[:]...), ep[:]...)
}

// badKey is a chankey/ record that does not give a key back.
type badKey struct {
	record string
	epoch  chanop.ID // zero when the record's name is not an epoch id
	err    error
}

// keys returns every epoch key of ch this node stored, and the records
// that do not open (corrupt, or sealed under another at-rest key): one bad
// record costs the posts of its epoch, not the channel. err is the
// store's own failure.
func (s *chanStore) keys(ch chanop.ID) (map[chanop.ID]chancrypt.Key, []badKey, error) {
	aead, err := chacha20poly1305.NewX(s.atRest)
	if err != nil {
		return nil, nil, err
	}
	out := map[chanop.ID]chancrypt.Key{}
	var bad []badKey
	p := keyPrefix(ch)
	err = s.st.Iterate(p, func(k, v []byte) error {
		ep, err := chanop.ParseID(string(k[len(p):]))
		if err != nil {
			bad = append(bad, badKey{string(k), chanop.ID{}, fmt.Errorf("%w: the name is not an epoch id", errCorrupt)})
			return nil
		}
		if len(v) < aead.NonceSize() {
			bad = append(bad, badKey{string(k), ep, fmt.Errorf("%w: %d bytes", errCorrupt, len(v))})
			return nil
		}
		pt, err := aead.Open(nil, v[:aead.NonceSize()], v[aead.NonceSize():], keyAssoc(ch, ep))
		if err != nil {
			bad = append(bad, badKey{string(k), ep, fmt.Errorf("%w: does not open with this node's at-rest key", errCorrupt)})
			return nil
		}
		key, err := chancrypt.KeyFromBytes(pt)
		if err != nil {
			bad = append(bad, badKey{string(k), ep, fmt.Errorf("%w: %w", errCorrupt, err)})
			return nil
		}
		out[ep] = key
		return nil
	})
	return out, bad, err
}

func (s *chanStore) putJSON(key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.st.Set(key, b)
}

// getJSON reads key into v; found is false when it is absent.
func (s *chanStore) getJSON(key []byte, v any) (found bool, err error) {
	b, err := s.st.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w: %w", key, errCorrupt, err)
	}
	return true, nil
}

// joined lists the channels with a chanmeta record.
func (s *chanStore) joined() (map[chanop.ID]meta, error) {
	out := map[chanop.ID]meta{}
	err := s.st.Iterate([]byte("chanmeta/"), func(k, v []byte) error {
		id, err := chanop.ParseID(string(k[len("chanmeta/"):]))
		if err != nil {
			return fmt.Errorf("%q: %w", k, errCorrupt)
		}
		var m meta
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("%q: %w: %w", k, errCorrupt, err)
		}
		out[id] = m
		return nil
	})
	return out, err
}

// invites lists the invites not yet accepted.
func (s *chanStore) invites() ([]Invite, error) {
	var out []Invite
	err := s.st.Iterate([]byte("chaninvite/"), func(k, v []byte) error {
		var in Invite
		if err := json.Unmarshal(v, &in); err != nil {
			return fmt.Errorf("%q: %w: %w", k, errCorrupt, err)
		}
		out = append(out, in)
		return nil
	})
	return out, err
}
