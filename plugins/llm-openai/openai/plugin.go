package openai

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// Name is the plugin's name: the binary is dpc-plugin-llm-openai and the
// dpc.hcl block is plugin "llm" "llm-openai".
const Name = "llm-openai"

// Version is the plugin's own semantic version.
const Version = "0.1.0"

// Interface guards: the build fails if Plugin stops implementing these.
var (
	_ sdk.LLM          = (*Plugin)(nil)
	_ sdk.Configurable = (*Plugin)(nil)
)

// Plugin is the llm-openai plugin. Its zero value is ready for Configure
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
	// official is OpenAI's own API, which wants max_completion_tokens
	// where compatible servers know max_tokens.
	official bool
}

// Info describes the plugin to dpc (`dpc plugin list`).
func (p *Plugin) Info() sdk.Info {
	return sdk.Info{
		Name:        Name,
		Version:     Version,
		Description: "Answers with OpenAI or any OpenAI-compatible server (llama.cpp, vLLM, LM Studio, …).",
	}
}

// DefaultConfig implements sdk.Configurable.
func (p *Plugin) DefaultConfig() any { return DefaultConfig() }

// Configure loads the API key and sets up the HTTP client. It contacts no
// server: a later request says clearly if it is not there.
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
		KeyHint:          fmt.Sprintf("set api_key = env(%q) or api_key_file", keyEnv),
		FirstByteTimeout: llmhttp.Seconds(cfg.TimeoutSeconds),
		IdleTimeout:      llmhttp.Seconds(cfg.IdleTimeoutSeconds),
		Logger:           log.Named("http"),
	})
	local := llmhttp.IsLoopback(cfg.BaseURL)
	p.mu.Lock()
	old := p.st
	p.st = &state{cfg: cfg, client: client, log: log, local: local, official: isOpenAI(cfg.BaseURL)}
	p.mu.Unlock()
	if old != nil {
		old.client.Close()
	}
	// The key's source, never the key.
	log.Info("configured", "base_url", client.BaseURL(), "model", cfg.Model, "api_key_from", keySource(key),
		"timeout_seconds", cfg.TimeoutSeconds, "idle_timeout_seconds", cfg.IdleTimeoutSeconds)
	if key.IsSet() && !local && strings.HasPrefix(cfg.BaseURL, "http://") {
		log.Warn("the API key goes over plain http to another machine; anyone on the way can read it", "base_url", client.BaseURL())
	}
	return nil
}

// keySource says where the key came from, for the log.
func keySource(k llmhttp.Key) string {
	if !k.IsSet() {
		return "none"
	}
	return k.Source()
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

// modelList is the answer of GET /models.
type modelList struct {
	Data []struct {
		ID      string `json:"id"`
		OwnedBy string `json:"owned_by"`
	} `json:"data"`
}

// ListModels lists the server's models, sorted by ID.
func (p *Plugin) ListModels(ctx context.Context) ([]sdk.Model, error) {
	st, err := p.state()
	if err != nil {
		return nil, err
	}
	var list modelList
	if err := st.client.GetJSON(ctx, "/models", &list); err != nil {
		return nil, err
	}
	var labels []string
	if st.local {
		labels = []string{"local"}
	}
	models := make([]sdk.Model, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID == "" {
			continue
		}
		var desc string
		if m.OwnedBy != "" {
			desc = "owned by " + m.OwnedBy
		}
		models = append(models, sdk.Model{ID: m.ID, DisplayName: m.ID, Description: desc, Labels: labels})
	}
	slices.SortFunc(models, func(a, b sdk.Model) int { return strings.Compare(a.ID, b.ID) })
	st.log.Debug("listed models", "count", len(models))
	return models, nil
}

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []chatMessage  `json:"messages"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options,omitempty"`
	Temperature         *float64       `json:"temperature,omitempty"`
	TopP                *float64       `json:"top_p,omitempty"`
	MaxTokens           *int           `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int           `json:"max_completion_tokens,omitempty"`
	Stop                []string       `json:"stop,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// buildRequest maps a GenerateRequest to a chat completions request.
func buildRequest(req sdk.GenerateRequest, model string, official bool) chatRequest {
	cr := chatRequest{
		Model: model, Stream: true, StreamOptions: &streamOptions{IncludeUsage: true},
		Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop,
		Messages: make([]chatMessage, 0, len(req.Messages)),
	}
	// OpenAI deprecated max_tokens (its reasoning models reject it);
	// compatible servers mostly know only max_tokens.
	if official {
		cr.MaxCompletionTokens = req.MaxTokens
	} else {
		cr.MaxTokens = req.MaxTokens
	}
	for _, m := range req.Messages {
		cr.Messages = append(cr.Messages, chatMessage{Role: string(m.Role), Content: m.Content})
	}
	return cr
}

// Generate streams the answer from POST /chat/completions.
func (p *Plugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(delta string) error) (sdk.GenerateResult, error) {
	st, err := p.state()
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	model := req.Model
	if model == "" {
		model = st.cfg.Model
	}
	start := time.Now()
	// Sizes only: prompts are the user's private messages.
	st.log.Debug("generating", "request_id", req.RequestID, "model", model, "messages", len(req.Messages), "prompt_bytes", promptBytes(req))

	s, err := st.client.Stream(ctx, llmhttp.Request{
		Path: "/chat/completions", Body: buildRequest(req, model, st.official), Model: model,
	}, "text/event-stream")
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	defer s.Close()
	a := &answer{client: st.client, model: model}
	answerBytes := 0
	for !a.done {
		ev, err := s.NextEvent()
		if err == io.EOF {
			// Some servers end without [DONE]; an answer with its finish
			// reason is complete all the same.
			if a.finish != "" {
				break
			}
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
