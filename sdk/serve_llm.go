package sdk

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	llmv1 "github.com/dpc-go/dpc/proto/dpc/llm/v1"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

type llmServer struct {
	llmv1.UnimplementedLLMServer
	impl LLM
}

func (s *llmServer) ListModels(ctx context.Context, _ *llmv1.ListModelsRequest) (*llmv1.ListModelsResponse, error) {
	models, err := s.impl.ListModels(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
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
		for sr, pr := range wire.RoleToProto {
			if pr == m.GetRole() {
				role = Role(sr)
			}
		}
		if role == "" {
			return wire.ToStatus(fmt.Errorf("%w: message role %v", ErrInvalidArgument, m.GetRole()))
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
		return wire.ToStatus(err)
	}
	return stream.Send(&llmv1.GenerateResponse{Event: &llmv1.GenerateResponse_Done{Done: &llmv1.Done{
		FinishReason: res.FinishReason, Model: res.Model,
		Usage: &llmv1.Usage{PromptTokens: uint32(res.PromptTokens), CompletionTokens: uint32(res.CompletionTokens)},
	}}})
}
