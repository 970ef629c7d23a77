package echo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// Name is the plugin's name: the binary is dpc-plugin-llm-echo and the
// dpc.hcl block is plugin "llm" "llm-echo".
const Name = "llm-echo"

// Version is the plugin's own semantic version.
const Version = "0.1.0"

// ModelID is the one model the plugin offers.
const ModelID = "echo"

// Interface guards: the build fails if Plugin stops implementing these.
var (
	_ sdk.LLM          = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
)

// Plugin is the llm-echo plugin. Its zero value is ready for Configure and
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
		Description: "Example LLM: streams your last message back, word by word.",
	}
}

// DefaultConfig implements sdk.Configurable.
func (p *Plugin) DefaultConfig() any { return DefaultConfig() }

// Configure receives the decoded, validated config. It may be called again
// (after a restart, or to apply a new config), so it only replaces state.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, log, err := p.config.Set(req)
	if err != nil {
		return err
	}
	log.Info("configured", "prefix", cfg.Prefix, "delay_ms", cfg.DelayMS)
	return nil
}

// Shutdown has nothing to release.
func (p *Plugin) Shutdown(context.Context) error { return nil }

// ListModels offers the one model.
func (p *Plugin) ListModels(context.Context) ([]sdk.Model, error) {
	return []sdk.Model{{
		ID:          ModelID,
		DisplayName: "Echo",
		Description: "Repeats your last message back, word by word.",
		Labels:      []string{"local", "example"},
	}}, nil
}

// Generate streams the prefix and the words of the last user message, one
// word per emit. Usage is counted in words: the prompt's words across all
// messages, and the answer's words (prefix included). With MaxTokens set, the
// answer stops after that many words with finish reason "length".
func (p *Plugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(delta string) error) (sdk.GenerateResult, error) {
	cfg, log, err := p.config.Get()
	if err != nil {
		return sdk.GenerateResult{}, fmt.Errorf("%s: %w", Name, err)
	}
	if req.Model != "" && req.Model != ModelID {
		return sdk.GenerateResult{}, fmt.Errorf("%s: %w: model %q (this plugin has only %q)", Name, sdk.ErrNotFound, req.Model, ModelID)
	}

	promptWords, last := 0, ""
	for _, m := range req.Messages {
		promptWords += len(strings.Fields(m.Content))
		if m.Role == sdk.RoleUser {
			last = m.Content
		}
	}
	words := strings.Fields(last)
	finish := "stop"
	if req.MaxTokens != nil && *req.MaxTokens >= 0 && len(words) > *req.MaxTokens {
		words, finish = words[:*req.MaxTokens], "length"
	}
	// Log sizes, never content: prompts are the user's private messages.
	log.Debug("generating", "request_id", req.RequestID, "prompt_words", promptWords, "answer_words", len(words))

	var answer strings.Builder
	send := func(delta string) error {
		answer.WriteString(delta)
		return emit(delta)
	}
	delay := time.Duration(cfg.DelayMS) * time.Millisecond
	for i, w := range words {
		delta := " " + w
		if i == 0 {
			delta = cfg.Prefix + w
		} else if err := sleep(ctx, delay); err != nil {
			return sdk.GenerateResult{}, err
		}
		if err := ctx.Err(); err != nil {
			return sdk.GenerateResult{}, err
		}
		if err := send(delta); err != nil {
			return sdk.GenerateResult{}, err
		}
	}
	if len(words) == 0 && cfg.Prefix != "" {
		if err := send(cfg.Prefix); err != nil {
			return sdk.GenerateResult{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return sdk.GenerateResult{}, err
	}
	return sdk.GenerateResult{
		FinishReason:     finish,
		Model:            ModelID,
		PromptTokens:     promptWords,
		CompletionTokens: len(strings.Fields(answer.String())),
	}, nil
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
