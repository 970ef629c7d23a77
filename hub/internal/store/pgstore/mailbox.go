package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// mailboxLockSQL serialises the puts for one recipient (a transaction
// advisory lock on a hash of it), so that two replicas storing for the
// same recipient at once cannot pass its quota together.
const mailboxLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('dpc-hub mailbox ' || $1, 0))`

// PutEnvelope implements store.Store in one transaction: lock the
// recipient, count what it holds, insert.
func (s *Store) PutEnvelope(ctx context.Context, e store.Envelope, q store.MailboxQuota) error {
	if !storable(e.Recipient) || !storable(e.ID) {
		return fmt.Errorf("hub store: put envelope: %w", ErrUnstorable)
	}
	var result error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		result = nil
		if _, err := tx.Exec(ctx, mailboxLockSQL, e.Recipient); err != nil {
			return err
		}
		var count, bytes int64
		err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM mailbox WHERE recipient = $1 AND expires > $2`,
			e.Recipient, e.Received).Scan(&count, &bytes)
		if err != nil {
			return err
		}
		size := int64(len(e.Data))
		if (q.Envelopes > 0 && count+1 > int64(q.Envelopes)) || (q.Bytes > 0 && bytes+size > q.Bytes) {
			result = store.ErrMailboxFull
			return nil
		}
		tag, err := tx.Exec(ctx, `INSERT INTO mailbox (recipient, id, envelope, size, received, expires) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (recipient, id) DO NOTHING`, e.Recipient, e.ID, e.Data, size, e.Received, e.Expires)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			result = store.ErrExists
		}
		return nil
	})
	if err != nil {
		return s.fail("put envelope", err)
	}
	return result
}

// FetchEnvelopes implements store.Store.
func (s *Store) FetchEnvelopes(ctx context.Context, recipient string, now time.Time, limit int) ([]store.Envelope, error) {
	if !storable(recipient) || limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, envelope, received, expires FROM mailbox
WHERE recipient = $1 AND expires > $2 ORDER BY received, id LIMIT $3`, recipient, now, limit)
	if err != nil {
		return nil, s.fail("fetch envelopes", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Envelope, error) {
		e := store.Envelope{Recipient: recipient}
		err := row.Scan(&e.ID, &e.Data, &e.Received, &e.Expires)
		return e, err
	})
	if err != nil {
		return nil, s.fail("fetch envelopes", err)
	}
	return out, nil
}

// AckEnvelopes implements store.Store.
func (s *Store) AckEnvelopes(ctx context.Context, recipient string, ids []string) (int, error) {
	if !storable(recipient) {
		return 0, nil
	}
	keep := make([]string, 0, len(ids))
	for _, id := range ids {
		if storable(id) { // an unstorable id names no stored envelope
			keep = append(keep, id)
		}
	}
	if len(keep) == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM mailbox WHERE recipient = $1 AND id = ANY($2)`, recipient, keep)
	if err != nil {
		return 0, s.fail("ack envelopes", err)
	}
	return int(tag.RowsAffected()), nil
}

// CountEnvelopes implements store.Store.
func (s *Store) CountEnvelopes(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM mailbox WHERE expires > $1`, now).Scan(&n); err != nil {
		return 0, s.fail("count envelopes", err)
	}
	return n, nil
}
