package intel_test

// Benchmarks of `dpc ask`, `make bench`.

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/sdk"
)

// sharingRules let contacts read the whole context.
const sharingRules = `rule "group" "contacts" { allow = ["messages", "context:*"] }
rule "scope" "default" { allow = ["context:*"] }`

// BenchmarkAskAssembly is the prompt-assembly overhead of an ask with 3
// peers, the model excluded: the user's own context through the scope,
// then each peer's shared context, fetched concurrently from 3 real nodes
// (each with its transport-direct subprocess, over TLS on loopback) and
// filtered by their firewalls, then the prompt rendered. Each context is
// D-PC's sample personal.json (personal/testdata). "cached" uses the copies
// the peers last sent, as an ask does until a peer announces a change;
// "revalidated" asks each peer again (dpc ask --fresh), which answers
// "unchanged" by hash. The model is an in-process stub that answers at once.
func BenchmarkAskAssembly(b *testing.B) {
	doc := loadContext(b, "../personal/testdata/personal.json")
	responder := func(n *nettest.Node) intel.Answerer {
		return &intel.Responder{Context: newFixedContext(doc), Firewall: n.Firewall, Contacts: n.Peers,
			Models: llm.New(llmtest.Plugins{}, nil)}
	}
	alice := nettest.NewNode(b, nettest.Options{Name: "Alice", Firewall: sharingRules})
	var peers []string
	for _, name := range []string{"Carol", "Dave", "Erin"} {
		p := nettest.NewNode(b, nettest.Options{Name: name, Firewall: sharingRules, Intel: responder})
		nettest.Connect(b, alice, p)
		peers = append(peers, p.ID.NodeID)
	}
	a := &intel.Asker{NodeID: alice.ID.NodeID, Name: "Alice", Context: newFixedContext(doc), Firewall: alice.Firewall,
		Models: llm.New(llmtest.Plugins{{Name: "llm-echo", LLM: &llmtest.LLM{Models: []sdk.Model{{ID: "echo"}},
			Reply: func(sdk.GenerateRequest) string { return "ok" }}}}, nil), Peers: alice.Intel, PeerName: alice.Peers.Name}

	for _, mode := range []struct {
		name  string
		fresh bool
	}{{"cached", false}, {"revalidated", true}} {
		b.Run(mode.name, func(b *testing.B) {
			req := intel.Request{Question: "what do my friends cook?", Peers: peers, Fresh: mode.fresh}
			var assembly []time.Duration
			for b.Loop() {
				var sum *intel.Summary
				err := a.Ask(context.Background(), req, func(e intel.Event) {
					switch e.Type {
					case "done":
						sum = e.Done
					case "missing":
						b.Fatalf("a peer's context is missing: %+v", e.Missing)
					}
				})
				if err != nil || sum == nil {
					b.Fatalf("ask: %v", err)
				}
				if len(sum.Sources) != 4 {
					b.Fatalf("want 4 sources, got %+v", sum.Sources)
				}
				assembly = append(assembly, sum.Assembly)
			}
			slices.Sort(assembly)
			b.ReportMetric(micros(assembly[len(assembly)/2]), "assembly-p50-µs")
			b.ReportMetric(micros(assembly[min(len(assembly)*99/100, len(assembly)-1)]), "assembly-p99-µs")
		})
	}
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
