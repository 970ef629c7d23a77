package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// PutOAuthState implements store.Store.
func (s *Store) PutOAuthState(ctx context.Context, st store.OAuthState) error {
	for _, v := range []string{st.Kind, st.NodeID, st.Provider, st.Verifier} {
		if !storable(v) {
			return fmt.Errorf("hub store: put oauth state: %w", ErrUnstorable)
		}
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO oauth_states (kind, hash, node_id, provider, verifier, nonce_hash, browser_hash, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, hash) DO NOTHING`,
		st.Kind, st.Hash, st.NodeID, st.Provider, st.Verifier, st.NonceHash, st.BrowserHash, st.Expires)
	if err != nil {
		return s.fail("put oauth state", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrExists
	}
	return nil
}

// TakeOAuthState implements store.Store: one DELETE ... RETURNING, so a
// state presented to two replicas at once is taken by one.
func (s *Store) TakeOAuthState(ctx context.Context, kind string, hash []byte, now time.Time) (store.OAuthState, error) {
	if !storable(kind) {
		return store.OAuthState{}, store.ErrNotFound
	}
	st := store.OAuthState{Kind: kind, Hash: hash}
	err := s.pool.QueryRow(ctx, `DELETE FROM oauth_states WHERE kind = $1 AND hash = $2
		RETURNING node_id, provider, verifier, nonce_hash, browser_hash, expires`, kind, hash).
		Scan(&st.NodeID, &st.Provider, &st.Verifier, &st.NonceHash, &st.BrowserHash, &st.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.OAuthState{}, store.ErrNotFound
	}
	if err != nil {
		return store.OAuthState{}, s.fail("take oauth state", err)
	}
	if !now.Before(st.Expires) {
		return store.OAuthState{}, store.ErrExpired
	}
	return st, nil
}

// LinkAccount implements store.Store.
func (s *Store) LinkAccount(ctx context.Context, a store.Account) error {
	for _, v := range []string{a.NodeID, a.Provider, a.Subject, a.Email, a.Name} {
		if !storable(v) {
			return fmt.Errorf("hub store: link account: %w", ErrUnstorable)
		}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts (node_id, provider, subject, email, name, linked_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (node_id, provider, subject) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, linked_at = EXCLUDED.linked_at`,
		a.NodeID, a.Provider, a.Subject, a.Email, a.Name, a.LinkedAt)
	if err != nil {
		return s.fail("link account", err)
	}
	return nil
}

// ListAccounts implements store.Store.
func (s *Store) ListAccounts(ctx context.Context, nodeID string) ([]store.Account, error) {
	if !storable(nodeID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT node_id, provider, subject, email, name, linked_at FROM accounts
		WHERE node_id = $1 ORDER BY provider, subject`, nodeID)
	if err != nil {
		return nil, s.fail("list accounts", err)
	}
	accts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Account, error) {
		var a store.Account
		err := r.Scan(&a.NodeID, &a.Provider, &a.Subject, &a.Email, &a.Name, &a.LinkedAt)
		return a, err
	})
	if err != nil {
		return nil, s.fail("list accounts", err)
	}
	if len(accts) == 0 {
		return nil, nil
	}
	return accts, nil
}

// UnlinkAccounts implements store.Store.
func (s *Store) UnlinkAccounts(ctx context.Context, nodeID, provider string) error {
	if !storable(nodeID) || !storable(provider) {
		return store.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM accounts WHERE node_id = $1 AND provider = $2`, nodeID, provider)
	if err != nil {
		return s.fail("unlink accounts", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}
