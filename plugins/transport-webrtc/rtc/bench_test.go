package rtc_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/plugins/transport-webrtc/rtc"
)

// The benchmarks measure one connection on loopback: bulk MB/s in 64 KiB
// writes, and round-trip latency of 8-byte ping-pongs (p50/p99 in µs).
// BenchmarkWebRTCPath goes through the plugin's Conn (signaling through
// fake hosts); BenchmarkRawPion through two plain pion peer connections
// with a detached data channel and the plugin's settings, so that the
// ratio is the plugin's own cost.

const benchWrite = 64 << 10

// BenchmarkWebRTCPath also measures raw pion in the same run, before the
// plugin's connection exists, and reports x-raw-pion: the plugin's MB/s ÷
// raw pion's (1 = the limit), and for latency its p50 ÷ raw pion's p50
// (higher is slower).
func BenchmarkWebRTCPath(b *testing.B) {
	x, y := rawPionPair(b)
	rawMBps := rawThroughput(b, x, y, 1024)
	rawP50 := percentileOf(rawLatency(b, x, y, 2000), 50)
	a, n, ln := pair(b, testConfig(), testConfig())
	dialed, accepted := connect(b, a, n, ln)
	b.Run("throughput", func(b *testing.B) {
		start := time.Now()
		benchThroughput(b, dialed, accepted)
		mbps := float64(b.N) * benchWrite / time.Since(start).Seconds() / 1e6
		b.ReportMetric(rawMBps, "raw-pion-MB/s")
		b.ReportMetric(mbps/rawMBps, "x-raw-pion")
	})
	b.Run("latency", func(b *testing.B) {
		p50 := benchLatency(b, dialed, accepted)
		b.ReportMetric(float64(rawP50.Microseconds()), "raw-pion-p50-µs")
		b.ReportMetric(float64(p50)/float64(rawP50), "x-raw-pion")
	})
}

// rawThroughput is the MB/s of n 64 KiB writes from w read on r.
func rawThroughput(b *testing.B, w io.Writer, r io.Reader, n int) float64 {
	b.Helper()
	start := time.Now()
	if err := pump(w, r, n); err != nil {
		b.Fatal(err)
	}
	return float64(n) * benchWrite / time.Since(start).Seconds() / 1e6
}

// rawLatency is the sorted round trips of n 8-byte ping-pongs.
func rawLatency(b *testing.B, x, y io.ReadWriter, n int) []time.Duration {
	b.Helper()
	rtts, err := pingPong(x, y, n)
	if err != nil {
		b.Fatal(err)
	}
	return rtts
}

// percentileOf is the q-th percentile of sorted durations.
func percentileOf(sorted []time.Duration, q int) time.Duration {
	return sorted[len(sorted)*q/100]
}

func BenchmarkRawPion(b *testing.B) {
	x, y := rawPionPair(b)
	b.Run("throughput", func(b *testing.B) { benchThroughput(b, x, y) })
	b.Run("latency", func(b *testing.B) { benchLatency(b, x, y) })
}

// benchThroughput writes b.N 64 KiB messages from w and reads them on r.
func benchThroughput(b *testing.B, w io.Writer, r io.Reader) {
	b.SetBytes(benchWrite)
	b.ResetTimer()
	if err := pump(w, r, b.N); err != nil {
		b.Fatal(err)
	}
}

// pump writes n 64 KiB messages to w and reads them all on r.
func pump(w io.Writer, r io.Reader, n int) error {
	buf := make([]byte, benchWrite)
	total := int64(n) * benchWrite
	done := make(chan error, 1)
	go func() {
		// A 64 KiB buffer: a detached raw channel cannot read a message
		// into less.
		rbuf := make([]byte, benchWrite)
		for got := int64(0); got < total; {
			k, err := r.Read(rbuf)
			if err != nil {
				done <- fmt.Errorf("reading: %w", err)
				return
			}
			got += int64(k)
		}
		done <- nil
	}()
	for range n {
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
	}
	return <-done
}

// benchLatency sends b.N 8-byte pings from x, echoed by y, reports the
// round trip's p50 and p99 and returns the p50.
func benchLatency(b *testing.B, x, y io.ReadWriter) time.Duration {
	b.ResetTimer()
	rtts, err := pingPong(x, y, b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(percentileOf(rtts, 50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentileOf(rtts, 99).Microseconds()), "p99-µs")
	return percentileOf(rtts, 50)
}

// pingPong sends n 8-byte pings from x, echoed by y, and returns the
// sorted round trips.
func pingPong(x, y io.ReadWriter, n int) ([]time.Duration, error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 8)
		for {
			if _, err := io.ReadFull(y, buf); err != nil {
				return
			}
			if _, err := y.Write(buf); err != nil {
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	ping, pong := make([]byte, 8), make([]byte, 8)
	rtts := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := x.Write(ping); err != nil {
			return nil, fmt.Errorf("writing: %w", err)
		}
		if _, err := io.ReadFull(x, pong); err != nil {
			return nil, fmt.Errorf("reading: %w", err)
		}
		rtts = append(rtts, time.Since(start))
	}
	close(stop)
	// One more ping lets the echo goroutine see stop.
	_, _ = x.Write(ping)
	_, _ = io.ReadFull(x, pong)
	wg.Wait()
	slices.Sort(rtts)
	return rtts, nil
}

// rawPionPair connects two plain pion peer connections (the plugin's
// settings, full SDP exchange in-process) and returns both ends of a
// detached ordered data channel.
func rawPionPair(b *testing.B) (x, y datachannel.ReadWriteCloser) {
	b.Helper()
	newPC := func() *webrtc.PeerConnection {
		api, err := rtc.NewAPIForTest(testConfig())
		if err != nil {
			b.Fatal(err)
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = pc.Close() })
		return pc
	}
	pa, pb := newPC(), newPC()
	opened := func(dc *webrtc.DataChannel, ch chan<- datachannel.ReadWriteCloser) {
		dc.OnOpen(func() {
			rw, err := dc.Detach()
			if err != nil {
				b.Error(err)
			}
			ch <- rw
		})
	}
	xa, yb := make(chan datachannel.ReadWriteCloser, 1), make(chan datachannel.ReadWriteCloser, 1)
	dc, err := pa.CreateDataChannel("dpc", nil)
	if err != nil {
		b.Fatal(err)
	}
	opened(dc, xa)
	pb.OnDataChannel(func(dc *webrtc.DataChannel) { opened(dc, yb) })

	offer, err := pa.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(pa)
	if err := pa.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-g
	if err := pb.SetRemoteDescription(*pa.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	ans, err := pb.CreateAnswer(nil)
	if err != nil {
		b.Fatal(err)
	}
	g = webrtc.GatheringCompletePromise(pb)
	if err := pb.SetLocalDescription(ans); err != nil {
		b.Fatal(err)
	}
	<-g
	if err := pa.SetRemoteDescription(*pb.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ch := range []chan datachannel.ReadWriteCloser{xa, yb} {
		select {
		case rw := <-ch:
			if x == nil {
				x = rw
			} else {
				y = rw
			}
		case <-ctx.Done():
			b.Fatal("the raw data channel did not open")
		}
	}
	return x, y
}
