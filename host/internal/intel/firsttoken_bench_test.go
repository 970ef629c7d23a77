package intel_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/fixtureplugin"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/promptctx"
)

// BenchmarkFirstToken is the first-token latency the plugin path adds to a
// streamed answer: the same prompt (a question and 4 context blocks of
// D-PC's sample personal.json) goes to the fixture model, which echoes it
// and does no work of its own, called in-process and through its real
// subprocess (gRPC over the AutoMTLS socket), and to the real llm-local
// plugin through its subprocess. The plugins are built from the workspace,
// never imported (host/go.mod does not require them). first-token = from
// the Generate call to the first piece of the answer; extra-µs = the
// fixture's plugin p50 minus its in-process p50.
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

	p50 := map[string]time.Duration{}
	for _, path := range []struct {
		name  string
		model string
		llm   func(testing.TB) sdk.LLM
	}{
		{"in-process", "echo", func(testing.TB) sdk.LLM { return fixtureplugin.LLM{} }},
		{"plugin", "echo", nettest.FixtureLLM},
		{"llm-local-plugin", "retrieval", func(tb testing.TB) sdk.LLM { return nettest.Launch(tb, "llm-local", "").LLM }},
	} {
		b.Run(path.name, func(b *testing.B) {
			llm := path.llm(b)
			req := sdk.GenerateRequest{Model: path.model, Messages: msgs}
			var first []time.Duration
			for b.Loop() {
				start := time.Now()
				var t time.Duration
				_, err := llm.Generate(context.Background(), req, func(string) error {
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
