package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dpc-go/dpc/hub/internal/pgtest"
	"github.com/dpc-go/dpc/hub/internal/store/pgstore"
)

// recorder is a Handler that records what other replicas sent.
type recorder struct {
	mu       sync.Mutex
	local    map[string]bool
	signals  []string
	replaced []string
	revoked  []string
	changed  chan struct{}
}

func newRecorder(local ...string) *recorder {
	r := &recorder{local: make(map[string]bool), changed: make(chan struct{}, 1)}
	for _, n := range local {
		r.local[n] = true
	}
	return r
}

func (r *recorder) note(f func()) {
	r.mu.Lock()
	f()
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) DeliverSignal(target string, msg []byte) bool {
	ok := false
	r.note(func() {
		ok = r.local[target]
		if ok {
			r.signals = append(r.signals, target+" "+string(msg))
		}
	})
	return ok
}

func (r *recorder) CloseReplaced(nodeID, connID string) {
	r.note(func() { r.replaced = append(r.replaced, nodeID+" "+connID) })
}

func (r *recorder) Revoked(nodeID, family string) {
	r.note(func() { r.revoked = append(r.revoked, nodeID+" "+family) })
}

func (r *recorder) Connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.local)
}

// waitFor waits until cond holds on the recorder's state.
func (r *recorder) waitFor(t *testing.T, what string, cond func(*recorder) bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// eventually polls a condition of the database (no event to wait on).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(20 * time.Millisecond) // between polls of cond
	}
}

type replica struct {
	c   *Cluster
	rec *recorder
}

func open(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	st, err := pgstore.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.Pool()
}

