package pgstore

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/pgtest"
)

// TestKeysAreSharedAndRotate: replicas starting at once on a fresh
// database agree on one signing key; a rotation makes a new key sign and
// keeps the old accepted until it is KeyAcceptFor past its retirement,
// when Cleanup deletes it. Purposes do not mix.
func TestKeysAreSharedAndRotate(t *testing.T) {
	ctx := testCtx(t)
	dbURL := pgtest.Shared(t).Database(t)
	const replicas = 4
	signs := make([][]byte, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := openURL(t, dbURL)
			sign, accept, err := s.Keys(ctx, KeyToken)
			if err != nil {
				t.Error(err)
				return
			}
			if len(accept) != 0 {
				t.Errorf("fresh database: %d accepted keys besides the signing one", len(accept))
			}
			signs[i] = sign
		}()
	}
	wg.Wait()
	for i := range signs {
		if len(signs[i]) != keySize || !bytes.Equal(signs[i], signs[0]) {
			t.Fatalf("replica %d got another signing key (%d bytes)", i, len(signs[i]))
		}
	}
	s := openURL(t, dbURL)
	turn, _, err := s.Keys(ctx, KeyTURN)
	if err != nil || bytes.Equal(turn, signs[0]) {
		t.Fatalf("the TURN key is the token key, or failed: %v", err)
	}

	next, err := s.RotateKey(ctx, KeyToken)
	if err != nil {
		t.Fatal(err)
	}
	sign, accept, err := s.Keys(ctx, KeyToken)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sign, next) || len(accept) != 1 || !bytes.Equal(accept[0], signs[0]) {
		t.Fatalf("after rotation: the new key must sign and the old be accepted (accepted %d)", len(accept))
	}

	// A day and more after its retirement the old key is neither accepted
	// nor kept.
	if _, err := s.pool.Exec(ctx, `UPDATE hub_keys SET retired_at = now() - interval '25 hours' WHERE retired_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if _, accept, err = s.Keys(ctx, KeyToken); err != nil || len(accept) != 0 {
		t.Fatalf("a key retired 25 h ago is still accepted (%d) or %v", len(accept), err)
	}
	var before, after int
	_ = s.pool.QueryRow(ctx, `SELECT count(*) FROM hub_keys`).Scan(&before)
	if err := s.Cleanup(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	_ = s.pool.QueryRow(ctx, `SELECT count(*) FROM hub_keys`).Scan(&after)
	if before != 3 || after != 2 {
		t.Fatalf("keys before/after cleanup: %d/%d, want 3/2 (the retired token key deleted)", before, after)
	}
}
