package pgstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/pgtest"
	"github.com/dpc-go/dpc/hub/internal/store"
	"github.com/dpc-go/dpc/hub/internal/store/storetest"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testCtx bounds a test's database calls generously (a loaded machine).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func openURL(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(testCtx(t), dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// dbLocation is one database; opening it again sees the same data.
type dbLocation struct{ url string }

func (l dbLocation) Open(t *testing.T) store.Store {
	t.Helper()
	s, err := Open(testCtx(t), l.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := pgtest.Shared(t)
	storetest.Run(t, func(t *testing.T) storetest.Location { return dbLocation{srv.Database(t)} })
}

// latestVersion is the highest version among the embedded migrations.
func latestVersion(t *testing.T) int64 {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no embedded migrations (%v)", err)
	}
	var latest int64
	for _, n := range names {
		prefix, _, _ := strings.Cut(strings.TrimPrefix(n, "migrations/"), "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: no version prefix", n)
		}
		latest = max(latest, v)
	}
	return latest
}

// TestConcurrentReplicasMigrateOnce: replicas opening one fresh database
// at the same moment all succeed, and each migration is applied (and
// recorded) exactly once.
func TestConcurrentReplicasMigrateOnce(t *testing.T) {
	dbURL := pgtest.Shared(t).Database(t)
	const replicas = 8
	var (
		start  = make(chan struct{})
		wg     sync.WaitGroup
		errs   = make([]error, replicas)
		opened = make([]*Store, replicas)
	)
	for i := range replicas {
		wg.Go(func() {
			<-start
			opened[i], errs[i] = Open(testCtx(t), dbURL, nil)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { _ = opened[i].Close() })
	}
	if t.Failed() {
		return
	}
	rows, err := opened[0].Pool().Query(testCtx(t), "SELECT version_id, count(*) FROM goose_db_version WHERE is_applied GROUP BY version_id ORDER BY version_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v, n int64
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d×%d", v, n))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for v := range latestVersion(t) + 1 { // goose's version 0 and every migration
		want = append(want, fmt.Sprintf("%d×1", v))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("goose_db_version: want %v, got %v", want, got)
	}
}

// TestConcurrentRotationAcrossReplicas: replicas presenting the same
// refresh token at once rotate it once; every other attempt is refused as
// a reuse (or finds the family revoked), and the family ends up revoked.
// The same for one nonce taken on every replica at once.
func TestConcurrentRotationAcrossReplicas(t *testing.T) {
	dbURL := pgtest.Shared(t).Database(t)
	const replicas = 4
	stores := make([]*Store, replicas)
	for i := range stores {
		stores[i] = openURL(t, dbURL)
	}
	ctx := testCtx(t)
	now := time.Now()
	exp := now.Add(time.Hour)
	old := sha256.Sum256([]byte("shared-token"))
	if err := stores[0].PutRefresh(ctx, store.RefreshToken{Hash: old[:], Family: "fam", NodeID: "n", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := stores[0].PutNonce(ctx, store.Nonce{Value: "shared-nonce", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	var (
		start      = make(chan struct{})
		wg         sync.WaitGroup
		rotateErrs = make([]error, replicas)
		takeErrs   = make([]error, replicas)
	)
	for i, s := range stores {
		wg.Go(func() {
			<-start
			next := sha256.Sum256([]byte("next-" + strconv.Itoa(i)))
			_, rotateErrs[i] = s.RotateRefresh(ctx, old[:], store.RefreshToken{Hash: next[:], Expires: exp}, now, exp)
			_, takeErrs[i] = s.TakeNonce(ctx, "shared-nonce", now)
		})
	}
	close(start)
	wg.Wait()
	rotated, taken := 0, 0
	for i := range replicas {
		switch err := rotateErrs[i]; {
		case err == nil:
			rotated++
		case errors.Is(err, store.ErrRefreshReused), errors.Is(err, store.ErrRevoked):
		default:
			t.Errorf("replica %d rotate: %v", i, err)
		}
		switch err := takeErrs[i]; {
		case err == nil:
			taken++
		case errors.Is(err, store.ErrNotFound):
		default:
			t.Errorf("replica %d take nonce: %v", i, err)
		}
	}
	if rotated != 1 || taken != 1 {
		t.Fatalf("rotated %d times and took the nonce %d times, want once each", rotated, taken)
	}
	if revoked, err := stores[1].FamilyRevoked(ctx, "fam", now); err != nil || !revoked {
		t.Fatalf("family after a concurrent reuse: revoked=%v, %v", revoked, err)
	}
}

// TestDatabaseLossAndRecovery: when PostgreSQL crashes, Ping and the
// methods fail with ErrUnavailable (no panic); when it is back, the same
// Store answers again, without a reopen, with the data written before.
func TestDatabaseLossAndRecovery(t *testing.T) {
	srv := pgtest.New(t) // its own server: this test kills it
	s := openURL(t, srv.Database(t))
	ctx := testCtx(t)
	now := time.Now().Truncate(time.Millisecond)
	if err := s.PutNode(ctx, store.Node{NodeID: "dpc-node-kept", CertificatePEM: "PEM", LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, "fam-kept", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping with the server down: want ErrUnavailable, got %v", err)
	}
	calls := map[string]func() error{
		"GetNode":        func() error { _, err := s.GetNode(ctx, "dpc-node-kept"); return err },
		"TakeNonce":      func() error { _, err := s.TakeNonce(ctx, "n", now); return err },
		"RotateRefresh":  func() error { _, err := s.RotateRefresh(ctx, []byte("h"), store.RefreshToken{}, now, now); return err },
		"FamilyRevoked":  func() error { _, err := s.FamilyRevoked(ctx, "fam-kept", now); return err },
		"SearchProfiles": func() error { _, err := s.SearchProfiles(ctx, store.Query{Text: "x", Limit: 1}); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with the server down: want ErrUnavailable, got %v", name, err)
		}
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// The pool drops the dead connections and dials anew: wait for it.
	for {
		err := s.Ping(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Ping never recovered after the restart: %v", err)
		}
	}
	got, err := s.GetNode(ctx, "dpc-node-kept")
	if err != nil || got.CertificatePEM != "PEM" || !got.LastSeen.Equal(now) {
		t.Fatalf("node after the restart: %+v, %v", got, err)
	}
	if revoked, err := s.FamilyRevoked(ctx, "fam-kept", now); err != nil || !revoked {
		t.Fatalf("revocation after the restart: revoked=%v, %v", revoked, err)
	}
}

// hostPort returns the server's address (pgtest hands out URLs only).
func hostPort(t *testing.T, srv *pgtest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestOpenErrorsNameTheServerNotThePassword: each way of not getting a
// usable database gives its sentinel and a message that names host:port/database
// and what to do, never the password.
func TestOpenErrorsNameTheServerNotThePassword(t *testing.T) {
	srv := pgtest.Shared(t)
	srv.AddPasswordUser(t, "hub_user", "right-pw")
	const pw = "s3cret-pw"
	pgAddr, closed, silent := hostPort(t, srv), fmt.Sprintf("127.0.0.1:%d", sdktest.ReservePort(t)), sdktest.SilentListener(t)
	cases := map[string]struct {
		url    string
		want   error
		wantIn []string
	}{
		"URL with a bad port": {
			url:    "postgres://hub:" + pw + "@db.example:notaport/hub",
			want:   ErrBadURL,
			wantIn: []string{"postgres://USER:PASSWORD@HOST:5432/DATABASE"},
		},
		"password with an @": {
			url:    "postgres://hub:" + pw + "@" + pw + "@db.example:notaport/hub",
			want:   ErrBadURL,
			wantIn: []string{"invalid port", "postgres://USER:PASSWORD@HOST:5432/DATABASE"},
		},
		"password with a bad escape": {
			url:    "postgres://hub:" + pw + "%zz@db.example/hub",
			want:   ErrBadURL,
			wantIn: []string{"postgres://USER:PASSWORD@HOST:5432/DATABASE"},
		},
		"key=value with a bad port": {
			url:    "host=db.example port=notaport user=hub password=" + pw,
			want:   ErrBadURL,
			wantIn: []string{"postgres://USER:PASSWORD@HOST:5432/DATABASE"},
		},
		"nothing listens": {
			url:    "postgres://hub:" + pw + "@" + closed + "/hub?sslmode=disable",
			want:   ErrUnavailable,
			wantIn: []string{closed + "/hub", "start PostgreSQL or fix the host and port"},
		},
		"server does not answer": {
			url:    "postgres://hub:" + pw + "@" + silent + "/hub?sslmode=disable&connect_timeout=1",
			want:   ErrUnavailable,
			wantIn: []string{silent + "/hub", "no answer from " + silent + "/hub in time"},
		},
		"wrong password": {
			url:    "postgres://hub_user:" + pw + "@" + pgAddr + "/postgres?sslmode=disable",
			want:   ErrAccessDenied,
			wantIn: []string{pgAddr + "/postgres", `user "hub_user"`, "fix the user and password"},
		},
		"user may not create tables": {
			url:    "postgres://hub_user:right-pw@" + pgAddr + "/postgres?sslmode=disable",
			want:   ErrNoPrivilege,
			wantIn: []string{pgAddr + "/postgres", `user "hub_user"`, `GRANT CREATE ON SCHEMA public TO "hub_user"`},
		},
		"missing database": {
			url:    "postgres://postgres:" + pw + "@" + pgAddr + "/no_such_db?sslmode=disable",
			want:   ErrNoDatabase,
			wantIn: []string{pgAddr + "/no_such_db", `CREATE DATABASE "no_such_db"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Open(testCtx(t), tc.url, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("want %v, got %v", tc.want, err)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, pw) {
				t.Errorf("the message shows the password: %s", msg)
			}
			for _, w := range tc.wantIn {
				if !strings.Contains(msg, w) {
					t.Errorf("the message lacks %q: %s", w, msg)
				}
			}
		})
	}
}

// TestCleanupRemovesExpiredRows: Cleanup deletes nonces and tokens an hour
// past expiry, ended revocations and expired mailbox envelopes, and keeps
// the rest (a recently
// expired nonce still reads as expired, not unknown).
func TestCleanupRemovesExpiredRows(t *testing.T) {
	s := openURL(t, pgtest.Shared(t).Database(t))
	ctx := testCtx(t)
	now := time.Now()
	h := func(v string) []byte { b := sha256.Sum256([]byte(v)); return b[:] }
	for _, n := range []store.Nonce{
		{Value: "long-expired", Expires: now.Add(-2 * time.Hour)},
		{Value: "just-expired", Expires: now.Add(-time.Minute)},
		{Value: "live", Expires: now.Add(time.Minute)},
	} {
		if err := s.PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []store.RefreshToken{
		{Hash: h("long-expired"), Family: "f1", NodeID: "n", Expires: now.Add(-2 * time.Hour)},
		{Hash: h("live"), Family: "f2", NodeID: "n", Expires: now.Add(time.Hour)},
	} {
		if err := s.PutRefresh(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeFamily(ctx, "ended", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, "revoked", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []store.Envelope{
		{ID: "expired", Recipient: "dpc-node-a", Data: []byte("x"), Received: now.Add(-2 * time.Minute), Expires: now.Add(-time.Minute)},
		{ID: "live", Recipient: "dpc-node-a", Data: []byte("y"), Received: now, Expires: now.Add(time.Hour)},
	} {
		if err := s.PutEnvelope(ctx, e, store.MailboxQuota{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Cleanup(ctx, now); err != nil {
		t.Fatal(err)
	}
	counts := map[string]struct {
		sql  string
		want int
	}{
		"nonces":           {"SELECT count(*) FROM nonces", 2},
		"refresh tokens":   {"SELECT count(*) FROM refresh_tokens", 1},
		"revoked families": {"SELECT count(*) FROM revoked_families", 1},
		"mailbox":          {"SELECT count(*) FROM mailbox", 1},
	}
	for name, c := range counts {
		var n int
		if err := s.Pool().QueryRow(ctx, c.sql).Scan(&n); err != nil || n != c.want {
			t.Errorf("%s after cleanup: %d rows (%v), want %d", name, n, err, c.want)
		}
	}
	if _, err := s.TakeNonce(ctx, "just-expired", now); !errors.Is(err, store.ErrExpired) {
		t.Errorf("recently expired nonce: want ErrExpired, got %v", err)
	}
	if _, err := s.TakeNonce(ctx, "long-expired", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cleaned nonce: want ErrNotFound, got %v", err)
	}
	if revoked, err := s.FamilyRevoked(ctx, "revoked", now); err != nil || !revoked {
		t.Errorf("live revocation after cleanup: revoked=%v, %v", revoked, err)
	}
}

// TestOpenStoreCleansUpByItself: an open Store removes long-expired rows
// without anyone calling Cleanup.
func TestOpenStoreCleansUpByItself(t *testing.T) {
	ctx := testCtx(t)
	s, err := open(ctx, pgtest.Shared(t).Database(t), nil, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutNonce(ctx, store.Nonce{Value: "long-expired", Expires: time.Now().Add(-2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for {
		var n int
		if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM nonces").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("the expired nonce was never cleaned up")
		}
	}
}

// TestSearchAgreesWithMatches: for names and keys where PostgreSQL's
// lower() or LIKE would differ from Go (non-ASCII case, LIKE wildcards,
// upper-case keys), SearchProfiles returns exactly the profiles
// store.Matches accepts, in node_id byte order, up to the limit.
func TestSearchAgreesWithMatches(t *testing.T) {
	s := openURL(t, pgtest.Shared(t).Database(t))
	ctx := testCtx(t)
	profiles := []store.Profile{
		{NodeID: "dpc-node-1", Name: "ÉLODIE Ünal", Expertise: map[string]int{"go": 3}},
		{NodeID: "dpc-node-2", Name: "İstanbul Team", Expertise: map[string]int{"Go": 5, "rust": 1}},
		{NodeID: "dpc-node-3", Name: "ΣΟΦΊΑ 100%_sure", Expertise: map[string]int{"élan": 2}},
		{NodeID: "dpc-node-B", Name: "Bob", Expertise: map[string]int{"go": 1}},
		{NodeID: "dpc-node-a", Name: "alice GO fan"},
		{NodeID: "dpc-node-Z", Name: "ǅemal"},
	}
	for _, p := range profiles {
		if err := s.PutProfile(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(profiles, func(a, b store.Profile) int { return strings.Compare(a.NodeID, b.NodeID) })
	queries := map[string]store.Query{
		"everything":                {Text: "", MinLevel: 1, Limit: 100},
		"limit":                     {Text: "", MinLevel: 1, Limit: 3},
		"key, any level":            {Text: "go", MinLevel: 1, Limit: 100},
		"key at a level":            {Text: "go", MinLevel: 3, Limit: 100},
		"key in upper case":         {Text: "GO", MinLevel: 1, Limit: 100},
		"non-ASCII upper-case name": {Text: "élodie", MinLevel: 1, Limit: 100},
		"Go's lower-case of İ":      {Text: "i̇stanbul", MinLevel: 1, Limit: 100},
		"Greek":                     {Text: "σοφία", MinLevel: 1, Limit: 100},
		"LIKE wildcard %":           {Text: "%", MinLevel: 1, Limit: 100},
		"LIKE wildcard _":           {Text: "0_", MinLevel: 1, Limit: 100},
		"non-ASCII key":             {Text: "élan", MinLevel: 2, Limit: 100},
		"title-case letter":         {Text: "ǆ", MinLevel: 1, Limit: 100},
		"NUL":                       {Text: "a\x00", MinLevel: 1, Limit: 100},
		"invalid UTF-8":             {Text: "\xff", MinLevel: 1, Limit: 100},
		"zero limit":                {Text: "", MinLevel: 1, Limit: 0},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			text := strings.ToLower(q.Text)
			var want []string
			for _, p := range profiles {
				if len(want) < q.Limit && store.Matches(p, text, q.MinLevel) {
					want = append(want, p.NodeID)
				}
			}
			res, err := s.SearchProfiles(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range res {
				got = append(got, p.NodeID)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("want %v, got %v", want, got)
			}
		})
	}
}

// TestKeysPostgresCannotHold: a NUL byte or invalid UTF-8 in a key is "not
// found" (it cannot have been stored), in a value ErrUnstorable; never a
// database error.
func TestKeysPostgresCannotHold(t *testing.T) {
	s := openURL(t, pgtest.Shared(t).Database(t))
	ctx := testCtx(t)
	now := time.Now()
	cases := map[string]struct {
		call func() error
		want error
	}{
		"take a nonce with NUL":       {func() error { _, err := s.TakeNonce(ctx, "n\x00", now); return err }, store.ErrNotFound},
		"get a node with bad UTF-8":   {func() error { _, err := s.GetNode(ctx, "\xff"); return err }, store.ErrNotFound},
		"get a profile with NUL":      {func() error { _, err := s.GetProfile(ctx, "p\x00"); return err }, store.ErrNotFound},
		"delete a profile with NUL":   {func() error { return s.DeleteProfile(ctx, "p\x00") }, store.ErrNotFound},
		"put a nonce with NUL":        {func() error { return s.PutNonce(ctx, store.Nonce{Value: "n\x00", Expires: now}) }, ErrUnstorable},
		"put a profile with NUL name": {func() error { return s.PutProfile(ctx, store.Profile{NodeID: "p", Name: "a\x00"}) }, ErrUnstorable},
		"touch a node with NUL":       {func() error { return s.TouchNodes(ctx, map[string]time.Time{"x\x00": now}) }, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
	if revoked, err := s.FamilyRevoked(ctx, "f\x00", now); err != nil || revoked {
		t.Fatalf("family with NUL: revoked=%v, %v", revoked, err)
	}
}
