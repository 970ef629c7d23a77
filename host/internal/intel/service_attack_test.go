package intel_test

// Costs a peer can make this node bear: listing models, and streaming an
// answer to a peer that does not read it.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/identity"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk"
)

const wireComputeRules = `rule "group" "contacts" { allow = ["compute", "model:echo", "model:firehose"] }
rule "scope" "default" { allow = ["context:*"] }`

// computeNode is a node running prompts for its contacts on plugins.
func computeNode(t *testing.T, plugins llmtest.Plugins) *nettest.Node {
	t.Helper()
	return nettest.NewNode(t, nettest.Options{Name: "Carol", Firewall: wireComputeRules, Intel: func(n *nettest.Node) intel.Answerer {
		return &intel.Responder{Context: newFixedContext(map[string]any{}), Firewall: n.Firewall, Contacts: n.Peers, Models: llm.New(plugins, nil)}
	}})
}

// rawContact dials n as a new contact of n that speaks raw DPTP.
func rawContact(t *testing.T, n *nettest.Node) *session.Session {
	t.Helper()
	id, err := identity.Create(filepath.Join(t.TempDir(), "raw"), identity.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Peers.Update(id.NodeID, func(p *peers.Peer) { p.Contact = true }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := nettest.DirectTransport(t).Dial(ctx, sdk.DialRequest{URI: n.URI()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.Client(ctx, c, session.Options{Identity: id, Name: "raw"}, n.ID.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestGetProvidersFloodIsRateLimited: a peer sending GET_PROVIDERS in a
// loop gets ERROR rate_limited past its burst, every request is answered,
// and the plugins are listed once for all of them.
func TestGetProvidersFloodIsRateLimited(t *testing.T) {
	t.Parallel()
	plugin := llmtest.Offering("echo")
	carol := computeNode(t, llmtest.Plugins{{Name: "llm-cloud", LLM: plugin}})
	s := rawContact(t, carol)
	const flood = 30
	for i := range flood {
		if err := s.Send(dptp.CmdGetProviders, dptp.GetProviders{RequestID: fmt.Sprintf("req-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	answered := map[string]bool{}
	listed, limited := 0, 0
	for len(answered) < flood {
		f, err := s.Read()
		if err != nil {
			t.Fatalf("after %d answers: %v", len(answered), err)
		}
		switch f.Command {
		case dptp.CmdProvidersResponse:
			r, err := dptp.Decode[dptp.ProvidersResponse](f)
			if err != nil || len(r.Providers) != 1 {
				t.Fatalf("PROVIDERS_RESPONSE: want model echo, got %s (%v)", f.Payload, err)
			}
			answered[r.RequestID] = true
			listed++
		case dptp.CmdError:
			e, err := dptp.Decode[dptp.ErrorReply](f)
			if err != nil || e.Code != dptp.CodeRateLimited || e.RefusedCommand != dptp.CmdGetProviders || !strings.Contains(e.Message, "at most") {
				t.Fatalf("ERROR: want rate_limited for GET_PROVIDERS saying the limit, got %s (%v)", f.Payload, err)
			}
			answered[e.RequestID] = true
			limited++
		}
	}
	// The burst is 5, then one every 2s: on a slow machine a few more get through.
	if limited < flood/2 {
		t.Errorf("%d GET_PROVIDERS: %d listed, %d refused; want most refused", flood, listed, limited)
	}
	if n := plugin.Lists(); n != 1 {
		t.Errorf("%d GET_PROVIDERS answered with the list called ListModels %d times, want once", listed, n)
	}
}

// firehose answers every prompt as fast as it can, in 16 KiB pieces,
// until emit refuses more or it reaches 1 GiB, without keeping the answer
// (the Responder would stop at a frame's size); it reports how much it
// wrote and why it stopped.
type firehose struct {
	stopped chan firehoseStop
}

type firehoseStop struct {
	bytes int
	err   error
}

func (*firehose) ContextFor(string) (map[string]any, string) { return map[string]any{}, "" }

func (*firehose) ProvidersFor(context.Context, string) []dptp.Provider { return nil }

func (f *firehose) Infer(_ context.Context, _ string, _ dptp.RemoteInferenceRequest, emit func(string) error) dptp.RemoteInferenceResponse {
	piece := strings.Repeat("x", 16<<10)
	total := 0
	var err error
	for total < 1<<30 && err == nil {
		if err = emit(piece); err == nil {
			total += len(piece)
		}
	}
	f.stopped <- firehoseStop{bytes: total, err: err}
	return dptp.RemoteInferenceResponse{Status: dptp.StatusSuccess, Response: "(not kept)"}
}

// TestSlowPeerStreamBounded: a peer that asks for a streamed answer and
// stops reading must not hold the model nor make this node buffer the
// answer without end: once the unsent part reaches the bound the model
// waits, and when the peer reads nothing for the stall time the prompt is
// cancelled; the peer, when it reads again, learns why.
func TestSlowPeerStreamBounded(t *testing.T) {
	t.Parallel()
	model := &firehose{stopped: make(chan firehoseStop, 1)}
	carol := nettest.NewNode(t, nettest.Options{Name: "Carol", Intel: func(*nettest.Node) intel.Answerer { return model }})
	intel.SetSlowPeerStall(carol.Intel, 500*time.Millisecond)
	s := rawContact(t, carol)
	req := dptp.RemoteInferenceRequest{RequestID: "slow-1", Prompt: "write forever", Model: "firehose", Stream: true}
	if err := s.Send(dptp.CmdRemoteInferenceRequest, req); err != nil {
		t.Fatal(err)
	}
	// The peer reads nothing until the model has stopped.
	var stop firehoseStop
	select {
	case stop = <-model.stopped:
	case <-time.After(2 * time.Minute):
		t.Fatal("the model still writes for a peer that reads nothing")
	}
	if stop.err == nil || stop.bytes >= 1<<30 {
		t.Fatalf("want the generation cancelled early, it wrote %d bytes and stopped with %v", stop.bytes, stop.err)
	}
	seq := 0
	for {
		f, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		if f.Command == dptp.CmdRemoteInferenceChunk {
			c, err := dptp.Decode[dptp.RemoteInferenceChunk](f)
			if err != nil || c.Seq != seq {
				t.Fatalf("chunk %d: got %+v (%v)", seq, c.Seq, err)
			}
			seq++
			continue
		}
		if f.Command != dptp.CmdRemoteInferenceResponse {
			continue
		}
		r, err := dptp.Decode[dptp.RemoteInferenceResponse](f)
		if err != nil || r.RequestID != "slow-1" || r.Status != dptp.StatusError || !strings.Contains(r.Error, "you read none of it") {
			t.Fatalf("want an error response saying the answer was cancelled for a slow reader, got %s (%v)", f.Payload, err)
		}
		t.Logf("the model wrote %d KiB; the peer got %d chunks (%d KiB) before the cancellation", stop.bytes>>10, seq, seq*16)
		return
	}
}
