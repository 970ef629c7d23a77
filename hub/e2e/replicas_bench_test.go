package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dpc-go/dpc/hub/internal/auth"
	"github.com/dpc-go/dpc/hub/internal/pgtest"
)

// benchReplicas starts n replicas on a fresh database of srv, sharing a
// token secret file whose key the benchmark mints tokens with.
func benchReplicas(b *testing.B, srv *pgtest.Server, n int) ([]*hubProc, []byte) {
	b.Helper()
	secretPath := filepath.Join(b.TempDir(), "token.secret")
	if _, err := auth.LoadOrCreateSecret(secretPath, true); err != nil {
		b.Fatal(err)
	}
	db := srv.Database(b)
	hubs := make([]*hubProc, n)
	for i := range hubs {
		hubs[i] = startHubArgs(b, "--listen", "127.0.0.1:0", "--postgres", db, "--public-url", clusterURL,
			"--token-secret-file", secretPath, "--rate-ip", "0", "--rate-api", "0", "--rate-signal", "0")
	}
	return hubs, readSecret(b, secretPath)
}

// BenchmarkReplicaSignalRoundTrip measures a signal from A to B and B's
// answer back (four WebSocket hops through the hub) with A and B on one
// replica, next to the same with B on another replica, where each signal
// also crosses PostgreSQL (a NOTIFY from one replica, heard by the other).
func BenchmarkReplicaSignalRoundTrip(b *testing.B) {
	srv := pgtest.New(b)
	hubs, secret := benchReplicas(b, srv, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dial := func(h *hubProc) (*websocket.Conn, string) {
		tok, id := mintToken(b, secret, clusterURL)
		c, _, err := websocket.Dial(ctx, "ws://"+h.Addr+"/ws/signal", &websocket.DialOptions{HTTPHeader: map[string][]string{"Authorization": {"Bearer " + tok}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.CloseNow() })
		if _, _, err := c.Read(ctx); err != nil { // auth_ok
			b.Fatal(err)
		}
		return c, id
	}
	alice, aliceID := dial(hubs[0])
	carol, carolID := dial(hubs[0])
	bob, bobID := dial(hubs[1])
	waitMetric(b, hubs[0], "dpc_hub_cluster_signal_connections", 3)
	sdp := strings.Repeat("a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n", 30)
	msg := func(target string) []byte {
		m, _ := json.Marshal(map[string]any{"type": "signal", "target_node_id": target, "payload": map[string]string{"type": "offer", "sdp": sdp}})
		return m
	}
	toAlice, toBob, toCarol := msg(aliceID), msg(bobID), msg(carolID)
	hop := func(w *websocket.Conn, m []byte, r *websocket.Conn) {
		if err := w.Write(ctx, websocket.MessageText, m); err != nil {
			b.Fatal(err)
		}
		_, got, err := r.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if !strings.Contains(string(got), `"type":"signal"`) {
			b.Fatalf("want a signal, got %.200s", got)
		}
	}
	var within, across []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		hop(alice, toCarol, carol)
		hop(carol, toAlice, alice)
		mid := time.Now()
		hop(alice, toBob, bob)
		hop(bob, toAlice, alice)
		within = append(within, mid.Sub(start))
		across = append(across, time.Since(mid))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2].Microseconds())
	}
	w, a := p50(within), p50(across)
	b.ReportMetric(w, "within-p50-us/rtt")
	b.ReportMetric(a, "across-p50-us/rtt")
	b.ReportMetric(a/w, "across/within")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkReplicaConnections opens DPC_HUB_BENCH_CONNS (default 10000)
// signaling sockets spread over two replicas on one PostgreSQL and reports
// what the two hold together: the cluster's own count of them, and the
// replicas' resident memory per connection.
func BenchmarkReplicaConnections(b *testing.B) {
	n := benchConns(b)
	srv := pgtest.New(b)
	for range b.N {
		hubs, secret := benchReplicas(b, srv, 2)
		rssBefore := 0.0
		for _, h := range hubs {
			rssBefore += procKiB(b, h.cmd.Process.Pid, "VmRSS")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		conns, connect := openSockets(b, ctx, hubs, secret, clusterURL, n)
		// Held by the cluster when both replicas' heartbeats count them all.
		for _, h := range hubs {
			waitMetric(b, h, "dpc_hub_cluster_signal_connections", float64(n))
		}
		rssAfter := 0.0
		for _, h := range hubs {
			rssAfter += procKiB(b, h.cmd.Process.Pid, "VmRSS")
		}
		b.ReportMetric(metric(b, hubs[0].URL, "dpc_hub_cluster_signal_connections"), "cluster-conns")
		b.ReportMetric((rssAfter-rssBefore)/float64(n), "rss-KiB/conn")
		b.ReportMetric(connect.Seconds(), "connect-s")
		b.ReportMetric(0, "ns/op")
		for _, c := range conns {
			c.CloseNow()
		}
		cancel()
		for _, h := range hubs {
			h.stop(b)
		}
	}
}
