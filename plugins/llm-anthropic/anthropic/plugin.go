package anthropic

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// Name is the plugin's name: the binary is dpc-plugin-llm-anthropic and the
// dpc.hcl block is plugin "llm" "llm-anthropic".
const Name = "llm-anthropic"

// Version is the plugin's own semantic version.
const Version = "0.1.0"

// APIVersion is the anthropic-version header every request carries.
const APIVersion = "2023-06-01"

// maxModelPages bounds ListModels' paging, in case a server keeps saying
// has_more.
const maxModelPages = 20

// Interface guards: the build fails if Plugin stops implementing these.
var (
	_ sdk.LLM          = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
)

// Plugin is the llm-anthropic plugin. Its zero value is ready for Configure
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
}

// Info describes the plugin to dpc (`dpc plugin list`).
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:        Name,
		Version:     Version,
		Description: "Answers with Anthropic's Claude models.",
	}
}

// DefaultConfig implements sdk.Configurable.
func (p *Plugin) DefaultConfig() any { return DefaultConfig() }

// Configure loads the API key and sets up the HTTP client. It contacts no
// server: a later request says clearly if the key is refused.
func (p *Plugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, ok := req.Config.(*Config)
	if !ok || cfg == nil {
		return fmt.Errorf("%s: %w: config of type %T", Name, sdk.ErrInvalidArgument, req.Config)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	key, err := llmhttp.LoadKey(cfg.APIKey, cfg.APIKeyFile)
	if err != nil {
		return err
	}
	log := req.Log()
	client := llmhttp.New(llmhttp.Options{
		Name:             Name,
		BaseURL:          cfg.BaseURL,
		Key:              key,
		KeyHeader:        "x-api-key",
		Header:           http.Header{"Anthropic-Version": {APIVersion}},
		FirstByteTimeout: llmhttp.Seconds(cfg.TimeoutSeconds),
		IdleTimeout:      llmhttp.Seconds(cfg.IdleTimeoutSeconds),
		Logger:           log.Named("http"),
	})
	p.mu.Lock()
	old := p.st
	p.st = &state{cfg: cfg, client: client, log: log}
	p.mu.Unlock()
	if old != nil {
		old.client.Close()
	}
	// The key's source, never the key.
	log.Info("configured", "base_url", client.BaseURL(), "model", cfg.Model, "api_key_from", key.Source(),
		"max_tokens", cfg.MaxTokens, "timeout_seconds", cfg.TimeoutSeconds, "idle_timeout_seconds", cfg.IdleTimeoutSeconds)
	if !llmhttp.IsLoopback(cfg.BaseURL) && strings.HasPrefix(cfg.BaseURL, "http://") {
		log.Warn("the API key goes over plain http to another machine; anyone on the way can read it", "base_url", client.BaseURL())
	}
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

// modelsPage is one page of GET /v1/models.
type modelsPage struct {
	Data []struct {
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		Type        string `json:"type"`
	} `json:"data"`
	HasMore bool   `json:"has_more"`
	LastID  string `json:"last_id"`
}

// ListModels lists the models the key may use, newest first as the API
// orders them.
func (p *Plugin) ListModels(ctx context.Context) ([]sdk.Model, error) {
	st, err := p.state()
	if err != nil {
		return nil, err
	}
	var models []sdk.Model
	path := "/v1/models?limit=1000"
	for range maxModelPages {
		var page modelsPage
		if err := st.client.GetJSON(ctx, path, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Data {
			if m.ID == "" || (m.Type != "" && m.Type != "model") {
				continue
			}
			name := m.DisplayName
			if name == "" {
				name = m.ID
			}
			models = append(models, sdk.Model{ID: m.ID, DisplayName: name})
		}
		if !page.HasMore || page.LastID == "" {
			break
		}
		path = "/v1/models?limit=1000&after_id=" + url.QueryEscape(page.LastID)
	}
	st.log.Debug("listed models", "count", len(models))
	return models, nil
}

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string    `json:"model"`
	MaxTokens     int       `json:"max_tokens"`
	System        string    `json:"system,omitempty"`
	Messages      []message `json:"messages"`
	Stream        bool      `json:"stream"`
	Temperature   *float64  `json:"temperature,omitempty"`
	TopP          *float64  `json:"top_p,omitempty"`
	StopSequences []string  `json:"stop_sequences,omitempty"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// buildRequest maps a GenerateRequest to a Messages API request. The API
// takes system text apart from the turns, and refuses empty turns.
func buildRequest(req sdk.GenerateRequest, model string, maxTokens int) (messagesRequest, error) {
	mr := messagesRequest{
		Model: model, MaxTokens: maxTokens, Stream: true,
		Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop,
	}
	if req.MaxTokens != nil && *req.MaxTokens > 0 {
		mr.MaxTokens = *req.MaxTokens
	}
	var system []string
	for _, m := range req.Messages {
		switch {
		case m.Role == sdk.RoleSystem:
			if strings.TrimSpace(m.Content) != "" {
				system = append(system, m.Content)
			}
		case strings.TrimSpace(m.Content) == "":
		default:
			mr.Messages = append(mr.Messages, message{Role: string(m.Role), Content: m.Content})
		}
	}
	mr.System = strings.Join(system, "\n\n")
	if len(mr.Messages) == 0 {
		return mr, fmt.Errorf("%s: %w: the Anthropic API needs at least one user or assistant message with text", Name, sdk.ErrInvalidArgument)
	}
	return mr, nil
}

// Generate streams the answer from POST /v1/messages.
func (p *Plugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(delta string) error) (sdk.GenerateResult, error) {
	st, err := p.state()
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	model := req.Model
	if model == "" {
		model = st.cfg.Model
	}
	body, err := buildRequest(req, model, st.cfg.MaxTokens)
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	start := time.Now()
	// Sizes only: prompts are the user's private messages.
	st.log.Debug("generating", "request_id", req.RequestID, "model", model, "messages", len(req.Messages),
		"prompt_bytes", promptBytes(req), "max_tokens", body.MaxTokens)

	s, err := st.client.Stream(ctx, llmhttp.Request{Path: "/v1/messages", Body: body, Model: model}, "text/event-stream")
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	defer s.Close()
	a := &answer{client: st.client, model: model}
	answerBytes := 0
	for !a.done {
		ev, err := s.NextEvent()
		if err == io.EOF {
			return sdk.GenerateResult{}, s.EndedEarly()
		}
		if err != nil {
			return sdk.GenerateResult{}, err
		}
		delta, err := a.add(ev)
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
	res := a.result()
	st.log.Debug("generated", "request_id", req.RequestID, "model", res.Model, "finish_reason", res.FinishReason,
		"prompt_tokens", res.PromptTokens, "completion_tokens", res.CompletionTokens,
		"answer_bytes", answerBytes, "duration_ms", time.Since(start).Milliseconds())
	return res, nil
}

// promptBytes is the prompt's size, for logs.
func promptBytes(req sdk.GenerateRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += len(m.Content)
	}
	return n
}
