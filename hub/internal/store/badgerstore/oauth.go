package badgerstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// OAuth records: "o/KIND/HEXHASH" for single-use states, and
// "a/NODE/PROVIDER/SUBJECT" for linked accounts, so that a node's accounts
// (and one provider's) are a prefix scan. Node ids and provider names hold
// no "/"; a subject may, and it comes last.

type oauthStateRec struct {
	NodeID      string    `json:"node_id"`
	Provider    string    `json:"provider"`
	Verifier    string    `json:"verifier,omitempty"`
	NonceHash   []byte    `json:"nonce_hash,omitempty"`
	BrowserHash []byte    `json:"browser_hash,omitempty"`
	Expires     time.Time `json:"expires"`
}

func oauthStateKey(kind string, hash []byte) string {
	return "o/" + kind + "/" + hex.EncodeToString(hash)
}

// PutOAuthState implements store.Store.
func (s *Store) PutOAuthState(ctx context.Context, st store.OAuthState) error {
	key := oauthStateKey(st.Kind, st.Hash)
	return s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte(key)); err == nil {
			return store.ErrExists
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return setJSON(txn, key, oauthStateRec{NodeID: st.NodeID, Provider: st.Provider, Verifier: st.Verifier,
			NonceHash: st.NonceHash, BrowserHash: st.BrowserHash, Expires: st.Expires}, st.Expires)
	})
}

// TakeOAuthState implements store.Store.
func (s *Store) TakeOAuthState(ctx context.Context, kind string, hash []byte, now time.Time) (store.OAuthState, error) {
	key := oauthStateKey(kind, hash)
	var rec oauthStateRec
	err := s.update(func(txn *badger.Txn) error {
		if err := getJSON(txn, key, &rec); err != nil {
			return err
		}
		return txn.Delete([]byte(key))
	})
	if err != nil {
		return store.OAuthState{}, err
	}
	if !now.Before(rec.Expires) {
		return store.OAuthState{}, store.ErrExpired
	}
	return store.OAuthState{Kind: kind, Hash: hash, NodeID: rec.NodeID, Provider: rec.Provider, Verifier: rec.Verifier,
		NonceHash: rec.NonceHash, BrowserHash: rec.BrowserHash, Expires: rec.Expires}, nil
}

func accountPrefix(nodeID string) string { return "a/" + nodeID + "/" }

// LinkAccount implements store.Store.
func (s *Store) LinkAccount(ctx context.Context, a store.Account) error {
	if a.NodeID == "" || a.Provider == "" || a.Subject == "" || strings.Contains(a.NodeID, "/") || strings.Contains(a.Provider, "/") {
		return fmt.Errorf("link account: node_id %q, provider %q, subject %q: want all three set, no / in the first two", a.NodeID, a.Provider, a.Subject)
	}
	key := accountPrefix(a.NodeID) + a.Provider + "/" + a.Subject
	return s.update(func(txn *badger.Txn) error { return setJSON(txn, key, a, time.Time{}) })
}

// scanAccounts calls fn for every account under prefix, in key order.
func scanAccounts(ctx context.Context, txn *badger.Txn, prefix string, fn func(key []byte, a store.Account) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(prefix)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var a store.Account
		if err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &a) }); err != nil {
			return fmt.Errorf("hub store: damaged account %q: %w", it.Item().Key(), err)
		}
		if err := fn(it.Item().KeyCopy(nil), a); err != nil {
			return err
		}
	}
	return nil
}

// ListAccounts implements store.Store.
func (s *Store) ListAccounts(ctx context.Context, nodeID string) ([]store.Account, error) {
	var out []store.Account
	err := s.db.View(func(txn *badger.Txn) error {
		return scanAccounts(ctx, txn, accountPrefix(nodeID), func(_ []byte, a store.Account) error {
			out = append(out, a)
			return nil
		})
	})
	// Key order is provider/subject order but for a provider name that is
	// a prefix of another ("git" < "git-x" yet "git/" > "git-"): sort.
	slices.SortFunc(out, func(x, y store.Account) int {
		if c := strings.Compare(x.Provider, y.Provider); c != 0 {
			return c
		}
		return strings.Compare(x.Subject, y.Subject)
	})
	return out, err
}

// UnlinkAccounts implements store.Store.
func (s *Store) UnlinkAccounts(ctx context.Context, nodeID, provider string) error {
	if strings.Contains(provider, "/") {
		return store.ErrNotFound // no provider name holds one; it would widen the prefix
	}
	return s.update(func(txn *badger.Txn) error {
		var keys [][]byte
		err := scanAccounts(ctx, txn, accountPrefix(nodeID)+provider+"/", func(key []byte, _ store.Account) error {
			keys = append(keys, key)
			return nil
		})
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return store.ErrNotFound
		}
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
