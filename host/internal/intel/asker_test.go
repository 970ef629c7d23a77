package intel_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/promptctx"
)

const (
	aliceID = "dpc-node-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	carolID = "dpc-node-cccccccccccccccccccccccccccccccc"
	bobID   = "dpc-node-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	daveID  = "dpc-node-dddddddddddddddddddddddddddddddd"
)

// fakePeers answers context requests from a table, and runs remote
// inferences by recording them.
type fakePeers struct {
	contexts map[string]map[string]any // nil value: shares nothing
	errs     map[string]error
	remote   []dptp.RemoteInferenceRequest
	refuse   error
}

func (f *fakePeers) PeerContext(_ context.Context, peer, _ string, _ bool) (intel.SharedContext, error) {
	if err := f.errs[peer]; err != nil {
		return intel.SharedContext{}, err
	}
	return intel.SharedContext{Doc: f.contexts[peer]}, nil
}

func (f *fakePeers) RemoteInference(_ context.Context, peer string, req dptp.RemoteInferenceRequest, onChunk func(string) error) (dptp.RemoteInferenceResponse, error) {
	f.remote = append(f.remote, req)
	if f.refuse != nil {
		return dptp.RemoteInferenceResponse{}, f.refuse
	}
	if err := onChunk("remote answer"); err != nil {
		return dptp.RemoteInferenceResponse{}, err
	}
	return dptp.RemoteInferenceResponse{Status: dptp.StatusSuccess, Model: "llama3", Provider: "llm-ollama", ResponseTokens: 2}, nil
}

func TestAsk(t *testing.T) {
	t.Parallel()
	own := map[string]any{"profile": map[string]any{"name": "Alice", "email": "alice@example.org"}}
	rules := `rule "scope" "default" { allow = ["context:*"] }
rule "scope" "public" { allow = ["context:profile.name"] }`
	names := map[string]string{carolID: "Carol", bobID: "Bob"}
	tests := map[string]struct {
		req         intel.Request
		peers       fakePeers
		wantErr     error
		wantBlocks  []string // node_ids of the prompt's context blocks, in order
		wantMissing map[string]string
		wantNotice  string
		wantRemote  bool
		notInPrompt string
	}{
		"own context and a sharing peer": {
			req:        intel.Request{Question: "what does Carol cook?", Peers: []string{carolID}},
			peers:      fakePeers{contexts: map[string]map[string]any{carolID: {"knowledge": map[string]any{"cooking": "pasta"}}}},
			wantBlocks: []string{aliceID, carolID},
		},
		"a scope narrows the own context": {
			req:         intel.Request{Question: "who am I?", Scope: "public"},
			wantBlocks:  []string{aliceID},
			notInPrompt: "alice@example.org",
		},
		"peers that do not contribute are reported": {
			req: intel.Request{Question: "q", Peers: []string{bobID, carolID, daveID}},
			peers: fakePeers{contexts: map[string]map[string]any{bobID: {}},
				errs: map[string]error{carolID: fmt.Errorf("%w: carol", network.ErrNoAnswer), daveID: fmt.Errorf("%w: dave", network.ErrPeerOffline)}},
			wantBlocks: []string{aliceID},
			wantMissing: map[string]string{bobID: "shares none of its context with you", carolID: "did not answer within 5s",
				daveID: "is not connected"},
		},
		"a remote run leaves the own context out unless a scope is named": {
			req:        intel.Request{Question: "q", On: carolID},
			wantNotice: "Carol will run this prompt and see your question only (no context).",
			wantRemote: true,
		},
		"a remote run with a scope says what the peer sees": {
			req:        intel.Request{Question: "q", On: carolID, Scope: "public"},
			wantBlocks: []string{aliceID},
			wantNotice: "Carol will run this prompt and see your question and the context of Alice (you, " + aliceID + ")",
			wantRemote: true,
		},
		"a remote refusal is the error": {
			req:     intel.Request{Question: "q", On: carolID},
			peers:   fakePeers{refuse: &network.PeerError{Peer: carolID, Code: "permission_denied", Message: "no"}},
			wantErr: network.ErrPeerRefused,
		},
		"unknown scope":     {req: intel.Request{Question: "q", Scope: "holiday"}, wantErr: intel.ErrInvalidAsk},
		"empty question":    {req: intel.Request{Question: "  "}, wantErr: intel.ErrInvalidAsk},
		"asking oneself":    {req: intel.Request{Question: "q", On: aliceID}, wantErr: intel.ErrInvalidAsk},
		"oneself as a peer": {req: intel.Request{Question: "q", Peers: []string{aliceID}}, wantErr: intel.ErrInvalidAsk},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			peers := tc.peers
			echo := &llmtest.LLM{Models: []sdk.Model{{ID: "echo"}}, Reply: func(sdk.GenerateRequest) string { return "local answer" }}
			a := &intel.Asker{NodeID: aliceID, Name: "Alice", Context: newFixedContext(own), Firewall: loadRules(t, rules),
				Models: llm.New(llmtest.Plugins{{Name: "llm-echo", LLM: echo}}, nil), Peers: &peers,
				PeerName: func(id string) string { return names[id] }}
			var events []intel.Event
			err := a.Ask(context.Background(), tc.req, func(e intel.Event) { events = append(events, e) })
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			last := events[len(events)-1]
			if last.Type != "done" {
				t.Fatalf("want the last event done, got %+v", last)
			}
			// The blocks the model saw: from the local prompt, or from the
			// one sent to the peer.
			prompt := echo.Last()
			msgs := prompt
			if tc.wantRemote {
				if len(peers.remote) != 1 || prompt != nil {
					t.Fatalf("want one remote run and no local one, got %d remote, local prompt %v", len(peers.remote), prompt != nil)
				}
				msgs = nil
				for _, m := range peers.remote[0].Messages {
					msgs = append(msgs, sdk.Message{Role: sdk.Role(m.Role), Content: m.Content})
				}
			}
			blocks, err := promptctx.Parse(msgs[0].Content)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range blocks {
				got = append(got, b.NodeID)
			}
			if !slices.Equal(got, tc.wantBlocks) {
				t.Errorf("prompt blocks: want %v, got %v", tc.wantBlocks, got)
			}
			if msgs[1].Content != tc.req.Question {
				t.Errorf("want the question as the user message, got %q", msgs[1].Content)
			}
			if tc.notInPrompt != "" && strings.Contains(msgs[0].Content, tc.notInPrompt) {
				t.Errorf("the prompt holds %q", tc.notInPrompt)
			}
			if len(last.Done.Missing) != len(tc.wantMissing) {
				t.Errorf("want %d missing peers, got %+v", len(tc.wantMissing), last.Done.Missing)
			}
			for _, m := range last.Done.Missing {
				if !strings.Contains(m.Reason, tc.wantMissing[m.NodeID]) || tc.wantMissing[m.NodeID] == "" {
					t.Errorf("missing %s: want a reason with %q, got %q", m.NodeID, tc.wantMissing[m.NodeID], m.Reason)
				}
			}
			var notice string
			for _, e := range events {
				if e.Type == "notice" {
					notice = e.Text
				}
			}
			if !strings.HasPrefix(notice, tc.wantNotice) || (tc.wantNotice == "") != (notice == "") {
				t.Errorf("notice: want %q, got %q", tc.wantNotice, notice)
			}
		})
	}
}
