package badgerstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// ErrLocked is returned by Open when another process holds the data dir.
var ErrLocked = errors.New("store is locked by another process")

// ttlGrace keeps a record past its expiry so that "expired" can be told
// from "unknown" for a while.
const ttlGrace = time.Hour

// maxTxnRetries bounds retries of a transaction that lost a conflict.
const maxTxnRetries = 16

// Store is the badger implementation of store.Store.
type Store struct {
	db *badger.DB
	// mailboxMu serialises PutEnvelope (see mailbox.go).
	mailboxMu sync.Mutex
}

var _ store.Store = (*Store)(nil)

// Open opens (or creates, mode 0700) the store in dir; dir "" opens an
// in-memory store (tests).
func Open(dir string, logger hclog.Logger) (*Store, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	var opts badger.Options
	if dir == "" {
		opts = badger.DefaultOptions("").WithInMemory(true)
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open hub store: %w", err)
		}
		opts = badger.DefaultOptions(dir)
	}
	// Small, bounded memory: the hub's records are tiny.
	opts = opts.
		WithLogger(badgerLogger{logger}).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(4 << 20).
		WithIndexCacheSize(2 << 20).
		WithValueLogFileSize(64 << 20).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithNumCompactors(2).
		WithBaseTableSize(2 << 20).
		WithMetricsEnabled(false).
		// A logout or a revocation must survive a crash right after it answered.
		WithSyncWrites(true)
	db, err := badger.Open(opts)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%w: another dpc-hub seems to use %s (stop it first): %w", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("open hub store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping reads nothing but proves the database is open.
func (s *Store) Ping(ctx context.Context) error {
	if s.db.IsClosed() {
		return errors.New("hub store is closed")
	}
	return nil
}

// update runs fn in a read-write transaction, retrying conflicts.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	var err error
	for range maxTxnRetries {
		err = s.db.Update(fn)
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return err
}

func ttlEntry(key string, val []byte, expires time.Time) *badger.Entry {
	ttl := max(time.Until(expires), 0) + ttlGrace
	return badger.NewEntry([]byte(key), val).WithTTL(ttl)
}

func getJSON(txn *badger.Txn, key string, v any) error {
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("hub store: damaged record %q: %w", key, err)
		}
		return nil
	})
}

func setJSON(txn *badger.Txn, key string, v any, expires time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if expires.IsZero() {
		return txn.Set([]byte(key), b)
	}
	return txn.SetEntry(ttlEntry(key, b, expires))
}

type nonceRec struct {
	Expires time.Time `json:"expires"`
}

// PutNonce implements store.Store.
func (s *Store) PutNonce(ctx context.Context, n store.Nonce) error {
	key := "n/" + n.Value
	return s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte(key)); err == nil {
			return store.ErrExists
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return setJSON(txn, key, nonceRec{Expires: n.Expires}, n.Expires)
	})
}

// TakeNonce implements store.Store.
func (s *Store) TakeNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	key := "n/" + value
	var rec nonceRec
	err := s.update(func(txn *badger.Txn) error {
		if err := getJSON(txn, key, &rec); err != nil {
			return err
		}
		return txn.Delete([]byte(key))
	})
	if err != nil {
		return store.Nonce{}, err
	}
	if !now.Before(rec.Expires) {
		return store.Nonce{}, store.ErrExpired
	}
	return store.Nonce{Value: value, Expires: rec.Expires}, nil
}

type refreshRec struct {
	Family  string    `json:"family"`
	NodeID  string    `json:"node_id"`
	Expires time.Time `json:"expires"`
	Used    bool      `json:"used,omitempty"`
}

func refreshKey(hash []byte) string { return "r/" + hex.EncodeToString(hash) }

// PutRefresh implements store.Store.
func (s *Store) PutRefresh(ctx context.Context, t store.RefreshToken) error {
	return s.update(func(txn *badger.Txn) error {
		return setJSON(txn, refreshKey(t.Hash), refreshRec{Family: t.Family, NodeID: t.NodeID, Expires: t.Expires}, t.Expires)
	})
}

// RotateRefresh implements store.Store.
func (s *Store) RotateRefresh(ctx context.Context, oldHash []byte, next store.RefreshToken, now, familyRevokeUntil time.Time) (store.RefreshToken, error) {
	var (
		rec    refreshRec
		result error
	)
	err := s.update(func(txn *badger.Txn) error {
		result = nil
		if err := getJSON(txn, refreshKey(oldHash), &rec); err != nil {
			return err
		}
		revoked, err := familyRevoked(txn, rec.Family, now)
		if err != nil {
			return err
		}
		switch {
		case revoked:
			result = store.ErrRevoked
			return nil
		case rec.Used:
			// Someone holds a copy of a rotated token: the family is no
			// longer trustworthy, whoever presents it.
			result = store.ErrRefreshReused
			return setJSON(txn, "f/"+rec.Family, revokedRec{Until: familyRevokeUntil}, familyRevokeUntil)
		case !now.Before(rec.Expires):
			result = store.ErrExpired
			return nil
		}
		rec.Used = true
		if err := setJSON(txn, refreshKey(oldHash), rec, rec.Expires); err != nil {
			return err
		}
		return setJSON(txn, refreshKey(next.Hash), refreshRec{Family: rec.Family, NodeID: rec.NodeID, Expires: next.Expires}, next.Expires)
	})
	if err != nil {
		return store.RefreshToken{}, err
	}
	if result != nil {
		return store.RefreshToken{}, result
	}
	return store.RefreshToken{Hash: oldHash, Family: rec.Family, NodeID: rec.NodeID, Expires: rec.Expires}, nil
}

