package rtc_test

import (
	"context"
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

func BenchmarkWebRTCPath(b *testing.B) {
	a, n, ln := pair(b, testConfig(), testConfig())
	dialed, accepted := connect(b, a, n, ln)
	b.Run("throughput", func(b *testing.B) { benchThroughput(b, dialed, accepted) })
	b.Run("latency", func(b *testing.B) { benchLatency(b, dialed, accepted) })
}

func BenchmarkRawPion(b *testing.B) {
	x, y := rawPionPair(b)
	b.Run("throughput", func(b *testing.B) { benchThroughput(b, x, y) })
	b.Run("latency", func(b *testing.B) { benchLatency(b, x, y) })
}

// benchThroughput writes b.N 64 KiB messages from w and reads them on r.
func benchThroughput(b *testing.B, w io.Writer, r io.Reader) {
	buf := make([]byte, benchWrite)
	total := int64(b.N) * benchWrite
	done := make(chan error, 1)
	go func() {
		// A 64 KiB buffer: a detached raw channel cannot read a message
		// into less.
		rbuf := make([]byte, benchWrite)
		for got := int64(0); got < total; {
			n, err := r.Read(rbuf)
			if err != nil {
				done <- err
				return
			}
			got += int64(n)
		}
		done <- nil
	}()
	b.SetBytes(benchWrite)
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(buf); err != nil {
			b.Fatalf("Write: %v", err)
		}
	}
	if err := <-done; err != nil {
		b.Fatalf("Read: %v", err)
	}
}

// benchLatency sends b.N 8-byte pings from x, echoed by y, and reports the
// round trip's p50 and p99.
func benchLatency(b *testing.B, x, y io.ReadWriter) {
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
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := x.Write(ping); err != nil {
			b.Fatalf("Write: %v", err)
		}
		if _, err := io.ReadFull(x, pong); err != nil {
			b.Fatalf("Read: %v", err)
		}
		rtts = append(rtts, time.Since(start))
	}
	b.StopTimer()
	close(stop)
	// One more ping lets the echo goroutine see stop.
	_, _ = x.Write(ping)
	_, _ = io.ReadFull(x, pong)
	wg.Wait()
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(rtts[len(rtts)*99/100].Microseconds()), "p99-µs")
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
