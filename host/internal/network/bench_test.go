package network_test

// Benchmarks of Direct P2P messaging, `make bench`. Each host→host figure is
// reported next to the physical limit measured in the same run: raw
// crypto/tls (TLS 1.3, Ed25519 certificate) between this process and a
// child process on loopback (x-raw-tls). Everything runs on 127.0.0.1.
//
// The host→host path is the whole product path: Network.Send (a badger
// transaction) → outbox flush → DPTP SEND_TEXT → host TLS → gRPC to A's
// transport-direct subprocess → TCP → B's subprocess → gRPC → B's TLS →
// firewall check → B's store → ACK back the same way → A's store → the
// "message_state" event. Both hosts live in this test process (they share
// its GOMAXPROCS), each with its own plugin process. Their stores are badger
// in memory (see nettest.NewNode for why).

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/sdk"
)

// benchSizes are the text sizes measured; 64 KiB is the longest text a
// message may have (dptp.MaxTextLen), as exactly 65536 ASCII bytes.
var benchSizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"64KiB", dptp.MaxTextLen}}

// BenchmarkHostToHostThroughput sends b.N messages from A to B as fast as
// Send takes them and stops the clock when all b.N are acknowledged
// (delivered events on A's bus, or an empty outbox if the bus dropped some).
// x-raw-tls = host→host MB/s ÷ raw TLS one-way MB/s with writes of the same
// size (1 = the limit).
func BenchmarkHostToHostThroughput(b *testing.B) {
	// The baseline once for this function (which runs once, as it has
	// sub-benchmarks), before the nodes exist so they don't compete.
	raw := startRawTLS(b)
	limit := map[int]float64{}
	for _, s := range benchSizes {
		limit[s.size] = raw.throughputMBps(b, s.size)
	}
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			// A fresh pair per run: the in-memory stores keep every
			// message, which would pile up across the runs of -benchtime.
			p := newBenchPair(b)
			acked := p.countDelivered(b, b.N)
			text := asciiText(s.size)
			b.SetBytes(int64(s.size))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := p.a.Chats.Send(p.b.ID.NodeID, text); err != nil {
					b.Fatal(err)
				}
			}
			acked.wait(b, p, b.N)
			elapsed := time.Since(start)
			b.StopTimer()
			mbps := float64(s.size) * float64(b.N) / elapsed.Seconds() / 1e6
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
			b.ReportMetric(limit[s.size], "raw-tls-MB/s")
			b.ReportMetric(mbps/limit[s.size], "x-raw-tls")
		})
	}
}

// BenchmarkHostToHostLatency sends one 1 KiB message at a time and times
// Send → its delivered event (one round trip: SEND_TEXT there, ACK back,
// with a store write on each side). x-raw-tls = p50 ÷ the raw TLS ping-pong
// p50 of 1 KiB messages (1 = the limit; higher is slower).
func BenchmarkHostToHostLatency(b *testing.B) {
	const size = 1 << 10
	raw := startRawTLS(b)
	rawP50, rawP99 := raw.latency(b, size)
	p := newBenchPair(b)
	// One run: the pair lives through every message, like a real
	// conversation, so a per-message cost that grows with the history shows
	// up as a higher p50 at a longer -benchtime.
	b.ResetTimer()
	lat := pairLatency(b, p, b.N)
	b.StopTimer()
	p50, p99 := lat[0], lat[1]
	b.ReportMetric(micros(p50), "p50-µs")
	b.ReportMetric(micros(p99), "p99-µs")
	b.ReportMetric(micros(rawP50), "raw-p50-µs")
	b.ReportMetric(micros(rawP99), "raw-p99-µs")
	b.ReportMetric(float64(p50)/float64(rawP50), "x-raw-tls")
}

// BenchmarkTransportPath is the ceiling the plugin architecture sets, below
// the host's own work: bytes written to A's transport-direct subprocess
// (gRPC over its AutoMTLS socket), over TCP to B's subprocess, and read from
// it (gRPC again), with no host TLS, DPTP, firewall or store. Every byte
// crosses two plugin boundaries and four processes share the machine, so
// host→host throughput can approach this figure but never pass it.
// x-raw-tls = MB/s ÷ raw TLS one-way MB/s with writes of the same size.
func BenchmarkTransportPath(b *testing.B) {
	raw := startRawTLS(b)
	limit := map[int]float64{}
	for _, s := range benchSizes {
		limit[s.size] = raw.throughputMBps(b, s.size)
	}
	a, z := nettest.DirectTransport(b), nettest.DirectTransport(b)
	ctx := context.Background()
	ln, err := z.Listen(ctx, sdk.ListenRequest{Addresses: []string{"127.0.0.1:0"}})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	uri := "dpc://" + ln.Addresses()[0]
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			accepted := make(chan sdk.Conn, 1)
			acceptErr := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					acceptErr <- err
					return
				}
				accepted <- c
			}()
			out, err := a.Dial(ctx, sdk.DialRequest{URI: uri, Timeout: 5 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer out.Close()
			var in sdk.Conn
			select {
			case in = <-accepted:
			case err := <-acceptErr:
				b.Fatal(err)
			case <-time.After(stallLimit):
				b.Fatal("B's plugin accepted no connection")
			}
			defer in.Close()
			want := int64(s.size) * int64(b.N)
			got := make(chan int64, 1)
			go func() {
				n, _ := io.Copy(io.Discard, in)
				got <- n
			}()
			msg := []byte(asciiText(s.size))
			b.SetBytes(int64(s.size))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := out.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := out.CloseWrite(); err != nil {
				b.Fatal(err)
			}
			var n int64
			select {
			case n = <-got:
			case <-time.After(stallLimit):
				b.Fatal("B's side did not see the end of the stream")
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if n != want {
				b.Fatalf("B read %d bytes, %d were written", n, want)
			}
			mbps := float64(want) / elapsed.Seconds() / 1e6
			b.ReportMetric(limit[s.size], "raw-tls-MB/s")
			b.ReportMetric(mbps/limit[s.size], "x-raw-tls")
		})
	}
}

