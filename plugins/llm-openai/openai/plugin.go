package openai

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

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
	setup llmhttp.Holder[*Config]
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
		KeyHint:          fmt.Sprintf("set api_key = env(%q) or api_key_file", keyEnv),
		FirstByteTimeout: llmhttp.Seconds(cfg.TimeoutSeconds),
		IdleTimeout:      llmhttp.Seconds(cfg.IdleTimeoutSeconds),
		Logger:           log.Named("http"),
	})
	p.setup.Set(&llmhttp.Setup[*Config]{Config: cfg, Client: client, Log: log})
	// The key's source, never the key.
	log.Info("configured", "base_url", client.BaseURL(), "model", cfg.Model, "api_key_from", keySource(key),
		"timeout_seconds", cfg.TimeoutSeconds, "idle_timeout_seconds", cfg.IdleTimeoutSeconds)
	llmhttp.WarnKeyInTheClear(log, client)
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
	p.setup.Close()
	return nil
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
	st, err := p.setup.Get(Name)
	if err != nil {
		return nil, err
	}
	var list modelList
	if err := st.Client.GetJSON(ctx, "/models", &list); err != nil {
		return nil, err
	}
	var labels []string
	if llmhttp.IsLoopback(st.Config.BaseURL) {
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
	st.Log.Debug("listed models", "count", len(models))
	return models, nil
}

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model               string            `json:"model"`
	Messages            []llmhttp.Message `json:"messages"`
	Stream              bool              `json:"stream"`
	StreamOptions       *streamOptions    `json:"stream_options,omitempty"`
	Temperature         *float64          `json:"temperature,omitempty"`
	TopP                *float64          `json:"top_p,omitempty"`
	MaxTokens           *int              `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int              `json:"max_completion_tokens,omitempty"`
	Stop                []string          `json:"stop,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// buildRequest maps a GenerateRequest to a chat completions request.
func buildRequest(req sdk.GenerateRequest, model string, official bool) chatRequest {
	cr := chatRequest{
		Model: model, Stream: true, StreamOptions: &streamOptions{IncludeUsage: true},
		Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop,
		Messages: llmhttp.Messages(req.Messages),
	}
	// OpenAI deprecated max_tokens (its reasoning models reject it);
	// compatible servers mostly know only max_tokens.
	if official {
		cr.MaxCompletionTokens = req.MaxTokens
	} else {
		cr.MaxTokens = req.MaxTokens
	}
	return cr
}

// Generate streams the answer from POST /chat/completions.
func (p *Plugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(delta string) error) (sdk.GenerateResult, error) {
	st, err := p.setup.Get(Name)
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	model := cmp.Or(req.Model, st.Config.Model)
	// OpenAI's own API wants max_completion_tokens where compatible servers
	// know max_tokens.
	r := llmhttp.Request{Path: "/chat/completions", Body: buildRequest(req, model, isOpenAI(st.Config.BaseURL)), Model: model}
	return llmhttp.Generate(ctx, st.Client, st.Log, req, r, &answer{client: st.Client, model: model}, emit)
}
