package intel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/intel"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
	"github.com/dpc-go/dpc/sdk"
)

// computeRules let every contact run prompts on model "m".
const computeRules = `rule "group" "contacts" { allow = ["compute", "model:m"] }
rule "scope" "default" { allow = ["context:*"] }`

// contacts says every node is a contact.
type contacts struct{}

func (contacts) IsContact(string) bool { return true }

// TestGetProvidersFloodCallsPluginsOnce: a peer (or many) asking for the
// model list again and again must not make this node call its LLM plugins
// (a cloud API, with the user's key) each time.
func TestGetProvidersFloodCallsPluginsOnce(t *testing.T) {
	t.Parallel()
	plugin := llmtest.Offering("m")
	r := &intel.Responder{Context: newFixedContext(map[string]any{}), Firewall: loadRules(t, computeRules), Contacts: contacts{},
		Models: llm.New(llmtest.Plugins{{Name: "llm-cloud", LLM: plugin}}, nil)}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if got := r.ProvidersFor(context.Background(), bobID); len(got) != 1 || got[0].Model != "m" {
				t.Errorf("ProvidersFor: want model m, got %+v", got)
			}
		})
	}
	wg.Wait()
	if n := plugin.Lists(); n != 1 {
		t.Errorf("50 GET_PROVIDERS called ListModels %d times, want once", n)
	}
}

// TestInferenceErrorDoesNotLeakBaseURL: a model's failure is told to the
// peer as a kind, never with the plugin's message, which names the server
// (a LAN host, a proxy with a key in its URL); the detail goes to the log.
func TestInferenceErrorDoesNotLeakBaseURL(t *testing.T) {
	t.Parallel()
	const detail = `Post "http://10.1.2.3:11434/api/chat?key=sk-secret": dial tcp 10.1.2.3:11434: connection refused`
	tests := map[string]struct {
		err  error
		want string
	}{
		"server down":         {err: fmt.Errorf("%w: %s", sdk.ErrUnavailable, detail), want: "the model is unavailable right now"},
		"model gone":          {err: fmt.Errorf("%w: %s", sdk.ErrNotFound, detail), want: "the model is unavailable right now"},
		"key rejected":        {err: fmt.Errorf("%w: %s", sdk.ErrPermissionDenied, detail), want: "the model is unavailable right now"},
		"prompt refused":      {err: fmt.Errorf("%w: %s", sdk.ErrInvalidArgument, detail), want: "the model refused the prompt (too long or malformed)"},
		"an error of no kind": {err: errors.New(detail), want: "the model failed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var logged bytes.Buffer
			r := &intel.Responder{Context: newFixedContext(map[string]any{}), Firewall: loadRules(t, computeRules), Contacts: contacts{},
				Models: llm.New(llmtest.Plugins{{Name: "llm-ollama", LLM: &llmtest.LLM{Models: []sdk.Model{{ID: "m"}}, Fail: tc.err}}}, nil),
				Log:    hclog.New(&hclog.LoggerOptions{Output: &logged})}
			resp := r.Infer(context.Background(), bobID, dptp.RemoteInferenceRequest{RequestID: "r1", Prompt: "hi", Model: "m"},
				func(string) error { return nil })
			if resp.Status != dptp.StatusError || resp.Code != dptp.CodeInternal || resp.Error != tc.want {
				t.Errorf("want an internal_error %q, got %+v", tc.want, resp)
			}
			for _, secret := range []string{"10.1.2.3", "http", "sk-secret"} {
				if strings.Contains(resp.Error, secret) {
					t.Errorf("the answer to the peer holds %q: %q", secret, resp.Error)
				}
			}
			if !strings.Contains(logged.String(), "10.1.2.3") {
				t.Errorf("want the detail in the local log, got %q", logged.String())
			}
		})
	}
}

// endless is a model that answers in 64 KiB pieces until told to stop.
type endless struct {
	*llmtest.LLM
	wrote int
}

func (e *endless) Generate(_ context.Context, _ sdk.GenerateRequest, emit func(string) error) (sdk.GenerateResult, error) {
	piece := strings.Repeat("x", 64<<10)
	for e.wrote < 64<<20 {
		if err := emit(piece); err != nil {
			return sdk.GenerateResult{}, err
		}
		e.wrote += len(piece)
	}
	return sdk.GenerateResult{FinishReason: "stop"}, nil
}

// TestEndlessAnswerIsBounded: a prompt whose answer never ends (a peer
// asking for "the digits of pi") stops once the answer the node holds for
// the final response outgrows a frame, instead of growing in memory.
func TestEndlessAnswerIsBounded(t *testing.T) {
	t.Parallel()
	model := &endless{LLM: llmtest.Offering("m")}
	r := &intel.Responder{Context: newFixedContext(map[string]any{}), Firewall: loadRules(t, computeRules), Contacts: contacts{},
		Models: llm.New(llmtest.Plugins{{Name: "llm-x", LLM: model}}, nil)}
	resp := r.Infer(context.Background(), bobID, dptp.RemoteInferenceRequest{RequestID: "r1", Prompt: "pi", Model: "m"},
		func(string) error { return nil })
	if resp.Status != dptp.StatusError || !strings.Contains(resp.Error, "ask for a shorter one") || model.wrote > intel.MaxAnswer {
		t.Errorf("want the model stopped at %d bytes with an error, it wrote %d: %+v", intel.MaxAnswer, model.wrote, resp.Status+" "+resp.Error)
	}
}
