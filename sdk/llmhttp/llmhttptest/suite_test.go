package llmhttptest_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// toyPlugin is a whole HTTP LLM plugin built the way the first-party ones
// are, for a toy API: GET /v1/models lists {"models":[…]}; POST
// /v1/generate takes {"model","prompt"} with the key in X-Toy-Key and
// streams SSE events {"text"} and a last {"done":true,"model","tokens"}; an
// "error" event reports a failure.
type toyPlugin struct {
	setup llmhttp.Holder[*toyConfig]
}

type toyConfig struct {
	URL                string  `hcl:"url,optional" help:"The toy API's URL."`
	Model              string  `hcl:"model,optional" help:"Model used when a request names none."`
	APIKey             string  `hcl:"api_key,optional" sensitive:"true" help:"API key."`
	APIKeyFile         string  `hcl:"api_key_file,optional" help:"File holding the API key."`
	TimeoutSeconds     float64 `hcl:"timeout_seconds,optional" help:"Seconds to wait for the start of an answer."`
	IdleTimeoutSeconds float64 `hcl:"idle_timeout_seconds,optional" help:"Seconds to wait between pieces of an answer."`
}

const toyName = "llm-toy"

func (c *toyConfig) Validate() error {
	return errors.Join(
		llmhttp.CheckBaseURL("url", c.URL),
		llmhttp.CheckModel(c.Model, "toy-1"),
		llmhttp.CheckKeyConfig(c.APIKey, c.APIKeyFile, true, "TOY_API_KEY"),
		llmhttp.CheckTimeouts(c.TimeoutSeconds, c.IdleTimeoutSeconds),
	)
}

func (p *toyPlugin) Info() sdk.Info {
	return sdk.Info{Name: toyName, Version: "0.0.1", Description: "The toy API."}
}

func (p *toyPlugin) DefaultConfig() any {
	return &toyConfig{URL: "https://toy.example", Model: "toy-1", TimeoutSeconds: 60, IdleTimeoutSeconds: 30}
}

func (p *toyPlugin) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, err := sdk.ConfigOf[toyConfig](req)
	if err != nil {
		return err
	}
	key, err := llmhttp.LoadKey(cfg.APIKey, cfg.APIKeyFile)
	if err != nil {
		return err
	}
	log := req.Log()
	client := llmhttp.New(llmhttp.Options{
		Name: toyName, BaseURL: cfg.URL, Key: key, KeyHeader: "X-Toy-Key",
		FirstByteTimeout: llmhttp.Seconds(cfg.TimeoutSeconds), IdleTimeout: llmhttp.Seconds(cfg.IdleTimeoutSeconds),
		Logger: log.Named("http"),
	})
	p.setup.Set(&llmhttp.Setup[*toyConfig]{Config: cfg, Client: client, Log: log})
	llmhttp.WarnKeyInTheClear(log, client)
	return nil
}

func (p *toyPlugin) Shutdown(context.Context) error { p.setup.Close(); return nil }

func (p *toyPlugin) ListModels(ctx context.Context) ([]sdk.Model, error) {
	st, err := p.setup.Get(toyName)
	if err != nil {
		return nil, err
	}
	var list struct{ Models []string }
	if err := st.Client.GetJSON(ctx, "/v1/models", &list); err != nil {
		return nil, err
	}
	models := make([]sdk.Model, 0, len(list.Models))
	for _, id := range list.Models {
		models = append(models, sdk.Model{ID: id, DisplayName: id})
	}
	return models, nil
}

func (p *toyPlugin) Generate(ctx context.Context, req sdk.GenerateRequest, emit func(string) error) (sdk.GenerateResult, error) {
	st, err := p.setup.Get(toyName)
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	model := cmp.Or(req.Model, st.Config.Model)
	var prompt []string
	for _, m := range req.Messages {
		prompt = append(prompt, string(m.Role)+": "+m.Content)
	}
	body := map[string]any{"model": model, "prompt": prompt}
	return llmhttp.Generate(ctx, st.Client, st.Log, req, llmhttp.Request{Path: "/v1/generate", Body: body, Model: model},
		&toyAnswer{client: st.Client, res: sdk.GenerateResult{Model: model}}, emit)
}

// toyAnswer decodes the toy API's events.
type toyAnswer struct {
	client *llmhttp.Client
	done   bool
	res    sdk.GenerateResult
}

