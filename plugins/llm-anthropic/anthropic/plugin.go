package anthropic

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

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
	setup llmhttp.Holder[*Config]
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
	cfg, err := sdk.ConfigOf[Config](req)
	if err != nil {
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
	p.setup.Set(&llmhttp.Setup[*Config]{Config: cfg, Client: client, Log: log})
	// The key's source, never the key.
	log.Info("configured", "base_url", client.BaseURL(), "model", cfg.Model, "api_key_from", key.Source(),
		"max_tokens", cfg.MaxTokens, "timeout_seconds", cfg.TimeoutSeconds, "idle_timeout_seconds", cfg.IdleTimeoutSeconds)
	llmhttp.WarnKeyInTheClear(log, client)
	return nil
}

// Shutdown closes idle connections.
func (p *Plugin) Shutdown(context.Context) error {
	p.setup.Close()
	return nil
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
	st, err := p.setup.Get(Name)
	if err != nil {
		return nil, err
	}
	var models []sdk.Model
	path := "/v1/models?limit=1000"
	for range maxModelPages {
		var page modelsPage
		if err := st.Client.GetJSON(ctx, path, &page); err != nil {
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
	st.Log.Debug("listed models", "count", len(models))
	return models, nil
}

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string            `json:"model"`
	MaxTokens     int               `json:"max_tokens"`
	System        string            `json:"system,omitempty"`
	Messages      []llmhttp.Message `json:"messages"`
	Stream        bool              `json:"stream"`
	Temperature   *float64          `json:"temperature,omitempty"`
	TopP          *float64          `json:"top_p,omitempty"`
	StopSequences []string          `json:"stop_sequences,omitempty"`
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
			mr.Messages = append(mr.Messages, llmhttp.Message{Role: string(m.Role), Content: m.Content})
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
	st, err := p.setup.Get(Name)
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	model := cmp.Or(req.Model, st.Config.Model)
	body, err := buildRequest(req, model, st.Config.MaxTokens)
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	r := llmhttp.Request{Path: "/v1/messages", Body: body, Model: model}
	log := st.Log.With("max_tokens", body.MaxTokens) // the limit in effect, the request's or the config's
	return llmhttp.Generate(ctx, st.Client, log, req, r, &answer{client: st.Client, model: model}, emit)
}
