package badgerstore

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// Mailbox keys. An envelope is two records with the same TTL: a small
// index record, ordered by arrival, that quota checks and fetches scan
// without reading envelopes, and the envelope's bytes:
//
//	mi/RECIPIENT/RECEIVED/ID  → mailboxIndex (RECEIVED: 16 hex of UnixNano)
//	md/RECIPIENT/ID           → the envelope's bytes
//
// Puts are serialised by Store.mailboxMu: badger detects conflicts on
// keys read and written, not on new keys in a scanned range, so two
// concurrent puts could otherwise both pass a quota. One process holds the
// data dir, so a mutex is the whole story.
const (
	mailboxIndexPrefix = "mi/"
	mailboxDataPrefix  = "md/"
)

// errBadRecipient: a recipient the key layout cannot hold (the hub only
// stores for valid node_ids).
var errBadRecipient = errors.New("hub store: a mailbox recipient may not be empty or hold a /")

type mailboxIndex struct {
	Size    int64     `json:"size"`
	Expires time.Time `json:"expires"`
}

func validRecipient(r string) bool { return r != "" && !strings.Contains(r, "/") }

func indexPrefix(recipient string) string { return mailboxIndexPrefix + recipient + "/" }

func indexKey(e store.Envelope) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(e.Received.UnixNano()))
	return indexPrefix(e.Recipient) + hex.EncodeToString(b[:]) + "/" + e.ID
}

func dataKey(recipient, id string) string { return mailboxDataPrefix + recipient + "/" + id }

// idOfIndexKey returns the envelope id in an index key of prefix.
func idOfIndexKey(key []byte, prefix string) string {
	rest := string(key[len(prefix):])
	if len(rest) < 17 {
		return ""
	}
	return rest[17:]
}

// mailboxEntry is an entry that lives until expires (badger's TTL has
// whole seconds: one more, so that it never vanishes before its time).
func mailboxEntry(key string, val []byte, expires time.Time) *badger.Entry {
	return badger.NewEntry([]byte(key), val).WithTTL(max(time.Until(expires), 0) + time.Second)
}

// eachIndex calls fn with every index record of prefix, in key order,
// until fn returns false.
func eachIndex(txn *badger.Txn, prefix string, fn func(key []byte, ix mailboxIndex) (bool, error)) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(prefix)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var ix mailboxIndex
		key := it.Item().KeyCopy(nil)
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &ix) }); err != nil {
			return fmt.Errorf("hub store: damaged mailbox index %q: %w", key, err)
		}
		more, err := fn(key, ix)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// PutEnvelope implements store.Store.
func (s *Store) PutEnvelope(ctx context.Context, e store.Envelope, q store.MailboxQuota) error {
	if !validRecipient(e.Recipient) {
		return errBadRecipient
	}
	size := int64(len(e.Data))
	s.mailboxMu.Lock()
	defer s.mailboxMu.Unlock()
	return s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte(dataKey(e.Recipient, e.ID))); err == nil {
			return store.ErrExists
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		var count, bytes int64
		err := eachIndex(txn, indexPrefix(e.Recipient), func(_ []byte, ix mailboxIndex) (bool, error) {
			if ix.Expires.After(e.Received) {
				count++
				bytes += ix.Size
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		if (q.Envelopes > 0 && count+1 > int64(q.Envelopes)) || (q.Bytes > 0 && bytes+size > q.Bytes) {
			return store.ErrMailboxFull
		}
		ix, err := json.Marshal(mailboxIndex{Size: size, Expires: e.Expires})
		if err != nil {
			return err
		}
		if err := txn.SetEntry(mailboxEntry(indexKey(e), ix, e.Expires)); err != nil {
			return err
		}
		return txn.SetEntry(mailboxEntry(dataKey(e.Recipient, e.ID), e.Data, e.Expires))
	})
}

// FetchEnvelopes implements store.Store.
func (s *Store) FetchEnvelopes(ctx context.Context, recipient string, now time.Time, limit int) ([]store.Envelope, error) {
	if !validRecipient(recipient) || limit <= 0 {
		return nil, nil
	}
	var out []store.Envelope
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := indexPrefix(recipient)
		return eachIndex(txn, prefix, func(key []byte, ix mailboxIndex) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if !ix.Expires.After(now) {
				return true, nil
			}
			id := idOfIndexKey(key, prefix)
			item, err := txn.Get([]byte(dataKey(recipient, id)))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return true, nil // expired between the two reads
			}
			if err != nil {
				return false, err
			}
			data, err := item.ValueCopy(nil)
			if err != nil {
				return false, err
			}
			var recv [8]byte
			if _, err := hex.Decode(recv[:], key[len(prefix):len(prefix)+16]); err != nil {
				return false, fmt.Errorf("hub store: damaged mailbox index %q: %w", key, err)
			}
			out = append(out, store.Envelope{ID: id, Recipient: recipient, Data: data,
				Received: time.Unix(0, int64(binary.BigEndian.Uint64(recv[:]))), Expires: ix.Expires})
			return len(out) < limit, nil
		})
	})
	return out, err
}

// AckEnvelopes implements store.Store.
func (s *Store) AckEnvelopes(ctx context.Context, recipient string, ids []string) (int, error) {
	if !validRecipient(recipient) || len(ids) == 0 {
		return 0, nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var deleted int
	err := s.update(func(txn *badger.Txn) error {
		deleted = 0
		prefix := indexPrefix(recipient)
		var keys [][]byte
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = []byte(prefix), false
		it := txn.NewIterator(opts)
		for it.Rewind(); it.Valid(); it.Next() {
			if want[idOfIndexKey(it.Item().Key(), prefix)] {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		it.Close()
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
			if err := txn.Delete([]byte(dataKey(recipient, idOfIndexKey(k, prefix)))); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return deleted, nil
}

// CountEnvelopes implements store.Store. It scans the index records only.
func (s *Store) CountEnvelopes(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		return eachIndex(txn, mailboxIndexPrefix, func(_ []byte, ix mailboxIndex) (bool, error) {
			if ix.Expires.After(now) {
				n++
			}
			return ctx.Err() == nil, ctx.Err()
		})
	})
	return n, err
}
