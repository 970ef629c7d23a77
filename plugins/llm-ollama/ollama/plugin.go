package ollama

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// Name is the plugin's name: the binary is dpc-plugin-llm-ollama and the
// dpc.hcl block is plugin "llm" "llm-ollama".
const Name = "llm-ollama"

// Version is the plugin's own semantic version.
const Version = "0.1.0"

// Interface guards: the build fails if Plugin stops implementing these.
var (
	_ sdk.LLM          = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
)

// Plugin is the llm-ollama plugin. Its zero value is ready for Configure
// and has no side effects; it is safe for concurrent use.
type Plugin struct {
	mu sync.RWMutex
	st *state
}

// state is what Configure sets up.
type state struct {
	cfg    *Config
	client *llmhttp.Client
	log    hclog.Logger
	local  bool
}

// Info describes the plugin to dpc (`dpc plugin list`).
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:        Name,
		Version:     Version,
		Description: "Answers with models served by Ollama.",
	}
}

// DefaultConfig implements sdk.Configurable.
func (p *Plugin) DefaultConfig() any { return DefaultConfig() }

// Configure sets up the HTTP client. It contacts no server: Ollama may be
// started after dpc, and a later request says clearly if it is not there.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, ok := req.Config.(*Config)
	if !ok || cfg == nil {
		return fmt.Errorf("%s: %w: config of type %T", Name, sdk.ErrInvalidArgument, req.Config)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := req.Log()
	client := llmhttp.New(llmhttp.Options{
		Name:             Name,
		BaseURL:          cfg.Host,
		FirstByteTimeout: llmhttp.Seconds(cfg.TimeoutSeconds),
		IdleTimeout:      llmhttp.Seconds(cfg.IdleTimeoutSeconds),
		Logger:           log.Named("http"),
	})
	p.mu.Lock()
	old := p.st
	p.st = &state{cfg: cfg, client: client, log: log, local: llmhttp.IsLoopback(cfg.Host)}
	p.mu.Unlock()
	if old != nil {
		old.client.Close()
	}
	log.Info("configured", "host", client.BaseURL(), "model", cfg.Model,
		"timeout_seconds", cfg.TimeoutSeconds, "idle_timeout_seconds", cfg.IdleTimeoutSeconds)
	return nil
}

// Shutdown closes idle connections.
func (p *Plugin) Shutdown(context.Context) error {
	p.mu.Lock()
	st := p.st
	p.st = nil
	p.mu.Unlock()
	if st != nil {
		st.client.Close()
	}
	return nil
}

func (p *Plugin) state() (*state, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.st == nil {
		return nil, fmt.Errorf("%s: %w", Name, sdk.ErrNotConfigured)
	}
	return p.st, nil
}

// tagsResponse is the answer of GET /api/tags.
type tagsResponse struct {
	Models []struct {
		Name    string `json:"name"`
		Model   string `json:"model"`
		Details struct {
			Family            string `json:"family"`
			ParameterSize     string `json:"parameter_size"`
			QuantizationLevel string `json:"quantization_level"`
		} `json:"details"`
	} `json:"models"`
}

// ListModels lists the models the server has pulled.
func (p *Plugin) ListModels(ctx context.Context) ([]sdk.Model, error) {
	st, err := p.state()
	if err != nil {
		return nil, err
	}
	var tags tagsResponse
	if err := st.client.GetJSON(ctx, "/api/tags", &tags); err != nil {
		return nil, err
	}
	labels := []string{"ollama"}
	if st.local {
		labels = append(labels, "local")
	}
	models := make([]sdk.Model, 0, len(tags.Models))
	for _, m := range tags.Models {
		id := m.Name
		if id == "" {
			id = m.Model
		}
		if id == "" {
			continue
		}
		var desc []string
		for _, s := range []string{m.Details.Family, m.Details.ParameterSize, m.Details.QuantizationLevel} {
			if s != "" {
				desc = append(desc, s)
			}
		}
		models = append(models, sdk.Model{ID: id, DisplayName: id, Description: strings.Join(desc, " · "), Labels: labels})
	}
	st.log.Debug("listed models", "count", len(models))
	return models, nil
}

// chatRequest is the body of POST /api/chat.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
	Options  *chatOptions  `json:"options,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatOptions are the sampling settings; unset ones are left to the model.
type chatOptions struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	NumPredict  *int     `json:"num_predict,omitempty"`
	Stop        []string `json:"stop,omitempty"`
}

// buildRequest maps a GenerateRequest to Ollama's chat request.
func buildRequest(req sdk.GenerateRequest, model string) chatRequest {
	cr := chatRequest{Model: model, Stream: true, Messages: make([]chatMessage, 0, len(req.Messages))}
	for _, m := range req.Messages {
		cr.Messages = append(cr.Messages, chatMessage{Role: string(m.Role), Content: m.Content})
	}
	o := chatOptions{Temperature: req.Temperature, TopP: req.TopP, NumPredict: req.MaxTokens, Stop: req.Stop}
	if o.Temperature != nil || o.TopP != nil || o.NumPredict != nil || len(o.Stop) > 0 {
		cr.Options = &o
	}
	return cr
}

// Generate streams the answer from POST /api/chat.
func (p *Plugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(delta string) error) (sdk.GenerateResult, error) {
	st, err := p.state()
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	model := req.Model
	if model == "" {
		model = st.cfg.Model
	}
	body := buildRequest(req, model)
	start := time.Now()
	// Sizes only: prompts are the user's private messages.
	st.log.Debug("generating", "request_id", req.RequestID, "model", model, "messages", len(req.Messages), "prompt_bytes", promptBytes(req))

	s, err := st.client.Stream(ctx, llmhttp.Request{Path: "/api/chat", Body: body, Model: model}, "application/x-ndjson")
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	defer s.Close()
	a := &answer{client: st.client, model: model}
	answerBytes := 0
	for !a.done {
		line, err := s.NextLine()
		if err == io.EOF {
			return sdk.GenerateResult{}, s.EndedEarly()
		}
		if err != nil {
			return sdk.GenerateResult{}, err
		}
		delta, err := a.add(line)
		if err != nil {
			return sdk.GenerateResult{}, err
		}
		if delta == "" {
			continue
		}
		answerBytes += len(delta)
		if err := emit(delta); err != nil {
			return sdk.GenerateResult{}, err
		}
	}
	st.log.Debug("generated", "request_id", req.RequestID, "model", a.result.Model, "finish_reason", a.result.FinishReason,
		"prompt_tokens", a.result.PromptTokens, "completion_tokens", a.result.CompletionTokens,
		"answer_bytes", answerBytes, "duration_ms", time.Since(start).Milliseconds())
	return a.result, nil
}

// promptBytes is the prompt's size, for logs.
func promptBytes(req sdk.GenerateRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += len(m.Content)
	}
	return n
}
