package hostside

import (
	"context"
	"errors"
	"fmt"
	"io"

	llmv1 "github.com/dpc-go/dpc/proto/dpc/llm/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

type llmClient struct {
	remotePlugin
	c llmv1.LLMClient
}

// newLLMClient binds a dispensed LLM client to its base.
func newLLMClient(base *Base, raw any) sdk.LLM {
	return &llmClient{remotePlugin: remotePlugin{base: base}, c: raw.(llmv1.LLMClient)}
}

func (l *llmClient) ListModels(ctx context.Context) ([]sdk.Model, error) {
	r, err := l.c.ListModels(ctx, &llmv1.ListModelsRequest{})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	var out []sdk.Model
	for _, m := range r.GetModels() {
		out = append(out, sdk.Model{
			ID: m.GetId(), DisplayName: m.GetDisplayName(), Description: m.GetDescription(),
			ContextLength: int(m.GetContextLength()), Labels: m.GetLabels(),
		})
	}
	return out, nil
}

// ErrStreamEndedEarly means an LLM stream ended without its Done message.
var ErrStreamEndedEarly = errors.New("generation stream ended without a result")

func (l *llmClient) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(string) error) (sdk.GenerateResult, error) {
	pr := &llmv1.GenerateRequest{Model: req.Model, RequestId: req.RequestID,
		Options: &llmv1.GenerationOptions{Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop}}
	if req.MaxTokens != nil {
		n := uint32(*req.MaxTokens)
		pr.Options.MaxTokens = &n
	}
	for _, m := range req.Messages {
		role, ok := wire.RoleToProto[string(m.Role)]
		if !ok {
			return sdk.GenerateResult{}, fmt.Errorf("%w: message role %q", sdk.ErrInvalidArgument, m.Role)
		}
		pr.Messages = append(pr.Messages, &llmv1.Message{Role: role, Content: m.Content})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := l.c.Generate(ctx, pr)
	if err != nil {
		return sdk.GenerateResult{}, wire.FromStatus(err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return sdk.GenerateResult{}, ErrStreamEndedEarly
		}
		if err != nil {
			return sdk.GenerateResult{}, wire.FromStatus(err)
		}
		if d := ev.GetDone(); d != nil {
			return sdk.GenerateResult{
				FinishReason: d.GetFinishReason(), Model: d.GetModel(),
				PromptTokens: int(d.GetUsage().GetPromptTokens()), CompletionTokens: int(d.GetUsage().GetCompletionTokens()),
			}, nil
		}
		if err := emit(ev.GetDelta().GetText()); err != nil {
			return sdk.GenerateResult{}, err
		}
	}
}