func (a *toyAnswer) Add(ev llmhttp.Event) (string, error) {
	if ev.Type == "error" {
		msg, typ := llmhttp.ErrorMessage([]byte(ev.Data))
		return "", a.client.Errorf(llmhttp.KindOfType(typ), "the toy API reported an error in the middle of the answer: %s", msg)
	}
	var e struct {
		Text   string
		Done   bool
		Model  string
		Tokens int
	}
	if err := json.Unmarshal([]byte(ev.Data), &e); err != nil {
		return "", a.client.Errorf(llmhttp.ErrProtocol, "an event of the answer is not the JSON expected: %v", err)
	}
	if e.Done {
		a.done = true
		a.res = sdk.GenerateResult{FinishReason: "stop", Model: cmp.Or(e.Model, a.res.Model), CompletionTokens: max(e.Tokens, 0)}
	}
	return e.Text, nil
}

func (a *toyAnswer) Done(bool) bool             { return a.done }
func (a *toyAnswer) Result() sdk.GenerateResult { return a.res }

// newToyServer is a fake of the toy API.
func newToyServer(t testing.TB, key string) *llmhttptest.Server {
	s := llmhttptest.NewServer(t, nil)
	s.Check(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("X-Toy-Key") != key {
			llmhttptest.JSON(http.StatusUnauthorized, `{"error":{"message":"bad toy key","type":"authentication_error"}}`)(w, r)
			return false
		}
		return true
	})
	s.Handle("GET /v1/models", llmhttptest.JSON(http.StatusOK, `{"models":["toy-1","toy-2"]}`))
	s.Handle("POST /v1/generate", llmhttptest.SSE.File(t, "testdata/toy_stream.sse"))
	return s
}

// TestSuite runs the suite on the toy plugin: the suite checks itself,
// and the toy shows how a plugin uses it.
func TestSuite(t *testing.T) {
	t.Parallel()
	llmhttptest.Suite(t, llmhttptest.Adapter{
		Name: toyName,
		New:  func() sdk.LLM { return &toyPlugin{} },
		Config: func(s llmhttptest.Settings) any {
			return &toyConfig{URL: s.URL, Model: "toy-1", APIKey: s.APIKey, APIKeyFile: s.APIKeyFile,
				TimeoutSeconds: s.TimeoutSeconds, IdleTimeoutSeconds: s.IdleTimeoutSeconds}
		},
		Server:       newToyServer,
		StreamRoute:  "POST /v1/generate",
		Format:       llmhttptest.SSE,
		Partial:      `data: {"text":"Hel"}` + "\n\n",
		TakesKey:     true,
		WrongKeyText: "bad toy key",
		Answers: map[string]llmhttptest.AnswerCase{
			"recorded": {
				File: "testdata/toy_stream.sse", Deltas: []string{"Hello", ", world"},
				Result: sdk.GenerateResult{FinishReason: "stop", Model: "toy-1-2025", CompletionTokens: 2},
			},
		},
		Requests: map[string]llmhttptest.RequestCase{
			"key from the file": {
				Key:     llmhttptest.FromAPIKeyFile,
				Request: sdk.GenerateRequest{Model: "toy-2", Messages: []sdk.Message{{Role: sdk.RoleUser, Content: "a private question"}}},
				Header:  map[string]string{"X-Toy-Key": llmhttptest.Secret, "Authorization": ""},
				Body:    `{"model":"toy-2","prompt":["user: a private question"]}`,
			},
		},
		Failures: map[string]llmhttptest.FailureCase{
			"error event": {
				File: "testdata/toy_error.sse", Deltas: []string{"Hel"}, Err: sdk.ErrUnavailable, Kind: llmhttp.ErrServer,
				Texts: []string{"llm-toy: the toy API reported an error in the middle of the answer: The toy is broken"},
			},
		},
		Configs: map[string]llmhttptest.ConfigCase{
			"key":    {Config: json.RawMessage(`{"api_key":"k"}`)},
			"no key": {Config: json.RawMessage(`{}`), Path: "api_key", Text: "an API key is required"},
			"negative idle timeout": {
				Config: json.RawMessage(`{"api_key":"k","idle_timeout_seconds":-1}`), Path: "idle_timeout_seconds", Text: "between 0",
			},
		},
	})
}
