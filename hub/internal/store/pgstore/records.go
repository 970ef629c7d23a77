package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// storable reports whether PostgreSQL text can hold s. A key that cannot
// be stored cannot be found either: lookups answer "not found" for it
// rather than a database error.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// PutNonce implements store.Store.
func (s *Store) PutNonce(ctx context.Context, n store.Nonce) error {
	if !storable(n.Value) {
		return fmt.Errorf("hub store: put nonce: %w", ErrUnstorable)
	}
	tag, err := s.pool.Exec(ctx, "INSERT INTO nonces (value, expires) VALUES ($1, $2) ON CONFLICT (value) DO NOTHING", n.Value, n.Expires)
	if err != nil {
		return s.fail("put nonce", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrExists
	}
	return nil
}

// TakeNonce implements store.Store: one DELETE ... RETURNING, so two
// replicas presented the same nonce cannot both take it.
func (s *Store) TakeNonce(ctx context.Context, value string, now time.Time) (store.Nonce, error) {
	if !storable(value) {
		return store.Nonce{}, store.ErrNotFound
	}
	var expires time.Time
	err := s.pool.QueryRow(ctx, "DELETE FROM nonces WHERE value = $1 RETURNING expires", value).Scan(&expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Nonce{}, store.ErrNotFound
	}
	if err != nil {
		return store.Nonce{}, s.fail("take nonce", err)
	}
	if !now.Before(expires) {
		return store.Nonce{}, store.ErrExpired
	}
	return store.Nonce{Value: value, Expires: expires}, nil
}

// putRefreshSQL stores a token, replacing one with the same hash (as the
// badger store does).
const putRefreshSQL = `INSERT INTO refresh_tokens (hash, family, node_id, expires) VALUES ($1, $2, $3, $4)
ON CONFLICT (hash) DO UPDATE SET family = EXCLUDED.family, node_id = EXCLUDED.node_id, expires = EXCLUDED.expires, used = false`

// revokeSQL revokes a family, never shortening a revocation.
const revokeSQL = `INSERT INTO revoked_families (family, until) VALUES ($1, $2)
ON CONFLICT (family) DO UPDATE SET until = GREATEST(revoked_families.until, EXCLUDED.until)`

// PutRefresh implements store.Store.
func (s *Store) PutRefresh(ctx context.Context, t store.RefreshToken) error {
	if !storable(t.Family) || !storable(t.NodeID) {
		return fmt.Errorf("hub store: put refresh token: %w", ErrUnstorable)
	}
	if _, err := s.pool.Exec(ctx, putRefreshSQL, t.Hash, t.Family, t.NodeID, t.Expires); err != nil {
		return s.fail("put refresh token", err)
	}
	return nil
}

// RotateRefresh implements store.Store in one transaction: the old token's
// row is locked (SELECT ... FOR UPDATE), so of two replicas rotating the
// same token at once the second waits, then sees it used and revokes the
// family.
func (s *Store) RotateRefresh(ctx context.Context, oldHash []byte, next store.RefreshToken, now, familyRevokeUntil time.Time) (store.RefreshToken, error) {
	var (
		old    = store.RefreshToken{Hash: oldHash}
		used   bool
		result error
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "SELECT family, node_id, expires, used FROM refresh_tokens WHERE hash = $1 FOR UPDATE", oldHash).
			Scan(&old.Family, &old.NodeID, &old.Expires, &used)
		if errors.Is(err, pgx.ErrNoRows) {
			result = store.ErrNotFound
			return nil
		}
		if err != nil {
			return err
		}
		revoked, err := familyRevoked(ctx, tx, old.Family, now)
		if err != nil {
			return err
		}
		switch {
		case revoked:
			result = store.ErrRevoked
			return nil
		case used:
			// Someone holds a copy of a rotated token: the family is no
			// longer trustworthy, whoever presents it.
			result = store.ErrRefreshReused
			_, err := tx.Exec(ctx, revokeSQL, old.Family, familyRevokeUntil)
			return err
		case !now.Before(old.Expires):
			result = store.ErrExpired
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE refresh_tokens SET used = true WHERE hash = $1", oldHash); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, putRefreshSQL, next.Hash, old.Family, old.NodeID, next.Expires)
		return err
	})
	if err != nil {
		return store.RefreshToken{}, s.fail("rotate refresh token", err)
	}
	if result != nil {
		return store.RefreshToken{}, result
	}
	return old, nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func familyRevoked(ctx context.Context, q querier, family string, now time.Time) (bool, error) {
	var until time.Time
	err := q.QueryRow(ctx, "SELECT until FROM revoked_families WHERE family = $1", family).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return now.Before(until), nil
}

// RevokeFamily implements store.Store.
func (s *Store) RevokeFamily(ctx context.Context, family string, until time.Time) error {
	if !storable(family) {
		return fmt.Errorf("hub store: revoke family: %w", ErrUnstorable)
	}
	if _, err := s.pool.Exec(ctx, revokeSQL, family, until); err != nil {
		return s.fail("revoke family", err)
	}
	return nil
}

// FamilyRevoked implements store.Store.
func (s *Store) FamilyRevoked(ctx context.Context, family string, now time.Time) (bool, error) {
	if !storable(family) {
		return false, nil
	}
	revoked, err := familyRevoked(ctx, s.pool, family, now)
	if err != nil {
		return false, s.fail("read family revocation", err)
	}
	return revoked, nil
}

// PutNode implements store.Store.
func (s *Store) PutNode(ctx context.Context, n store.Node) error {
	if !storable(n.NodeID) || !storable(n.CertificatePEM) {
		return fmt.Errorf("hub store: put node: %w", ErrUnstorable)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO nodes (node_id, certificate_pem, last_seen) VALUES ($1, $2, $3)
ON CONFLICT (node_id) DO UPDATE SET certificate_pem = EXCLUDED.certificate_pem, last_seen = EXCLUDED.last_seen`,
		n.NodeID, n.CertificatePEM, n.LastSeen)
	if err != nil {
		return s.fail("put node", err)
	}
	return nil
}

// GetNode implements store.Store.
func (s *Store) GetNode(ctx context.Context, nodeID string) (store.Node, error) {
	if !storable(nodeID) {
		return store.Node{}, store.ErrNotFound
	}
	n := store.Node{NodeID: nodeID}
	err := s.pool.QueryRow(ctx, "SELECT certificate_pem, last_seen FROM nodes WHERE node_id = $1", nodeID).Scan(&n.CertificatePEM, &n.LastSeen)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Node{}, store.ErrNotFound
	}
	if err != nil {
		return store.Node{}, s.fail("get node", err)
	}
	return n, nil
}

// touchBatch bounds the rows one TouchNodes statement changes.
const touchBatch = 500

// touchRetries bounds retries of a batch PostgreSQL aborted as a deadlock
// (two replicas touching overlapping nodes at once).
const touchRetries = 3

// TouchNodes implements store.Store: one UPDATE per batch, ids sorted so
// that replicas lock rows in the same order.
func (s *Store) TouchNodes(ctx context.Context, seen map[string]time.Time) error {
	ids := make([]string, 0, len(seen))
	for id := range seen {
		if storable(id) { // an unstorable id is no known node
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, touchBatch) {
		times := make([]time.Time, len(chunk))
		for i, id := range chunk {
			times[i] = seen[id]
		}
		var err error
		for range touchRetries {
			_, err = s.pool.Exec(ctx, `UPDATE nodes AS n SET last_seen = v.t
FROM unnest($1::text[], $2::timestamptz[]) AS v(id, t)
WHERE n.node_id = v.id AND v.t > n.last_seen`, chunk, times)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "40P01" {
				break
			}
		}
		if err != nil {
			return s.fail("record last seen", err)
		}
	}
	return nil
}

// profileStorable reports whether every text of p fits PostgreSQL (jsonb
// refuses \u0000 as text does).
func profileStorable(p store.Profile) bool {
	texts := []string{p.NodeID, p.Name, p.Description}
	for k := range p.Expertise {
		texts = append(texts, k)
	}
	texts = append(texts, p.URIs...)
	if p.Compute != nil {
		texts = append(texts, p.Compute.Models...)
	}
	for _, t := range texts {
		if strings.ContainsRune(t, 0) {
			return false
		}
	}
	return utf8.ValidString(p.NodeID)
}

// PutProfile implements store.Store. The profile is kept as JSON (as in
// the badger store), with Go's lower-cased name beside it for search.
func (s *Store) PutProfile(ctx context.Context, p store.Profile) error {
	if !profileStorable(p) {
		return fmt.Errorf("hub store: put profile: %w", ErrUnstorable)
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("hub store: put profile: %w", err)
	}
	// The name as it will read back: JSON turns invalid UTF-8 into U+FFFD.
	var back store.Profile
	if err := json.Unmarshal(doc, &back); err != nil {
		return fmt.Errorf("hub store: put profile: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO profiles (node_id, name_lower, doc) VALUES ($1, $2, $3)
ON CONFLICT (node_id) DO UPDATE SET name_lower = EXCLUDED.name_lower, doc = EXCLUDED.doc`,
		p.NodeID, strings.ToLower(back.Name), json.RawMessage(doc))
	if err != nil {
		return s.fail("put profile", err)
	}
	return nil
}

// GetProfile implements store.Store.
func (s *Store) GetProfile(ctx context.Context, nodeID string) (store.Profile, error) {
	if !storable(nodeID) {
		return store.Profile{}, store.ErrNotFound
	}
	var doc []byte
	err := s.pool.QueryRow(ctx, "SELECT doc FROM profiles WHERE node_id = $1", nodeID).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Profile{}, store.ErrNotFound
	}
	if err != nil {
		return store.Profile{}, s.fail("get profile", err)
	}
	var p store.Profile
	if err := json.Unmarshal(doc, &p); err != nil {
		return store.Profile{}, fmt.Errorf("hub store: damaged profile %q: %w", nodeID, err)
	}
	return p, nil
}

