package network_test

// Helpers of bench_test.go: a pair of real nodes (package nettest) and the
// raw crypto/tls baseline served by a child process.

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/chat"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
)

func TestMain(m *testing.M) {
	code := m.Run()
	nettest.Cleanup()
	os.Exit(code)
}

// benchPair is node a connected to node b, each a contact of the other.
type benchPair struct{ a, b *nettest.Node }

func newBenchPair(b *testing.B) benchPair {
	b.Helper()
	return newBenchPairOn(b, nil)
}

// newBenchPairOn is newBenchPair on transport-webrtc when hub is set.
func newBenchPairOn(b *testing.B, hub *nettest.SignalHub) benchPair {
	b.Helper()
	p := benchPair{a: nettest.NewNode(b, nettest.Options{Name: "bench-a", WebRTC: hub}), b: nettest.NewNode(b, nettest.Options{Name: "bench-b", WebRTC: hub})}
	nettest.Connect(b, p.a, p.b)
	return p
}

// deliveredID returns the id of the outgoing message e reports as delivered.
func deliveredID(e network.Event) (string, bool) {
	m, ok := e.Data.(chat.Message)
	if e.Type != "message_state" || !ok || m.State != chat.StateDelivered {
		return "", false
	}
	return m.ID, true
}

// stallLimit fails a benchmark that makes no progress for this long, so that
// it always stops by itself.
const stallLimit = 30 * time.Second

// deliveryCount counts the distinct messages A's bus reports delivered. It
// reads the bus in its own goroutine, concurrently with the sends, because
// the bus drops events for a subscriber that is not reading.
type deliveryCount struct {
	n    atomic.Int64
	done chan struct{} // closed when n reaches want
}

func (p benchPair) countDelivered(b *testing.B, want int) *deliveryCount {
	b.Helper()
	events, unsubscribe := p.a.Net.Bus().Subscribe()
	c := &deliveryCount{done: make(chan struct{})}
	quit := make(chan struct{})
	exited := make(chan struct{})
	b.Cleanup(func() {
		close(quit)
		<-exited
		unsubscribe()
	})
	go func() {
		defer close(exited)
		seen := make(map[string]struct{}, want)
		for {
			select {
			case e := <-events:
				if id, ok := deliveredID(e); ok {
					seen[id] = struct{}{}
					c.n.Store(int64(len(seen)))
					if len(seen) == want {
						close(c.done)
						return
					}
				}
			case <-quit:
				return
			}
		}
	}()
	return c
}

// wait returns once all want messages are delivered. The bus may still drop
// an event when this process is short of CPU, so once no event came for
// quietTime an empty outbox also means done (within ~quietTime of the truth,
// on runs of a second or more). No progress for stallLimit fails b.
func (c *deliveryCount) wait(b *testing.B, p benchPair, want int) {
	b.Helper()
	const quietTime = 100 * time.Millisecond
	tick := time.NewTicker(quietTime / 4)
	defer tick.Stop()
	last, lastN := time.Now(), c.n.Load()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		if n := c.n.Load(); n != lastN {
			last, lastN = time.Now(), n
			continue
		}
		if time.Since(last) < quietTime {
			continue
		}
		if q, err := p.a.Chat.Outbox(p.b.ID.NodeID, p.a.ID.NodeID); err == nil && len(q) == 0 {
			b.Logf("all %d messages acknowledged; the bus dropped %d of their delivered events", want, want-int(lastN))
			return
		}
		if time.Since(last) > stallLimit {
			b.Fatalf("stalled: %d of %d messages delivered, none in the last %s", lastN, want, stallLimit)
		}
	}
}

// waitOne waits for the delivered event of message id.
func waitOne(b *testing.B, events <-chan network.Event, id string) {
	b.Helper()
	timeout := time.NewTimer(stallLimit)
	defer timeout.Stop()
	for {
		select {
		case e := <-events:
			if got, ok := deliveredID(e); ok && got == id {
				return
			}
		case <-timeout.C:
			b.Fatalf("message %s not delivered within %s", id, stallLimit)
		}
	}
}

// asciiText is n bytes of printable ASCII (no JSON escaping needed).
func asciiText(n int) string {
	const pattern = "abcdefghijklmnopqrstuvwxyz0123456789 "
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

// percentile returns the q-th percentile (0..1) of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(float64(len(sorted))*q), len(sorted)-1)]
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// ---- raw crypto/tls baseline: the physical limit of one TLS 1.3 stream
// between two processes on loopback, with no plugin, gRPC, DPTP or store.

// rawTLSHelperEnv makes the test binary a raw TLS server (see
// TestRawTLSHelperProcess) instead of running tests.
const rawTLSHelperEnv = "DPC_NETWORK_BENCH_RAW_TLS_HELPER"

// Modes of a raw connection, sent by the parent as the first byte.
const (
	rawSink = 'S' // read and discard until EOF, then answer the byte count (8 bytes, big endian)
	rawEcho = 'E' // echo everything back until EOF
)

// TestRawTLSHelperProcess is the child process of the raw TLS baseline: a
// TLS 1.3 server with a self-signed Ed25519 certificate on 127.0.0.1. It
// prints "PORT <port> CERT <base64 DER>" and serves until its stdin closes
// (the parent ended or died). It is skipped unless rawTLSHelperEnv is set.
func TestRawTLSHelperProcess(t *testing.T) {
	if os.Getenv(rawTLSHelperEnv) != "1" {
		t.Skip("the raw TLS server of the network benchmarks; runs only as their child process")
	}
	cert, err := selfSignedEd25519()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("PORT %d CERT %s\n", ln.Addr().(*net.TCPAddr).Port, base64.StdEncoding.EncodeToString(cert.Certificate[0]))
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serveRaw(c)
	}
}

