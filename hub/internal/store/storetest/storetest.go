package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/store"
)

// Location is one persistent store location (a directory, a database):
// Open opens it; opening it again after Close must see the same data.
type Location interface {
	Open(t *testing.T) store.Store
}

// NewLocation makes a fresh, empty location for one test.
type NewLocation func(t *testing.T) Location

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func randomID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func open(t *testing.T, loc Location) store.Store {
	t.Helper()
	s := loc.Open(t)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Run runs the whole suite.
func Run(t *testing.T, newLoc NewLocation) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)

	t.Run("nonce is single-use", func(t *testing.T) {
		s := open(t, newLoc(t))
		n := store.Nonce{Value: "nonce-" + randomID(t), Expires: now.Add(time.Minute)}
		if err := s.PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := s.PutNonce(ctx, n); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second PutNonce: want ErrExists, got %v", err)
		}
		if _, err := s.TakeNonce(ctx, n.Value, now); err != nil {
			t.Fatalf("first TakeNonce: %v", err)
		}
		if _, err := s.TakeNonce(ctx, n.Value, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("reused nonce: want ErrNotFound, got %v", err)
		}
	})

	t.Run("expired nonce is refused and gone", func(t *testing.T) {
		s := open(t, newLoc(t))
		n := store.Nonce{Value: "nonce-" + randomID(t), Expires: now.Add(time.Minute)}
		if err := s.PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeNonce(ctx, n.Value, now.Add(2*time.Minute)); !errors.Is(err, store.ErrExpired) {
			t.Fatalf("want ErrExpired, got %v", err)
		}
		if _, err := s.TakeNonce(ctx, n.Value, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after expiry: want ErrNotFound, got %v", err)
		}
	})

	t.Run("refresh rotates and a reused token revokes the family", func(t *testing.T) {
		s := open(t, newLoc(t))
		fam := "fam-" + randomID(t)
		exp := now.Add(time.Hour)
		if err := s.PutRefresh(ctx, store.RefreshToken{Hash: hash("t1"), Family: fam, NodeID: "n", Expires: exp}); err != nil {
			t.Fatal(err)
		}
		old, err := s.RotateRefresh(ctx, hash("t1"), store.RefreshToken{Hash: hash("t2"), Expires: exp}, now, exp)
		if err != nil {
			t.Fatalf("rotate t1: %v", err)
		}
		if old.Family != fam || old.NodeID != "n" {
			t.Fatalf("rotate returned %+v", old)
		}
		if _, err := s.RotateRefresh(ctx, hash("t1"), store.RefreshToken{Hash: hash("t3"), Expires: exp}, now, exp); !errors.Is(err, store.ErrRefreshReused) {
			t.Fatalf("reuse of t1: want ErrRefreshReused, got %v", err)
		}
		if revoked, err := s.FamilyRevoked(ctx, fam, now); err != nil || !revoked {
			t.Fatalf("family after reuse: revoked=%v, %v", revoked, err)
		}
		// The legitimate holder's current token is dead too.
		if _, err := s.RotateRefresh(ctx, hash("t2"), store.RefreshToken{Hash: hash("t4"), Expires: exp}, now, exp); !errors.Is(err, store.ErrRevoked) {
			t.Fatalf("t2 after family revoked: want ErrRevoked, got %v", err)
		}
		if _, err := s.RotateRefresh(ctx, hash("t3"), store.RefreshToken{Hash: hash("t5"), Expires: exp}, now, exp); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("t3 was never stored: want ErrNotFound, got %v", err)
		}
	})

	t.Run("expired refresh token is refused", func(t *testing.T) {
		s := open(t, newLoc(t))
		if err := s.PutRefresh(ctx, store.RefreshToken{Hash: hash("e1"), Family: "f", NodeID: "n", Expires: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, hash("e1"), store.RefreshToken{Hash: hash("e2"), Expires: now.Add(time.Hour)}, now.Add(2*time.Minute), now.Add(time.Hour)); !errors.Is(err, store.ErrExpired) {
			t.Fatalf("want ErrExpired, got %v", err)
		}
	})

	t.Run("revocation survives a reopen", func(t *testing.T) {
		loc := newLoc(t)
		s := loc.Open(t)
		fam := "fam-" + randomID(t)
		if err := s.RevokeFamily(ctx, fam, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// A later, shorter revocation must not shorten it.
		if err := s.RevokeFamily(ctx, fam, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t, loc)
		for name, tc := range map[string]struct {
			at   time.Time
			want bool
		}{
			"now":                  {now, true},
			"after the short one":  {now.Add(30 * time.Minute), true},
			"after the revocation": {now.Add(2 * time.Hour), false},
		} {
			if revoked, err := s.FamilyRevoked(ctx, fam, tc.at); err != nil || revoked != tc.want {
				t.Errorf("%s: revoked=%v want %v (%v)", name, revoked, tc.want, err)
			}
		}
		if revoked, err := s.FamilyRevoked(ctx, "never-revoked", now); err != nil || revoked {
			t.Errorf("unknown family: revoked=%v, %v", revoked, err)
		}
	})

	t.Run("nodes and last seen", func(t *testing.T) {
		s := open(t, newLoc(t))
		if _, err := s.GetNode(ctx, "dpc-node-x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
		if err := s.TouchNodes(ctx, map[string]time.Time{"dpc-node-x": now}); err != nil {
			t.Fatalf("touch of an unknown node: %v", err)
		}
		n := store.Node{NodeID: "dpc-node-x", CertificatePEM: "PEM", LastSeen: now}
		if err := s.PutNode(ctx, n); err != nil {
			t.Fatal(err)
		}
		later := now.Add(time.Minute)
		if err := s.TouchNodes(ctx, map[string]time.Time{n.NodeID: later}); err != nil {
			t.Fatal(err)
		}
		// An older time never moves last seen back.
		if err := s.TouchNodes(ctx, map[string]time.Time{n.NodeID: now}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetNode(ctx, n.NodeID)
		if err != nil || got.CertificatePEM != "PEM" || !got.LastSeen.Equal(later) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})

	t.Run("profiles and search", func(t *testing.T) {
		s := open(t, newLoc(t))
		profiles := []store.Profile{
			{NodeID: "dpc-node-a", Name: "Alice", Expertise: map[string]int{"go": 5, "rust": 2}, UpdatedAt: now},
			{NodeID: "dpc-node-b", Name: "Bob Gopher", Expertise: map[string]int{"python": 4}, URIs: []string{"dpc://b:8888?node_id=dpc-node-b"}, UpdatedAt: now},
			{NodeID: "dpc-node-c", Name: "Carol", Compute: &store.Compute{Available: true, Models: []string{"llama3"}}, UpdatedAt: now},
		}
		for _, p := range profiles {
			if err := s.PutProfile(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetProfile(ctx, "dpc-node-c")
		if err != nil || got.Compute == nil || got.Compute.Models[0] != "llama3" || !got.UpdatedAt.Equal(now) {
			t.Fatalf("GetProfile: %+v, %v", got, err)
		}
		cases := map[string]struct {
			q    store.Query
			want []string
		}{
			"expertise key":         {store.Query{Text: "go", MinLevel: 1, Limit: 10}, []string{"dpc-node-a", "dpc-node-b"}},
			"expertise below level": {store.Query{Text: "rust", MinLevel: 3, Limit: 10}, nil},
			"name substring":        {store.Query{Text: "carol", MinLevel: 1, Limit: 10}, []string{"dpc-node-c"}},
			"limit":                 {store.Query{Text: "", MinLevel: 1, Limit: 2}, []string{"dpc-node-a", "dpc-node-b"}},
			"nothing":               {store.Query{Text: "haskell", MinLevel: 1, Limit: 10}, nil},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				res, err := s.SearchProfiles(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, p := range res {
					ids = append(ids, p.NodeID)
				}
				if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
					t.Fatalf("want %v, got %v", tc.want, ids)
				}
			})
		}
		if err := s.DeleteProfile(ctx, "dpc-node-a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteProfile(ctx, "dpc-node-a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: want ErrNotFound, got %v", err)
		}
		if _, err := s.GetProfile(ctx, "dpc-node-a"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted profile: want ErrNotFound, got %v", err)
		}
	})

	runOAuth(t, newLoc, now)
	runMailbox(t, newLoc, now)
}
