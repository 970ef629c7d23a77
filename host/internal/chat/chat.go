package chat

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dpc-go/dpc/host/internal/store"
)

// State is where a message is in its life.
type State string

// Message states.
const (
	// StateQueued: sent by us, in the outbox, not acknowledged yet.
	StateQueued State = "queued"
	// StateDelivered: the peer stored it.
	StateDelivered State = "delivered"
	// StateHeldByPeer: the peer stored it as part of a contact request.
	StateHeldByPeer State = "held"
	// StateDenied: the peer's firewall refused it.
	StateDenied State = "denied"
	// StateReceived: from the peer, shown to the user.
	StateReceived State = "received"
	// StateRequest: from a stranger, held until the user accepts them.
	StateRequest State = "request"
	// StateRestored: "sent by us" in a peer's history, but not in this
	// store (e.g. lost with an old data directory). It is the peer's word
	// alone, never shown as a message we are known to have sent.
	StateRestored State = "restored"
)

// Message is one message of a conversation.
type Message struct {
	ID string `json:"id"`
	// Peer is the other party of the conversation.
	Peer   string    `json:"peer"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Text   string    `json:"text"`
	SentAt time.Time `json:"sent_at"`
	State  State     `json:"state"`
	// Reason explains a denial.
	Reason string `json:"reason,omitempty"`
}

// Outgoing tells whether we sent it.
func (m Message) Outgoing() bool { return m.From != m.Peer }

var (
	// ErrNotFound means no such message.
	ErrNotFound = errors.New("message not found")
	// ErrQuota means a stranger's message was not held: the contact
	// requests it already has held reach its quota.
	ErrQuota = errors.New("contact request quota reached")
	// ErrBadCursor means a page cursor this store did not hand out.
	ErrBadCursor = errors.New("invalid history cursor")
)

// Quota bounds the contact requests (StateRequest messages) held from one
// peer: how many, and how many bytes of text in all.
type Quota struct {
	Messages int
	Bytes    int
}

// Page sizes.
const (
	// DefaultPageSize is the size of a page when the caller gives none.
	DefaultPageSize = 200
	// MaxPageSize is the most messages one page holds.
	MaxPageSize = 500
	// maxPageText bounds the text in one page (a page of 64 KiB messages
	// would otherwise hold 32 MB); a page always holds at least one message.
	maxPageText = 4 << 20
)

// Page is a run of messages of one conversation, oldest first.
type Page struct {
	Messages []Message `json:"messages"`
	// Next is the cursor to go on from in the direction paged: after the
	// last message (After) or before the first (Before).
	Next Cursor `json:"next,omitempty"`
	// More says whether messages exist beyond Next.
	More bool `json:"more"`
}

// Cursor is an opaque position in a conversation, between two messages:
// unpadded base64url (the DPTP id alphabet) of the sent time and the
// message id, at most MaxCursorLen bytes. "" is the start (After) or the
// end (Before).
type Cursor string

// MaxCursorLen is the longest cursor: 8 bytes of time and a 64-byte id.
const MaxCursorLen = (8 + 64 + 2) / 3 * 4

// CursorOf is the position of m: After(CursorOf(m)) starts with the message
// after m, Before(CursorOf(m)) ends with the one before it.
func CursorOf(m Message) Cursor {
	raw := binary.BigEndian.AppendUint64(nil, uint64(m.SentAt.UnixNano()))
	return Cursor(base64.RawURLEncoding.EncodeToString(append(raw, m.ID...)))
}

// SinceCursor is the position just before the first message sent at t (the
// start for a zero t or one before 1970).
func SinceCursor(t time.Time) Cursor {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return ""
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixNano()))
	return Cursor(base64.RawURLEncoding.EncodeToString(ts[:]))
}

// position decodes c into a key suffix (time, "/", id); nil for "".
func (c Cursor) position() ([]byte, error) {
	if c == "" {
		return nil, nil
	}
	if len(c) > MaxCursorLen {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadCursor, len(c), MaxCursorLen)
	}
	raw, err := base64.RawURLEncoding.DecodeString(string(c))
	if err != nil || len(raw) < 8 {
		return nil, fmt.Errorf("%w: %.16q is not a cursor this node handed out", ErrBadCursor, string(c))
	}
	for _, b := range raw[8:] {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-') {
			return nil, fmt.Errorf("%w: %.16q is not a cursor this node handed out", ErrBadCursor, string(c))
		}
	}
	return append(append(raw[:8:8], '/'), raw[8:]...), nil
}

// Store is the conversation store.
type Store struct{ db *badger.DB }

// New wraps an open store.
func New(s *store.Store) *Store { return &Store{db: s.DB()} }

func timeKey(prefix, peer string, t time.Time, id string) []byte {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixNano()))
	k := append([]byte(prefix+"/"+peer+"/"), ts[:]...)
	return append(append(k, '/'), id...)
}

func msgKey(m Message) []byte { return timeKey("msg", m.Peer, m.SentAt, m.ID) }

// textKey is where the text of the message stored at msg key k lives. Text
// is kept apart from the small metadata record so that an ACK or a state
// change rewrites a few bytes, not a 64 KiB message.
func textKey(k []byte) []byte { return append([]byte("msgtext/"), k[len("msg/"):]...) }
func idKey(peer, from, id string) []byte {
	return []byte("msgid/" + peer + "/" + from + "/" + id)
}
func outboxKey(m Message) []byte { return timeKey("outbox", m.Peer, m.SentAt, m.ID) }

// AddOutgoing records a message we send: in the conversation and the
// outbox, atomically and durably.
func (s *Store) AddOutgoing(m Message) error {
	m.State = StateQueued
	return s.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(idKey(m.Peer, m.From, m.ID)); err == nil {
			return fmt.Errorf("message %s already exists", m.ID)
		}
		return putMessage(txn, m, true)
	})
}

func putMessage(txn *badger.Txn, m Message, outbox bool) error {
	k := msgKey(m)
	if err := txn.Set(textKey(k), []byte(m.Text)); err != nil {
		return err
	}
	if err := setMeta(txn, k, m); err != nil {
		return err
	}
	if err := txn.Set(idKey(m.Peer, m.From, m.ID), k); err != nil {
		return err
	}
	if outbox {
		return txn.Set(outboxKey(m), nil)
	}
	return nil
}

// AddIncoming stores a message unless it is already there (same sender and
// id); dup reports a duplicate, which must be acknowledged again but not
// shown twice.
func (s *Store) AddIncoming(m Message) (dup bool, err error) {
	err = s.db.Update(func(txn *badger.Txn) error {
		dup, err = addIncoming(txn, m)
		return err
	})
	return dup, err
}

// AddRequest is AddIncoming for a message held as a contact request: it is
// stored only if the requests already held from m.From, with m, stay
// within q; otherwise it returns an error wrapping ErrQuota. A duplicate is
// reported as such, whatever the quota.
func (s *Store) AddRequest(m Message, q Quota) (dup bool, err error) {
	err = s.db.Update(func(txn *badger.Txn) error {
		if dup, err = has(txn, m); dup || err != nil {
			return err
		}
		count, size := 0, 0
		err := eachRequest(txn, m.Peer, func(k []byte, held Message) error {
			if held.From != m.From {
				return nil
			}
			t, err := txn.Get(textKey(k))
			if err != nil {
				return err
			}
			count, size = count+1, size+int(t.ValueSize())
			return nil
		})
		if err != nil {
			return err
		}
		if count+1 > q.Messages || size+len(m.Text) > q.Bytes {
			return fmt.Errorf("%w: %d messages (%d bytes) are held, at most %d (%d bytes) are kept until the user accepts the sender",
				ErrQuota, count, size, q.Messages, q.Bytes)
		}
		return putMessage(txn, m, false)
	})
	return dup, err
}

// eachRequest calls fn with the key and record of each contact request
// held in peer's conversation, oldest first.
func eachRequest(txn *badger.Txn, peer string, fn func(k []byte, m Message) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte("msg/" + peer + "/"), PrefetchValues: true, PrefetchSize: 32})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var m Message
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
			return err
		}
		if m.State != StateRequest {
			continue
		}
		if err := fn(it.Item().KeyCopy(nil), m); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRequests deletes the contact requests held in peer's conversation
// (a stranger forgotten) and returns how many there were.
func (s *Store) DeleteRequests(peer string) (int, error) {
	var n int
	err := s.db.Update(func(txn *badger.Txn) error {
		var doomed [][]byte
		err := eachRequest(txn, peer, func(k []byte, m Message) error {
			doomed = append(doomed, k, textKey(k), idKey(m.Peer, m.From, m.ID))
			n++
			return nil
		})
		if err != nil {
			return err
		}
		// Deleted once the iterator is closed.
		for _, k := range doomed {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// messageCost is what one stored message counts for against badger's
// transaction limits, beyond its text: three keys, the metadata record and
// the skiplist nodes, with room to spare.
const messageCost = 1 << 10

// AddIncomingAll is AddIncoming for many messages, a few transactions (and
// disk syncs) in all rather than one each; dup[i] is AddIncoming's dup for
// msgs[i]. A failure leaves the batches before it stored. A batch fills at
// most half of what the store takes in one transaction (which follows its
// memtable size), so the limits can change without touching this.
func (s *Store) AddIncomingAll(msgs []Message) (dup []bool, err error) {
	dup = make([]bool, len(msgs))
	maxSize, maxCount := s.db.MaxBatchSize()/2, s.db.MaxBatchCount()/(2*3)
	for i := 0; i < len(msgs); {
		err := s.db.Update(func(txn *badger.Txn) error {
			for n, size := int64(0), int64(0); i < len(msgs) && n < maxCount && (n == 0 || size+int64(len(msgs[i].Text)+messageCost) <= maxSize); n, i = n+1, i+1 {
				d, err := addIncoming(txn, msgs[i])
				if err != nil {
					return err
				}
				dup[i], size = d, size+int64(len(msgs[i].Text)+messageCost)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return dup, nil
}

// addIncoming stores m in txn unless a message with its sender and id is
// there (dup).
func addIncoming(txn *badger.Txn, m Message) (dup bool, err error) {
	if dup, err = has(txn, m); dup || err != nil {
		return dup, err
	}
	return false, putMessage(txn, m, false)
}

// has tells whether txn holds a message with m's sender and id.
func has(txn *badger.Txn, m Message) (bool, error) {
	_, err := txn.Get(idKey(m.Peer, m.From, m.ID))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// setMeta writes m's metadata record (everything but the text) at k.
func setMeta(txn *badger.Txn, k []byte, m Message) error {
	m.Text = ""
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return txn.Set(k, b)
}

// readText fills in m's text from its text record.
func readText(txn *badger.Txn, k []byte, m *Message) error {
	it, err := txn.Get(textKey(k))
	if err != nil {
		return err
	}
	return it.Value(func(v []byte) error {
		m.Text = string(v)
		return nil
	})
}

// get reads a message's metadata (not its text) by sender and id inside txn.
func get(txn *badger.Txn, peer, from, id string) (Message, []byte, error) {
	it, err := txn.Get(idKey(peer, from, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Message{}, nil, fmt.Errorf("%w: %s from %s", ErrNotFound, id, from)
	}
	if err != nil {
		return Message{}, nil, err
	}
	k, err := it.ValueCopy(nil)
	if err != nil {
		return Message{}, nil, err
	}
	mi, err := txn.Get(k)
	if err != nil {
		return Message{}, nil, err
	}
	var m Message
	err = mi.Value(func(v []byte) error { return json.Unmarshal(v, &m) })
	return m, k, err
}

// Acknowledge records the peer's answer to a message we sent and takes it
// out of the outbox.
func (s *Store) Acknowledge(peer, from, id string, st State, reason string) (Message, error) {
	var m Message
	err := s.db.Update(func(txn *badger.Txn) error {
		var k []byte
		var err error
		m, k, err = get(txn, peer, from, id)
		if err != nil {
			return err
		}
		if m.State == StateRestored {
			// Only the peer says we sent it: its ACK proves nothing.
			return fmt.Errorf("%w: %s from %s is restored, not sent by this node", ErrNotFound, id, from)
		}
		m.State, m.Reason = st, reason
		if err := setMeta(txn, k, m); err != nil {
			return err
		}
		if err := txn.Delete(outboxKey(m)); err != nil {
			return err
		}
		return readText(txn, k, &m)
	})
	return m, err
}

// SetState changes the state of a stored message (e.g. a held request
// becoming received once the user accepts the sender).
func (s *Store) SetState(peer, from, id string, st State) error {
	return s.db.Update(func(txn *badger.Txn) error {
		m, k, err := get(txn, peer, from, id)
		if err != nil {
			return err
		}
		m.State = st
		return setMeta(txn, k, m)
	})
}

// Outbox lists the messages to peer that await acknowledgement, oldest first.
func (s *Store) Outbox(peer, self string) ([]Message, error) {
	var ids [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte("outbox/" + peer + "/")
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			ids = append(ids, k[len(prefix)+9:])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(ids))
	err = s.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			m, k, err := get(txn, peer, self, string(id))
			if err != nil {
				return err
			}
			if err := readText(txn, k, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// History lists the conversation with peer in order (sent time, then id),
// from since on (zero: from the start): the first page of at most limit
// messages (0: DefaultPageSize). Use After to go on.
func (s *Store) History(peer string, since time.Time, limit int) ([]Message, error) {
	p, err := s.After(peer, SinceCursor(since), limit)
	return p.Messages, err
}

// After returns a page of the conversation with peer: the messages after
// position from ("": from the start), oldest first, at most limit (0:
// DefaultPageSize; at most MaxPageSize) and at most maxPageText bytes of
// text. Next is where the next page starts; More says whether there is one.
func (s *Store) After(peer string, from Cursor, limit int) (Page, error) {
	pos, err := from.position()
	if err != nil {
		return Page{}, err
	}
	prefix := []byte("msg/" + peer + "/")
	start := prefix
	if pos != nil {
		start = append(bytes.Clone(prefix), pos...)
	}
	return s.page(prefix, start, false, from, limit)
}

// Before returns the newest messages of the conversation with peer before
// position to ("": the end), at most limit (as for After), oldest first.
// Next is where the page before this one ends; More says whether there is
// one.
func (s *Store) Before(peer string, to Cursor, limit int) (Page, error) {
	pos, err := to.position()
	if err != nil {
		return Page{}, err
	}
	prefix := []byte("msg/" + peer + "/")
	start := append(bytes.Clone(prefix), 0xff)
	if pos != nil {
		start = append(bytes.Clone(prefix), pos...)
	}
	p, err := s.page(prefix, start, true, to, limit)
	slices.Reverse(p.Messages)
	return p, err
}

// page walks the msg/ keys under prefix from start (excluded when a
// message sits exactly there), backwards if reverse, and collects a page.
func (s *Store) page(prefix, start []byte, reverse bool, from Cursor, limit int) (Page, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	p := Page{Messages: []Message{}, Next: from}
	err := s.db.View(func(txn *badger.Txn) error {
		// Values are small metadata records; texts are read one by one.
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: reverse, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		text := 0
		for it.Seek(start); it.Valid(); it.Next() {
			k := it.Item().Key()
			if bytes.Equal(k, start) {
				continue
			}
			if len(p.Messages) == limit {
				p.More = true
				return nil
			}
			var m Message
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
				return err
			}
			if err := readText(txn, k, &m); err != nil {
				return err
			}
			// A page of long texts stops early: pages stay small in bytes too.
			if text += len(m.Text); text > maxPageText && len(p.Messages) > 0 {
				p.More = true
				return nil
			}
			p.Messages = append(p.Messages, m)
			p.Next = CursorOf(m)
		}
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	return p, nil
}

// LastFrom returns the newest message of the conversation that came from the
// peer (zero Message if none), to ask for history after it on reconnect.
func (s *Store) LastFrom(peer string) (Message, error) {
	var m Message
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := []byte("msg/" + peer + "/")
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		for it.Seek(append(bytes.Clone(prefix), 0xff)); it.Valid(); it.Next() {
			var c Message
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &c) }); err != nil {
				return err
			}
			if c.From == peer {
				m = c
				return readText(txn, it.Item().Key(), &m)
			}
		}
		return nil
	})
	return m, err
}