type revokedRec struct {
	Until time.Time `json:"until"`
}

func familyRevoked(txn *badger.Txn, family string, now time.Time) (bool, error) {
	var rec revokedRec
	err := getJSON(txn, "f/"+family, &rec)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return now.Before(rec.Until), nil
}

// RevokeFamily implements store.Store.
func (s *Store) RevokeFamily(ctx context.Context, family string, until time.Time) error {
	return s.update(func(txn *badger.Txn) error {
		var rec revokedRec
		if err := getJSON(txn, "f/"+family, &rec); err == nil && rec.Until.After(until) {
			return nil // never shorten a revocation
		}
		return setJSON(txn, "f/"+family, revokedRec{Until: until}, until)
	})
}

// FamilyRevoked implements store.Store.
func (s *Store) FamilyRevoked(ctx context.Context, family string, now time.Time) (bool, error) {
	var revoked bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		revoked, err = familyRevoked(txn, family, now)
		return err
	})
	return revoked, err
}

// PutNode implements store.Store.
func (s *Store) PutNode(ctx context.Context, n store.Node) error {
	return s.update(func(txn *badger.Txn) error { return setJSON(txn, "d/"+n.NodeID, n, time.Time{}) })
}

// GetNode implements store.Store.
func (s *Store) GetNode(ctx context.Context, nodeID string) (store.Node, error) {
	var n store.Node
	err := s.db.View(func(txn *badger.Txn) error { return getJSON(txn, "d/"+nodeID, &n) })
	return n, err
}

// touchBatch bounds the records one TouchNodes transaction changes.
const touchBatch = 500

// TouchNodes implements store.Store.
func (s *Store) TouchNodes(ctx context.Context, seen map[string]time.Time) error {
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	for chunk := range slices.Chunk(ids, touchBatch) {
		err := s.update(func(txn *badger.Txn) error {
			for _, id := range chunk {
				var n store.Node
				if err := getJSON(txn, "d/"+id, &n); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						continue
					}
					return err
				}
				if !seen[id].After(n.LastSeen) {
					continue
				}
				n.LastSeen = seen[id]
				if err := setJSON(txn, "d/"+id, n, time.Time{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("record last seen: %w", err)
		}
	}
	return nil
}

// PutProfile implements store.Store.
func (s *Store) PutProfile(ctx context.Context, p store.Profile) error {
	return s.update(func(txn *badger.Txn) error { return setJSON(txn, "p/"+p.NodeID, p, time.Time{}) })
}

// GetProfile implements store.Store.
func (s *Store) GetProfile(ctx context.Context, nodeID string) (store.Profile, error) {
	var p store.Profile
	err := s.db.View(func(txn *badger.Txn) error { return getJSON(txn, "p/"+nodeID, &p) })
	return p, err
}

// DeleteProfile implements store.Store.
func (s *Store) DeleteProfile(ctx context.Context, nodeID string) error {
	return s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte("p/" + nodeID)); errors.Is(err, badger.ErrKeyNotFound) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return txn.Delete([]byte("p/" + nodeID))
	})
}

// SearchProfiles implements store.Store. It scans the profiles in node_id
// order: the embedded store serves a community, not the world (PostgreSQL
// indexes the same query).
func (s *Store) SearchProfiles(ctx context.Context, q store.Query) ([]store.Profile, error) {
	text := strings.ToLower(q.Text)
	var out []store.Profile
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte("p/")
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < q.Limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var p store.Profile
			if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &p) }); err != nil {
				return fmt.Errorf("hub store: damaged profile %q: %w", it.Item().Key(), err)
			}
			if store.Matches(p, text, q.MinLevel) {
				out = append(out, p)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b store.Profile) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out, err
}

// badgerLogger adapts hclog to badger's Logger; badger's INFO is chatty and
// goes to DEBUG, its DEBUG to TRACE.
type badgerLogger struct{ l hclog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(msg(f, a)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(msg(f, a)) }
func (b badgerLogger) Infof(f string, a ...any) {
	if b.l.IsDebug() {
		b.l.Debug(msg(f, a))
	}
}
func (b badgerLogger) Debugf(f string, a ...any) {
	if b.l.IsTrace() {
		b.l.Trace(msg(f, a))
	}
}

func msg(f string, a []any) string { return strings.TrimSpace(fmt.Sprintf(f, a...)) }
