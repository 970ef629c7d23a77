package llmlocal

import (
	"context"
	"fmt"
	"strings"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/promptctx"
)

// Name is the plugin's name: the binary is dpc-plugin-llm-local and the
// dpc.hcl block is plugin "llm" "llm-local".
const Name = "llm-local"

// Version is the plugin's own semantic version.
const Version = "0.1.0"

// ModelID is the one model the plugin offers.
const ModelID = "retrieval"

// Interface guards: the build fails if Plugin stops implementing these.
var (
	_ sdk.LLM          = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
)

// Plugin is the llm-local plugin. Its zero value is ready for Configure and
// has no side effects; it is safe for concurrent use.
type Plugin struct {
	// config holds the config and logger Configure was given; it is safe
	// for concurrent use, so the plugin needs no lock of its own.
	config sdk.Config[Config]
}

// Info describes the plugin to dpc (`dpc plugin list`).
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:        Name,
		Version:     Version,
		Description: "Built-in answers without a model: lists the context entries that best match the question.",
	}
}

// DefaultConfig implements sdk.Configurable.
func (p *Plugin) DefaultConfig() any { return DefaultConfig() }

// Configure receives the decoded config. It may be called again (after a
// restart, or to apply a new config), so it only replaces state.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, log, err := p.config.Set(req)
	if err != nil {
		return err
	}
	log.Info("configured", "max_results", cfg.MaxResults)
	return nil
}

// Shutdown has nothing to release.
func (p *Plugin) Shutdown(context.Context) error { return nil }

// ListModels offers the one model.
func (p *Plugin) ListModels(context.Context) ([]sdk.Model, error) {
	return []sdk.Model{{
		ID:          ModelID,
		DisplayName: "Local retrieval",
		Description: "No language model: answers with the entries of the given context that best match the question.",
		Labels:      []string{"local", "retrieval"},
	}}, nil
}

// Generate answers the last user message from the context blocks in the
// system messages, one line per emit (lines after the first start with
// "\n"). Usage is counted in words: the prompt's words across all messages
// and the answer's words. MaxTokens cuts the answer after that many words
// (finish reason "length"); a Stop string cuts it before the string's first
// occurrence. Temperature and TopP do not apply: the answer is
// deterministic.
func (p *Plugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(delta string) error) (sdk.GenerateResult, error) {
	cfg, log, err := p.config.Get()
	if err != nil {
		return sdk.GenerateResult{}, fmt.Errorf("%s: %w", Name, err)
	}
	if req.Model != "" && req.Model != ModelID {
		return sdk.GenerateResult{}, fmt.Errorf("%s: %w: model %q (this plugin has only %q)", Name, sdk.ErrNotFound, req.Model, ModelID)
	}
	if req.MaxTokens != nil && *req.MaxTokens < 0 {
		return sdk.GenerateResult{}, fmt.Errorf("%s: %w: max tokens %d", Name, sdk.ErrInvalidArgument, *req.MaxTokens)
	}
	if err := ctx.Err(); err != nil {
		return sdk.GenerateResult{}, err
	}

	var blocks []promptctx.Block
	promptWords, question := 0, ""
	for i, m := range req.Messages {
		promptWords += len(strings.Fields(m.Content))
		switch m.Role {
		case sdk.RoleUser:
			question = m.Content
		case sdk.RoleSystem:
			bs, err := promptctx.Parse(m.Content)
			if err != nil {
				return sdk.GenerateResult{}, fmt.Errorf("%s: %w: message %d: %w", Name, sdk.ErrInvalidArgument, i+1, err)
			}
			blocks = append(blocks, bs...)
		}
	}

	lines := cutAtStop(answer(blocks, question, cfg.MaxResults), req.Stop)
	finish, budget := "stop", -1
	if req.MaxTokens != nil {
		budget = *req.MaxTokens
	}
	answerWords := 0
	for i, line := range lines {
		if err := ctx.Err(); err != nil {
			return sdk.GenerateResult{}, err
		}
		if w := strings.Fields(line); budget >= 0 && len(w) > budget-answerWords {
			finish, line = "length", strings.Join(w[:budget-answerWords], " ")
			if line == "" {
				break
			}
		}
		if i > 0 {
			line = "\n" + line
		}
		if err := emit(line); err != nil {
			return sdk.GenerateResult{}, err
		}
		answerWords += len(strings.Fields(line))
		if finish == "length" {
			break
		}
	}
	// Sizes only: the prompt and the answer are the user's private data.
	log.Debug("answered", "request_id", req.RequestID, "context_blocks", len(blocks),
		"prompt_words", promptWords, "answer_words", answerWords, "finish_reason", finish)
	return sdk.GenerateResult{
		FinishReason:     finish,
		Model:            ModelID,
		PromptTokens:     promptWords,
		CompletionTokens: answerWords,
	}, nil
}

// cutAtStop ends the answer before the first occurrence of any stop string.
func cutAtStop(lines []string, stop []string) []string {
	text := strings.Join(lines, "\n")
	cut := len(text)
	for _, s := range stop {
		if i := strings.Index(text, s); s != "" && i >= 0 && i < cut {
			cut = i
		}
	}
	if cut == len(text) {
		return lines
	}
	if cut == 0 {
		return nil
	}
	return strings.Split(text[:cut], "\n")
}