// DeleteProfile implements store.Store.
func (s *Store) DeleteProfile(ctx context.Context, nodeID string) error {
	if !storable(nodeID) {
		return store.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM profiles WHERE node_id = $1", nodeID)
	if err != nil {
		return s.fail("delete profile", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// searchSQL is store.Matches in SQL: an expertise key equal to the text at
// the level or above, or the text inside Go's lower-cased name (position
// is a plain substring test, no pattern).
const searchSQL = `SELECT doc FROM profiles
WHERE $1 = '' OR position($1 in name_lower) > 0 OR (doc->'expertise'->>$1)::bigint >= $2
ORDER BY node_id LIMIT $3`

// SearchProfiles implements store.Store. The query does the matching and
// the limit; store.Matches checks each row as well, so that no row it
// refuses is ever returned (TestSearchAgreesWithMatches holds the SQL to
// exactly store.Matches, so the check drops nothing).
func (s *Store) SearchProfiles(ctx context.Context, q store.Query) ([]store.Profile, error) {
	text := strings.ToLower(q.Text) // valid UTF-8 whatever q.Text was
	if q.Limit <= 0 || !storable(text) {
		// A NUL in the text: no stored name or key holds one.
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, searchSQL, text, q.MinLevel, q.Limit)
	if err != nil {
		return nil, s.fail("search profiles", err)
	}
	var out []store.Profile
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return nil, s.fail("search profiles", err)
		}
		var p store.Profile
		if err := json.Unmarshal(doc, &p); err != nil {
			rows.Close()
			return nil, fmt.Errorf("hub store: damaged profile in search: %w", err)
		}
		if store.Matches(p, text, q.MinLevel) {
			out = append(out, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("search profiles", err)
	}
	return out, nil
}
