package pgstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Key purposes: what a shared key is for.
const (
	// KeyToken signs the hub's access tokens.
	KeyToken = "token"
	// KeyTURN signs the TURN credentials of the replicas' TURN servers.
	KeyTURN = "turn"
)

// KeyAcceptFor is how long a retired key is still accepted (longer than
// any access token lives), before Cleanup deletes it.
const KeyAcceptFor = 24 * time.Hour

// keySize is the size of a new key, the hub's minimum secret size.
const keySize = 32

// keyLockID serialises the creation of the first key of a purpose between
// replicas starting at once: "dpc-key" in ASCII.
const keyLockID int64 = 0x006470632d6b6579

// Keys returns the key of purpose that signs (the newest active one, made
// now if there is none yet: the first replica to start makes it) and the
// further keys still accepted (older active ones, and retired ones for
// KeyAcceptFor). Whoever reads the database reads these keys: protect it,
// and its dumps, as the keys.
func (s *Store) Keys(ctx context.Context, purpose string) (sign []byte, accept [][]byte, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLockID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM hub_keys WHERE purpose = $1 AND retired_at IS NULL`, purpose).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := insertKey(ctx, tx, purpose); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `SELECT secret FROM hub_keys WHERE purpose = $1
			AND (retired_at IS NULL OR retired_at > now() - make_interval(secs => $2))
			ORDER BY retired_at IS NULL DESC, created_at DESC, kid`, purpose, KeyAcceptFor.Seconds())
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return err
		}
		sign, accept = keys[0], keys[1:]
		return nil
	})
	if err != nil {
		return nil, nil, s.fail("read "+purpose+" keys", err)
	}
	return sign, accept, nil
}

// RotateKey makes a new key of purpose the one that signs and retires the
// others (still accepted for KeyAcceptFor). It returns the new key, so
// that the caller can name it (auth.KeyID); never print it.
func (s *Store) RotateKey(ctx context.Context, purpose string) ([]byte, error) {
	var secret []byte
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLockID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE hub_keys SET retired_at = now() WHERE purpose = $1 AND retired_at IS NULL`, purpose); err != nil {
			return err
		}
		var err error
		secret, err = insertKey(ctx, tx, purpose)
		return err
	})
	if err != nil {
		return nil, s.fail("rotate "+purpose+" key", err)
	}
	return secret, nil
}

// insertKey stores and returns a new random key of purpose; its row id is
// a hash of it, never the key.
func insertKey(ctx context.Context, tx pgx.Tx, purpose string) ([]byte, error) {
	secret := make([]byte, keySize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	h := sha256.Sum256(secret)
	if _, err := tx.Exec(ctx, `INSERT INTO hub_keys (purpose, kid, secret) VALUES ($1, $2, $3)`, purpose, hex.EncodeToString(h[:8]), secret); err != nil {
		return nil, err
	}
	return secret, nil
}
