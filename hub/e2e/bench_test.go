package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// procKiB reads a "Name:  N kB" line of /proc/PID/status.
func procKiB(b *testing.B, pid int, name string) float64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("/proc/%d/status has no %s", pid, name)
	return 0
}

// metric reads one unlabelled series from the hub's /metrics.
func metric(b *testing.B, hubURL, name string) float64 {
	b.Helper()
	v, err := readMetric(hubURL, name)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// readMetric reads one unlabelled series from the hub's /metrics.
func readMetric(hubURL, name string) (float64, error) {
	resp, err := http.Get(hubURL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s/metrics", name, hubURL)
}

// benchConns is DPC_HUB_BENCH_CONNS (default 10000), with the open files
// limit raised for it: this process (the clients) and the hubs
// (inheriting it) need a descriptor per socket.
func benchConns(b *testing.B) int {
	n := 10_000
	if s := os.Getenv("DPC_HUB_BENCH_CONNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("DPC_HUB_BENCH_CONNS=%q: want a positive number", s)
		}
		n = v
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if uint64(n)+256 > lim.Cur {
		b.Fatalf("open files limit %d is below %d connections: raise it (ulimit -Hn) or set DPC_HUB_BENCH_CONNS", lim.Cur, n)
	}
	return n
}

// readSecret reads a hub token secret file.
func readSecret(b *testing.B, path string) []byte {
	b.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		b.Fatal(err)
	}
	return secret
}

// mintToken makes an access token for a random node with the hub's own
// secret, as a login would issue it: the benchmarks measure sockets and
// signals, not logins. It returns the token and the node_id.
func mintToken(b *testing.B, secret []byte, audience string) (string, string) {
	b.Helper()
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	nodeID := "dpc-node-" + hex.EncodeToString(id)
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": audience, "aud": audience, "sub": nodeID, "typ": "access",
		"sid": hex.EncodeToString(id), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": hex.EncodeToString(id),
	}).SignedString(secret)
	if err != nil {
		b.Fatal(err)
	}
	return tok, nodeID
}

// openSockets opens n signaling sockets, socket i to hubs[i%len(hubs)],
// each with a fresh minted token, 32 at a time; it returns them and how
// long opening took.
func openSockets(b *testing.B, ctx context.Context, hubs []*hubProc, secret []byte, audience string, n int) ([]*websocket.Conn, time.Duration) {
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	jobs := make(chan int)
	start := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				tok, _ := mintToken(b, secret, audience)
				c, _, err := websocket.Dial(ctx, "ws://"+hubs[i%len(hubs)].Addr+"/ws/signal", &websocket.DialOptions{
					HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
				})
				if err != nil {
					select {
					case errc <- fmt.Errorf("connection %d: %w", i, err):
					default:
					}
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		b.Fatal(err)
	default:
	}
	return conns, time.Since(start)
}

// waitMetric polls a hub's /metrics until the series reaches at least want.
func waitMetric(b *testing.B, h *hubProc, name string, want float64) {
	deadline := time.Now().Add(5 * time.Minute)
	for metric(b, h.URL, name) < want {
		if time.Now().After(deadline) {
			b.Fatalf("%s %s is %v, want %v", h.URL, name, metric(b, h.URL, name), want)
		}
		<-time.After(50 * time.Millisecond) // between polls of the condition above
	}
}

// BenchmarkHubConnections opens DPC_HUB_BENCH_CONNS (default 10000)
// signaling sockets to one real dpc-hub process and reports the hub's
// resident memory and Go heap per connection. The access tokens are minted
// with the hub's own secret from its data dir, as logins would issue them,
// so the figure is the socket's cost, not the login's.
func BenchmarkHubConnections(b *testing.B) {
	n := benchConns(b)
	for range b.N {
		data := b.TempDir()
		h := startHub(b, "127.0.0.1:0", data, "--rate-ip", "0", "--rate-api", "0")
		secret := readSecret(b, filepath.Join(data, "token.secret"))
		pid := h.cmd.Process.Pid
		rssBefore := procKiB(b, pid, "VmRSS")
		heapBefore := metric(b, h.URL, "go_memstats_heap_inuse_bytes")

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		conns, connect := openSockets(b, ctx, []*hubProc{h}, secret, h.URL, n)
		// Every socket is registered when the hub's gauge says so.
		waitMetric(b, h, "dpc_hub_signal_connections", float64(n))
		rssAfter := procKiB(b, pid, "VmRSS")
		heapAfter := metric(b, h.URL, "go_memstats_heap_inuse_bytes")
		b.ReportMetric(float64(n), "conns")
		b.ReportMetric((rssAfter-rssBefore)/float64(n), "rss-KiB/conn")
		b.ReportMetric((heapAfter-heapBefore)/1024/float64(n), "heap-KiB/conn")
		b.ReportMetric(connect.Seconds(), "connect-s")
		b.ReportMetric(0, "ns/op")
		for _, c := range conns {
			c.CloseNow()
		}
		cancel()
		h.stop(b)
	}
}