func startReplica(t *testing.T, pool *pgxpool.Pool, rec *recorder) replica {
	t.Helper()
	c, err := New(context.Background(), Config{Pool: pool, HeartbeatInterval: 100 * time.Millisecond, ReplicaTTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Run(rec)
	t.Cleanup(func() { _ = c.Close() })
	// Listening before the test sends anything.
	eventually(t, "the replica to listen", func() bool { _, l := c.Up(); return l })
	return replica{c: c, rec: rec}
}

func TestSignalsPresenceAndRevocationAcrossReplicas(t *testing.T) {
	srv := pgtest.New(t)
	pool := open(t, srv.Database(t))
	ctx := context.Background()
	a := startReplica(t, pool, newRecorder("alice"))
	b := startReplica(t, pool, newRecorder("bob"))
	if err := a.c.Join(ctx, "alice", "a1"); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Join(ctx, "bob", "b1"); err != nil {
		t.Fatal(err)
	}

	t.Run("presence is the cluster's", func(t *testing.T) {
		on, err := a.c.Online(ctx, []string{"alice", "bob", "carol"})
		if err != nil {
			t.Fatal(err)
		}
		if !on["bob"] || on["alice"] || on["carol"] {
			t.Fatalf("online from a: %v, want bob only (alice is a's own)", on)
		}
	})

	t.Run("signals arrive in order, small and large", func(t *testing.T) {
		var want []string
		for i := range 40 {
			body := fmt.Sprintf(`{"n":%d}`, i)
			if i%3 == 0 { // past a notification's payload limit
				body = fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("x", 20000))
			}
			if err := a.c.Relay(ctx, "bob", []byte(body)); err != nil {
				t.Fatalf("relay %d: %v", i, err)
			}
			want = append(want, "bob "+body)
		}
		b.rec.waitFor(t, "40 signals", func(r *recorder) bool { return len(r.signals) >= len(want) })
		b.rec.mu.Lock()
		defer b.rec.mu.Unlock()
		for i := range want {
			if b.rec.signals[i] != want[i] {
				t.Fatalf("signal %d out of order or changed: got %.40q, want %.40q", i, b.rec.signals[i], want[i])
			}
		}
	})

	t.Run("a node on no replica is offline", func(t *testing.T) {
		if err := a.c.Relay(ctx, "carol", []byte(`{}`)); !errors.Is(err, ErrOffline) {
			t.Fatalf("want ErrOffline, got %v", err)
		}
	})

	t.Run("a newer socket on another replica replaces the older", func(t *testing.T) {
		if err := b.c.Join(ctx, "alice", "b2"); err != nil {
			t.Fatal(err)
		}
		a.rec.waitFor(t, "alice's older socket to be closed", func(r *recorder) bool {
			return len(r.replaced) == 1 && r.replaced[0] == "alice a1"
		})
		// The older socket's leave does not remove the newer one.
		if err := a.c.Leave(ctx, "alice", "a1"); err != nil {
			t.Fatal(err)
		}
		on, err := a.c.Online(ctx, []string{"alice"})
		if err != nil || !on["alice"] {
			t.Fatalf("alice after the older socket left: %v %v", on, err)
		}
	})

	t.Run("a logout on one replica reaches the others", func(t *testing.T) {
		if err := a.c.Revoke(ctx, "bob", "fam1"); err != nil {
			t.Fatal(err)
		}
		b.rec.waitFor(t, "the revocation", func(r *recorder) bool { return len(r.revoked) == 1 && r.revoked[0] == "bob fam1" })
		a.rec.mu.Lock()
		defer a.rec.mu.Unlock()
		if len(a.rec.revoked) != 0 {
			t.Fatalf("the revoking replica got its own revocation back: %v", a.rec.revoked)
		}
	})

	t.Run("the cluster's figures count every live replica", func(t *testing.T) {
		eventually(t, "two replicas in the figures", func() bool { return a.c.Replicas() == 2 && b.c.Replicas() == 2 })
	})
}

// TestDeadReplicaIsForgotten: a replica that stops beating (crashed, cut
// off) no longer counts, and its nodes show offline.
func TestDeadReplicaIsForgotten(t *testing.T) {
	srv := pgtest.New(t)
	pool := open(t, srv.Database(t))
	ctx := context.Background()
	a := startReplica(t, pool, newRecorder())
	dead, err := New(ctx, Config{Pool: pool, ReplicaTTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dead.handler = newRecorder("zed") // never Run: it beats once, at New
	if err := dead.Join(ctx, "zed", "z1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "zed to go offline with its replica", func() bool {
		on, err := a.c.Online(ctx, []string{"zed"})
		return err == nil && !on["zed"]
	})
	if err := a.c.Relay(ctx, "zed", []byte(`{}`)); !errors.Is(err, ErrOffline) {
		t.Fatalf("relay to a dead replica's node: want ErrOffline, got %v", err)
	}
	eventually(t, "one live replica", func() bool { return a.c.Replicas() == 1 })
}

// TestDatabaseLossAndRecovery: while the database is down relays fail with
// ErrUnavailable and the replica says so; when it is back, the replica
// hears the others again and what changed meanwhile holds.
func TestDatabaseLossAndRecovery(t *testing.T) {
	srv := pgtest.New(t)
	pool := open(t, srv.Database(t))
	ctx := context.Background()
	a := startReplica(t, pool, newRecorder("alice"))
	b := startReplica(t, pool, newRecorder("bob", "bea"))
	if err := a.c.Join(ctx, "alice", "a1"); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Join(ctx, "bob", "b1"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := a.c.Relay(ctx, "bob", []byte(`{"lost":true}`)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("relay without a database: want ErrUnavailable, got %v", err)
	}
	eventually(t, "both replicas to notice", func() bool {
		da, _ := a.c.Up()
		db, _ := b.c.Up()
		return !da && !db
	})
	// bea connects to b and bob leaves while the database is down.
	if err := b.c.Join(ctx, "bea", "b2"); err == nil {
		t.Fatal("join without a database succeeded")
	}
	if err := b.c.Leave(ctx, "bob", "b1"); err == nil {
		t.Fatal("leave without a database succeeded")
	}
	b.rec.mu.Lock()
	delete(b.rec.local, "bob")
	b.rec.mu.Unlock()

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both replicas to reach the database and listen again", func() bool {
		da, la := a.c.Up()
		db, lb := b.c.Up()
		return da && la && db && lb
	})
	eventually(t, "bea online and bob offline, as b knows them", func() bool {
		on, err := a.c.Online(ctx, []string{"bea", "bob"})
		return err == nil && on["bea"] && !on["bob"]
	})
	if err := a.c.Relay(ctx, "bea", []byte(`{"after":true}`)); err != nil {
		t.Fatal(err)
	}
	b.rec.waitFor(t, "the signal after recovery", func(r *recorder) bool {
		return len(r.signals) == 1 && r.signals[0] == `bea {"after":true}`
	})
}
