package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/cluster"
	"github.com/dpc-go/dpc/hub/internal/pgtest"
	"github.com/dpc-go/dpc/hub/internal/store/pgstore"
	"github.com/dpc-go/dpc/hub/internal/testnode"
	"github.com/dpc-go/dpc/sdk/nodeid"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// clusterAudience is the public URL the replicas of a test share.
const clusterAudience = "http://hub.cluster.test"

// replicaHub is one replica of a hub on PostgreSQL.
type replicaHub struct {
	*testHub
	auth *auth.Authority
	pg   *pgstore.Store
}

// startReplicaHub starts a hub replica on the database at dbURL.
func startReplicaHub(t *testing.T, dbURL string) *replicaHub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := pgstore.Open(ctx, dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Audience: clusterAudience, Secret: bytes.Repeat([]byte{7}, 32)}, st)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := cluster.New(ctx, cluster.Config{Pool: st.Pool(), HeartbeatInterval: 100 * time.Millisecond, ReplicaTTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Authority: a, Store: st, Cluster: cl, Version: "test"})
	cl.Run(s)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.Close()
		_ = cl.Close()
		_ = st.Close()
	})
	return &replicaHub{testHub: &testHub{URL: ts.URL, srv: s, st: st}, auth: a, pg: st}
}

// loginAt logs n in to the cluster through the replica's authority.
func (r *replicaHub) loginAt(t *testing.T, n testnode.Node) string {
	t.Helper()
	ctx := context.Background()
	nonce, err := r.auth.Challenge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.auth.Login(ctx, auth.LoginRequest{NodeID: n.NodeID, CertificatePEM: n.CertPEM, Nonce: nonce.Value,
		Signature: n.Sign(t, clusterAudience, "", nonce.Value), Algorithm: nodeid.AlgEd25519})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestMailboxHintReachesASocketOnAnotherReplica: an envelope stored
// through one replica for a node whose signaling socket is on another
// sends that socket {"type":"mailbox"} through the cluster's queued
// signals; the node fetches it from its own replica, the held-envelopes
// gauge is the cluster's, a recipient offline everywhere still gets mail,
// and no stored row holds anything of the sender.
func TestMailboxHintReachesASocketOnAnotherReplica(t *testing.T) {
	db := pgtest.Shared(t).Database(t)
	r1, r2 := startReplicaHub(t, db), startReplicaHub(t, db)
	alice, bob := testnode.New(t), testnode.New(t)
	ta, tb := r1.loginAt(t, alice), r2.loginAt(t, bob)
	ws := r2.dial(t, tb) // auth_ok comes once the socket is recorded for the cluster

	resp, put, e := r1.put(t, ta, bob.NodeID, []byte("sealed for bob"), "")
	if resp.StatusCode != 201 {
		t.Fatalf("put through replica 1: %s %+v", resp.Status, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("no hint on replica 2: %v", err)
	}
	if string(b) != `{"type":"mailbox"}` {
		t.Fatalf("hint %s: want exactly {\"type\":\"mailbox\"}", b)
	}
	got := r2.fetch(t, tb, "")
	if len(got.Envelopes) != 1 || got.Envelopes[0].ID != put.ID || string(got.Envelopes[0].Envelope) != "sealed for bob" {
		t.Fatalf("fetch through replica 2: %+v", got)
	}
	// The gauge of envelopes held is the cluster's.
	mresp, err := http.Get(r2.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(metrics), "\ndpc_hub_mailbox_envelopes 1\n") {
		t.Errorf("replica 2's /metrics: want dpc_hub_mailbox_envelopes 1 (stored through replica 1)")
	}
	// A recipient with no socket on any replica: stored all the same.
	if resp, _, e := r1.put(t, ta, nobody, []byte("for later"), ""); resp.StatusCode != 201 {
		t.Fatalf("put for a node offline everywhere: %s %+v", resp.Status, e)
	}
	var rows, withSender int
	err = r1.pg.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE position($1 in m::text) > 0) FROM mailbox m`,
		alice.NodeID).Scan(&rows, &withSender)
	if err != nil || rows != 2 || withSender != 0 {
		t.Fatalf("mailbox rows: %d, naming the sender: %d (%v)", rows, withSender, err)
	}
}