func serveRaw(c net.Conn) {
	defer c.Close()
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return
	}
	buf := make([]byte, 64<<10)
	switch mode[0] {
	case rawSink:
		var total uint64
		for {
			n, err := c.Read(buf)
			total += uint64(n)
			if err != nil {
				break
			}
		}
		_, _ = c.Write(binary.BigEndian.AppendUint64(nil, total))
	case rawEcho:
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
}

func selfSignedEd25519() (tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "raw-tls-baseline"},
		DNSNames: []string{"raw-tls-baseline"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// rawTLS is a running helper process and how to dial it.
type rawTLS struct {
	addr string
	cfg  *tls.Config
}

// startRawTLS re-executes the test binary as the raw TLS server; the
// process ends at b's cleanup.
func startRawTLS(b *testing.B) *rawTLS {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRawTLSHelperProcess$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), rawTLSHelperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	// Our own pipe rather than StdoutPipe: it may be read after Wait.
	out, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	_ = w.Close()
	b.Cleanup(func() {
		_ = stdin.Close() // the child exits when its stdin closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = out.Close()
	})

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	var s string
	select {
	case s = <-line:
	case <-time.After(30 * time.Second):
		b.Fatalf("raw TLS helper printed no port within 30s; stderr: %s", stderr.String())
	}
	var port int
	var cert64 string
	if _, err := fmt.Sscanf(s, "PORT %d CERT %s", &port, &cert64); err != nil {
		b.Fatalf("raw TLS helper said %q: %v", s, err)
	}
	der, err := base64.StdEncoding.DecodeString(cert64)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	// The child's certificate is pinned as the only root.
	return &rawTLS{addr: fmt.Sprintf("127.0.0.1:%d", port),
		cfg: &tls.Config{RootCAs: pool, ServerName: "raw-tls-baseline", MinVersion: tls.VersionTLS13}}
}

// dial connects in mode and finishes the handshake, before any clock starts.
func (r *rawTLS) dial(mode byte) (*tls.Conn, error) {
	c, err := tls.Dial("tcp", r.addr, r.cfg)
	if err != nil {
		return nil, err
	}
	if _, ok := c.ConnectionState().PeerCertificates[0].PublicKey.(ed25519.PublicKey); !ok || c.ConnectionState().Version != tls.VersionTLS13 {
		_ = c.Close()
		return nil, errors.New("raw TLS baseline: want TLS 1.3 with an Ed25519 certificate")
	}
	if _, err := c.Write([]byte{mode}); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// oneWay writes size-byte messages on c (dialed with rawSink) until more
// returns false, then waits for the child's count of bytes received; the
// time includes that answer, so nothing still in flight counts as sent.
func oneWay(c *tls.Conn, size int, more func(i int, elapsed time.Duration) bool) (bytes int64, elapsed time.Duration, err error) {
	defer c.Close()
	msg := []byte(asciiText(size))
	start := time.Now()
	sent := 0
	for i := 0; more(i, time.Since(start)); i++ {
		if _, err := c.Write(msg); err != nil {
			return 0, 0, err
		}
		sent += size
	}
	if err := c.CloseWrite(); err != nil {
		return 0, 0, err
	}
	var got [8]byte
	if _, err := io.ReadFull(c, got[:]); err != nil {
		return 0, 0, fmt.Errorf("reading the child's byte count: %w", err)
	}
	elapsed = time.Since(start)
	if n := binary.BigEndian.Uint64(got[:]); n != uint64(sent) {
		return 0, 0, fmt.Errorf("child received %d bytes, %d were sent", n, sent)
	}
	return int64(sent), elapsed, nil
}

// pingPong sends size-byte messages on c (dialed with rawEcho) one at a
// time, each echoed back, until more returns false, and returns the sorted
// round-trip times.
func pingPong(c *tls.Conn, size int, more func(i int, elapsed time.Duration) bool) ([]time.Duration, error) {
	defer c.Close()
	msg, back := []byte(asciiText(size)), make([]byte, size)
	var rtt []time.Duration
	start := time.Now()
	for i := 0; more(i, time.Since(start)); i++ {
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, back); err != nil {
			return nil, err
		}
		rtt = append(rtt, time.Since(t0))
	}
	slices.Sort(rtt)
	return rtt, nil
}

// rawBaselineTime is how long each baseline figure inside a host→host
// benchmark is measured.
const rawBaselineTime = time.Second

// forDuration keeps a loop going for d.
func forDuration(d time.Duration) func(int, time.Duration) bool {
	return func(_ int, elapsed time.Duration) bool { return elapsed < d }
}

// throughputMBps is the raw one-way MB/s with size-byte writes.
func (r *rawTLS) throughputMBps(b *testing.B, size int) float64 {
	b.Helper()
	c, err := r.dial(rawSink)
	if err != nil {
		b.Fatal(err)
	}
	n, d, err := oneWay(c, size, forDuration(rawBaselineTime))
	if err != nil {
		b.Fatal(err)
	}
	return float64(n) / d.Seconds() / 1e6
}

// latency is the raw ping-pong p50 and p99 with size-byte messages.
func (r *rawTLS) latency(b *testing.B, size int) (p50, p99 time.Duration) {
	b.Helper()
	c, err := r.dial(rawEcho)
	if err != nil {
		b.Fatal(err)
	}
	rtt, err := pingPong(c, size, forDuration(rawBaselineTime))
	if err != nil {
		b.Fatal(err)
	}
	return percentile(rtt, 0.50), percentile(rtt, 0.99)
}
