package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	llmv1 "github.com/dpc-go/dpc/proto/dpc/llm/v1"
)

// llmPlugin serves and dispenses the LLM service.
type llmPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl LLM
}

// GRPCServer registers the LLM service (plugin side).
func (p *llmPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	llmv1.RegisterLLMServer(s, &llmServer{impl: p.Impl})
	return nil
}

// GRPCClient returns an LLM client; bind it with newLLMClient.
func (p *llmPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return llmv1.NewLLMClient(c), nil
}

var roleToProto = map[Role]llmv1.Message_Role{
	RoleSystem: llmv1.Message_ROLE_SYSTEM, RoleUser: llmv1.Message_ROLE_USER, RoleAssistant: llmv1.Message_ROLE_ASSISTANT,
}

type llmServer struct {
	llmv1.UnimplementedLLMServer
	impl LLM
}

func (s *llmServer) ListModels(ctx context.Context, _ *llmv1.ListModelsRequest) (*llmv1.ListModelsResponse, error) {
	models, err := s.impl.ListModels(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &llmv1.ListModelsResponse{}
	for _, m := range models {
		out.Models = append(out.Models, &llmv1.Model{
			Id: m.ID, DisplayName: m.DisplayName, Description: m.Description,
			ContextLength: uint32(m.ContextLength), Labels: m.Labels,
		})
	}
	return out, nil
}

func (s *llmServer) Generate(req *llmv1.GenerateRequest, stream grpc.ServerStreamingServer[llmv1.GenerateResponse]) error {
	r := GenerateRequest{Model: req.GetModel(), RequestID: req.GetRequestId(), Stop: req.GetOptions().GetStop()}
	for _, m := range req.GetMessages() {
		role := Role("")
		for sr, pr := range roleToProto {
			if pr == m.GetRole() {
				role = sr
			}
		}
		if role == "" {
			return toStatus(fmt.Errorf("%w: message role %v", ErrInvalidArgument, m.GetRole()))
		}
		r.Messages = append(r.Messages, Message{Role: role, Content: m.GetContent()})
	}
	if o := req.GetOptions(); o != nil {
		r.Temperature, r.TopP = o.Temperature, o.TopP
		if o.MaxTokens != nil {
			n := int(o.GetMaxTokens())
			r.MaxTokens = &n
		}
	}
	res, err := s.impl.Generate(stream.Context(), r, func(delta string) error {
		return stream.Send(&llmv1.GenerateResponse{Event: &llmv1.GenerateResponse_Delta{Delta: &llmv1.Delta{Text: delta}}})
	})
	if err != nil {
		return toStatus(err)
	}
	return stream.Send(&llmv1.GenerateResponse{Event: &llmv1.GenerateResponse_Done{Done: &llmv1.Done{
		FinishReason: res.FinishReason, Model: res.Model,
		Usage: &llmv1.Usage{PromptTokens: uint32(res.PromptTokens), CompletionTokens: uint32(res.CompletionTokens)},
	}}})
}

type llmClient struct {
	remotePlugin
	c llmv1.LLMClient
}

// newLLMClient binds a dispensed LLM client to its base.
func newLLMClient(base *baseClient, raw any) LLM {
	return &llmClient{remotePlugin: remotePlugin{base: base}, c: raw.(llmv1.LLMClient)}
}

func (l *llmClient) ListModels(ctx context.Context) ([]Model, error) {
	r, err := l.c.ListModels(ctx, &llmv1.ListModelsRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	var out []Model
	for _, m := range r.GetModels() {
		out = append(out, Model{
			ID: m.GetId(), DisplayName: m.GetDisplayName(), Description: m.GetDescription(),
			ContextLength: int(m.GetContextLength()), Labels: m.GetLabels(),
		})
	}
	return out, nil
}

// ErrStreamEndedEarly means an LLM stream ended without its Done message.
var ErrStreamEndedEarly = errors.New("generation stream ended without a result")

func (l *llmClient) Generate(ctx context.Context, req GenerateRequest, emit func(string) error) (GenerateResult, error) {
	pr := &llmv1.GenerateRequest{Model: req.Model, RequestId: req.RequestID,
		Options: &llmv1.GenerationOptions{Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop}}
	if req.MaxTokens != nil {
		n := uint32(*req.MaxTokens)
		pr.Options.MaxTokens = &n
	}
	for _, m := range req.Messages {
		role, ok := roleToProto[m.Role]
		if !ok {
			return GenerateResult{}, fmt.Errorf("%w: message role %q", ErrInvalidArgument, m.Role)
		}
		pr.Messages = append(pr.Messages, &llmv1.Message{Role: role, Content: m.Content})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := l.c.Generate(ctx, pr)
	if err != nil {
		return GenerateResult{}, fromStatus(err)
	}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return GenerateResult{}, ErrStreamEndedEarly
		}
		if err != nil {
			return GenerateResult{}, fromStatus(err)
		}
		if d := ev.GetDone(); d != nil {
			return GenerateResult{
				FinishReason: d.GetFinishReason(), Model: d.GetModel(),
				PromptTokens: int(d.GetUsage().GetPromptTokens()), CompletionTokens: int(d.GetUsage().GetCompletionTokens()),
			}, nil
		}
		if err := emit(ev.GetDelta().GetText()); err != nil {
			return GenerateResult{}, err
		}
	}
}
