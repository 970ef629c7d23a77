package intel_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/plugins/llm-local/llmlocal"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/promptctx"
)

// BenchmarkFirstToken is the first-token latency the plugin path adds to a
// streamed answer: the same llm-local plugin answers the same prompt (a
// question and 4 context blocks of D-PC's sample personal.json), called
// in-process and through its real subprocess (gRPC over the AutoMTLS
// socket). first-token = from the Generate call to the first piece of the
// answer; extra-µs = the plugin path's p50 minus in-process p50.
func BenchmarkFirstToken(b *testing.B) {
	doc := loadContext(b, "../personal/testdata/personal.json")
	var blocks []promptctx.Block
	for i, id := range []string{aliceID, bobID, carolID, daveID} {
		src := promptctx.SourcePeer
		if i == 0 {
			src = promptctx.SourceLocal
		}
		blocks = append(blocks, promptctx.Block{Source: src, Name: "N", NodeID: id, Context: doc})
	}
	msgs, err := intel.Prompt("Alice", "which books should I read about rust programming?", blocks)
	if err != nil {
		b.Fatal(err)
	}
	req := sdk.GenerateRequest{Model: "retrieval", Messages: msgs}

	inProc := &llmlocal.Plugin{}
	if err := inProc.Configure(context.Background(), sdk.ConfigureRequest{Config: llmlocal.DefaultConfig()}); err != nil {
		b.Fatal(err)
	}
	viaPlugin := nettest.Launch(b, "llm-local", "").LLM

	p50 := map[string]time.Duration{}
	for _, path := range []struct {
		name string
		llm  sdk.LLM
	}{{"in-process", inProc}, {"plugin", viaPlugin}} {
		b.Run(path.name, func(b *testing.B) {
			var first []time.Duration
			for b.Loop() {
				start := time.Now()
				var t time.Duration
				_, err := path.llm.Generate(context.Background(), req, func(string) error {
					if t == 0 {
						t = time.Since(start)
					}
					return nil
				})
				if err != nil || t == 0 {
					b.Fatalf("generate: %v (first piece after %s)", err, t)
				}
				first = append(first, t)
			}
			slices.Sort(first)
			p50[path.name] = first[len(first)/2]
			b.ReportMetric(micros(p50[path.name]), "first-token-p50-µs")
			b.ReportMetric(micros(first[min(len(first)*99/100, len(first)-1)]), "first-token-p99-µs")
			if base, ok := p50["in-process"]; ok && path.name == "plugin" {
				b.ReportMetric(micros(p50[path.name]-base), "extra-µs")
			}
		})
	}
}
