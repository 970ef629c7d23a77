package ollama

import (
	"cmp"
	"context"
	"strings"

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
	setup llmhttp.Holder[*Config]
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
	cfg, err := sdk.ConfigOf[Config](req)
	if err != nil {
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
	p.setup.Set(&llmhttp.Setup[*Config]{Config: cfg, Client: client, Log: log})
	log.Info("configured", "host", client.BaseURL(), "model", cfg.Model,
		"timeout_seconds", cfg.TimeoutSeconds, "idle_timeout_seconds", cfg.IdleTimeoutSeconds)
	return nil
}

// Shutdown closes idle connections.
func (p *Plugin) Shutdown(context.Context) error {
	p.setup.Close()
	return nil
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
	st, err := p.setup.Get(Name)
	if err != nil {
		return nil, err
	}
	var tags tagsResponse
	if err := st.Client.GetJSON(ctx, "/api/tags", &tags); err != nil {
		return nil, err
	}
	labels := []string{"ollama"}
	if llmhttp.IsLoopback(st.Config.Host) {
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
	st.Log.Debug("listed models", "count", len(models))
	return models, nil
}

// chatRequest is the body of POST /api/chat.
type chatRequest struct {
	Model    string            `json:"model"`
	Messages []llmhttp.Message `json:"messages"`
	Stream   bool              `json:"stream"`
	Options  *chatOptions      `json:"options,omitempty"`
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
	cr := chatRequest{Model: model, Stream: true, Messages: llmhttp.Messages(req.Messages)}
	o := chatOptions{Temperature: req.Temperature, TopP: req.TopP, NumPredict: req.MaxTokens, Stop: req.Stop}
	if o.Temperature != nil || o.TopP != nil || o.NumPredict != nil || len(o.Stop) > 0 {
		cr.Options = &o
	}
	return cr
}

// Generate streams the answer from POST /api/chat.
func (p *Plugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(delta string) error) (sdk.GenerateResult, error) {
	st, err := p.setup.Get(Name)
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	model := cmp.Or(req.Model, st.Config.Model)
	r := llmhttp.Request{Path: "/api/chat", Body: buildRequest(req, model), Model: model}
	return llmhttp.Generate(ctx, st.Client, st.Log, req, r, &answer{client: st.Client, model: model}, emit)
}