// BenchmarkRawTLS is the limit itself: one TLS 1.3 stream from this process
// to a child process on loopback, with no plugin, gRPC, DPTP or store.
// oneway-* writes b.N messages and stops the clock when the child confirms
// it got every byte; pingpong-1KiB sends one message at a time, echoed.
func BenchmarkRawTLS(b *testing.B) {
	raw := startRawTLS(b)
	for _, s := range benchSizes {
		b.Run("oneway-"+s.name, func(b *testing.B) {
			c, err := raw.dial(rawSink) // the handshake is not timed
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(s.size))
			b.ResetTimer()
			n, _, err := oneWay(c, s.size, func(i int, _ time.Duration) bool { return i < b.N })
			if err != nil {
				b.Fatal(err)
			}
			if n != int64(s.size)*int64(b.N) {
				b.Fatalf("sent %d bytes, want %d", n, int64(s.size)*int64(b.N))
			}
		})
	}
	b.Run(fmt.Sprintf("pingpong-%s", benchSizes[0].name), func(b *testing.B) {
		c, err := raw.dial(rawEcho)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		rtt, err := pingPong(c, benchSizes[0].size, func(i int, _ time.Duration) bool { return i < b.N })
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(micros(percentile(rtt, 0.50)), "p50-µs")
		b.ReportMetric(micros(percentile(rtt, 0.99)), "p99-µs")
	})
}

// BenchmarkHostToHostWebRTC is the whole product path of
// BenchmarkHostToHostThroughput and BenchmarkHostToHostLatency with both
// nodes on transport-webrtc subprocesses (pion data channel on loopback,
// signals carried by an in-process test hub) instead of transport-direct.
// x-direct = the WebRTC figure ÷ the same figure over transport-direct,
// measured in the same run (for latency, p50 ÷ p50: higher is slower).
// The data channel alone against raw pion is plugins/transport-webrtc's
// BenchmarkWebRTCPath.
func BenchmarkHostToHostWebRTC(b *testing.B) {
	const baseline = 200 // messages of the transport-direct run
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			direct := pairThroughput(b, newBenchPair(b), s.size, baseline)
			p := newBenchPairOn(b, nettest.NewSignalHub())
			b.SetBytes(int64(s.size))
			b.ResetTimer()
			mbps := pairThroughput(b, p, s.size, b.N)
			b.StopTimer()
			b.ReportMetric(direct, "direct-MB/s")
			b.ReportMetric(mbps/direct, "x-direct")
		})
	}
	b.Run("latency", func(b *testing.B) {
		direct := pairLatency(b, newBenchPair(b), baseline)
		p := newBenchPairOn(b, nettest.NewSignalHub())
		b.ResetTimer()
		lat := pairLatency(b, p, b.N)
		b.StopTimer()
		b.ReportMetric(micros(lat[0]), "p50-µs")
		b.ReportMetric(micros(lat[1]), "p99-µs")
		b.ReportMetric(micros(direct[0]), "direct-p50-µs")
		b.ReportMetric(float64(lat[0])/float64(direct[0]), "x-direct")
	})
}

// pairThroughput sends n messages of size bytes from p.a to p.b as fast as
// Send takes them and returns the MB/s until all are acknowledged.
func pairThroughput(b *testing.B, p benchPair, size, n int) float64 {
	b.Helper()
	acked := p.countDelivered(b, n)
	text := asciiText(size)
	start := time.Now()
	for range n {
		if _, err := p.a.Chats.Send(p.b.ID.NodeID, text); err != nil {
			b.Fatal(err)
		}
	}
	acked.wait(b, p, n)
	return float64(size) * float64(n) / time.Since(start).Seconds() / 1e6
}

// pairLatency sends n 1 KiB messages one at a time and returns the p50 and
// p99 of Send → delivered.
func pairLatency(b *testing.B, p benchPair, n int) [2]time.Duration {
	b.Helper()
	events, stop := p.a.Net.Bus().Subscribe()
	defer stop()
	text := asciiText(1 << 10)
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		m, err := p.a.Chats.Send(p.b.ID.NodeID, text)
		if err != nil {
			b.Fatal(err)
		}
		waitOne(b, events, m.ID)
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return [2]time.Duration{percentile(lat, 0.50), percentile(lat, 0.99)}
}
