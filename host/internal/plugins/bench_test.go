package plugins

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/fixtureplugin"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// benchPair is the same backup implementation twice: in a plugin subprocess
// (through gRPC, AutoMTLS, go-plugin) and in this process (a Go call).
type benchPair struct {
	remote, local sdk.Backup
}

func newBenchPair(b *testing.B) benchPair {
	b.Helper()
	ctx := context.Background()
	sum, err := FileSHA256(fixtureBin.Path)
	if err != nil {
		b.Fatal(err)
	}
	inst, err := Launch(ctx, LaunchOptions{Binary: fixtureBin, SHA256: sum, Logger: hclog.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inst.Stop(context.Background()) })
	if _, err := inst.Client.ConfigureRaw(ctx, pluginhost.ConfigureParams{ConfigJSON: []byte(`{"limit":1}`), APIVersion: sdk.APIVersion}); err != nil {
		b.Fatal(err)
	}
	local := &fixtureplugin.Plugin{}
	if err := local.Configure(ctx, sdk.ConfigureRequest{Config: &fixtureplugin.Config{Limit: 1}}); err != nil {
		b.Fatal(err)
	}
	return benchPair{remote: inst.Client.Backup, local: local}
}

// BenchmarkUnaryCall measures a small request/response call (Stat) across
// the plugin boundary, next to the same call in-process.
func BenchmarkUnaryCall(b *testing.B) {
	p := newBenchPair(b)
	ctx := context.Background()
	for _, be := range []sdk.Backup{p.remote, p.local} {
		if _, err := be.Put(ctx, sdk.PutRequest{Key: "k", Body: bytes.NewReader([]byte("small object"))}); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		if _, err := p.remote.Stat(ctx, sdk.StatRequest{Key: "k"}); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	remote := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for range b.N {
		if _, err := p.local.Stat(ctx, sdk.StatRequest{Key: "k"}); err != nil {
			b.Fatal(err)
		}
	}
	local := time.Since(start)
	slices.Sort(lat)
	perOp := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(perOp(local), "inproc-ns/op")
	b.ReportMetric(perOp(remote)/perOp(local), "x-inproc")
}

// BenchmarkStreamThroughput moves a 16 MiB object through streaming calls
// (Put: host→plugin, Get: plugin→host) across the boundary and in-process.
func BenchmarkStreamThroughput(b *testing.B) {
	const size = 16 << 20
	obj := make([]byte, size)
	_, _ = rand.Read(obj)
	for _, dir := range []string{"put", "get"} {
		b.Run(dir, func(b *testing.B) {
			p := newBenchPair(b)
			ctx := context.Background()
			move := func(be sdk.Backup) {
				if dir == "put" {
					if _, err := be.Put(ctx, sdk.PutRequest{Key: "big", Body: bytes.NewReader(obj)}); err != nil {
						b.Fatal(err)
					}
					return
				}
				got, err := be.Get(ctx, sdk.GetRequest{Key: "big"})
				if err != nil {
					b.Fatal(err)
				}
				// Hide WriterTo so the in-process path copies bytes too.
				if n, err := io.Copy(io.Discard, struct{ io.Reader }{got.Body}); err != nil || n != size {
					b.Fatalf("read %d of %d bytes: %v", n, size, err)
				}
				_ = got.Body.Close()
			}
			if dir == "get" {
				for _, be := range []sdk.Backup{p.remote, p.local} {
					if _, err := be.Put(ctx, sdk.PutRequest{Key: "big", Body: bytes.NewReader(obj)}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.SetBytes(size)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				move(p.remote)
			}
			remote := time.Since(start)
			b.StopTimer()
			start = time.Now()
			for range b.N {
				move(p.local)
			}
			local := time.Since(start)
			mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
			b.ReportMetric(mbps(local), "inproc-MB/s")
			b.ReportMetric(mbps(remote)/mbps(local), "x-inproc")
		})
	}
}

// BenchmarkColdStart measures exec → handshake (AutoMTLS) → fingerprint →
// configure → first ping of a plugin, then its shutdown.
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	sum, err := FileSHA256(fixtureBin.Path)
	if err != nil {
		b.Fatal(err)
	}
	var stop time.Duration
	for range b.N {
		inst, err := Launch(ctx, LaunchOptions{Binary: fixtureBin, SHA256: sum, Logger: hclog.NewNullLogger()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := inst.Client.ConfigureRaw(ctx, pluginhost.ConfigureParams{ConfigJSON: []byte(`{}`), APIVersion: sdk.APIVersion}); err != nil {
			b.Fatal(err)
		}
		if err := inst.Client.Ping(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		t0 := time.Now()
		inst.Stop(ctx)
		stop += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "stop-ms/op")
}
