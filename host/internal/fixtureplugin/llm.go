package fixtureplugin

import (
	"context"
	"strings"

	"github.com/dpc-go/dpc/sdk"
)

// LLMName is the fixture model's plugin name (its binary is
// dpc-plugin-fixture-llm).
const LLMName = "fixture-llm"

// echoWords is how many words of the question each streamed piece holds.
const echoWords = 4

// LLM is the fixture model: it streams the last message back, a few words
// a piece, and does no work of its own, so that a benchmark run in-process
// and through its subprocess measures the path to the model and nothing
// else. The host's tests cannot import a first-party plugin (host/go.mod
// does not require them), so this is what they compare against.
type LLM struct{}

// Interface guard.
var _ sdk.LLM = LLM{}

// Info describes the fixture model.
func (LLM) Info() sdk.Info {
	return sdk.Info{Name: LLMName, Version: "1.0.0", Description: "test fixture: echoes the question"}
}

// Configure has nothing to configure.
func (LLM) Configure(context.Context, sdk.ConfigureRequest) error { return nil }

// Shutdown has nothing to release.
func (LLM) Shutdown(context.Context) error { return nil }

// ListModels offers the one echo model.
func (LLM) ListModels(context.Context) ([]sdk.Model, error) {
	return []sdk.Model{{ID: "echo", DisplayName: "Echo", Labels: []string{"local"}}}, nil
}

// Generate streams the last message's words back, the first piece at once.
func (LLM) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(string) error) (sdk.GenerateResult, error) {
	var words []string
	if n := len(req.Messages); n > 0 {
		words = strings.Fields(req.Messages[n-1].Content)
	}
	for i := 0; i < len(words); i += echoWords {
		if err := ctx.Err(); err != nil {
			return sdk.GenerateResult{}, err
		}
		if err := emit(strings.Join(words[i:min(i+echoWords, len(words))], " ") + " "); err != nil {
			return sdk.GenerateResult{}, err
		}
	}
	return sdk.GenerateResult{FinishReason: "stop", Model: "echo", CompletionTokens: len(words)}, nil
}
