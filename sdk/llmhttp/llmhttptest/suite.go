package llmhttptest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/sdktest"
)

// Secret is the API key Suite configures plugins with, and the key the
// fakes it starts accept. No log or error may contain it.
const Secret = "sk-llmhttptest-5f2b9c0e7d1a4c3b-b8e6cdef"

// otherKey is the key of a server that refuses Secret.
const otherKey = "sk-llmhttptest-the-right-one"

// The timeouts of Suite's checks. A plugin normally runs with generous
// ones, so that only a test that wants a timeout gets one, even under the
// race detector on a loaded machine; shortTimeout is for those, and bound
// is how long any failure may take to surface: far above shortTimeout, a
// safety net that only catches a call that hangs.
const (
	normalTimeout = 60 // seconds
	shortTimeout  = 0.2
	bound         = time.Minute
)

// Settings is what Suite configures a plugin with; Adapter.Config turns it
// into the plugin's config.
type Settings struct {
	// URL is the server's URL: a Server's BaseURL, or one at which no
	// server or a silent one listens.
	URL string
	// APIKey and APIKeyFile are the api_key and api_key_file attributes;
	// "" for a plugin without keys.
	APIKey, APIKeyFile string
	// TimeoutSeconds and IdleTimeoutSeconds are the timeout attributes.
	TimeoutSeconds, IdleTimeoutSeconds float64
}

// KeyFrom is where a RequestCase configures the key from.
type KeyFrom int

// Where the key comes from.
const (
	// NoKey configures no key.
	NoKey KeyFrom = iota
	// FromAPIKey sets api_key to Secret.
	FromAPIKey
	// FromAPIKeyFile sets api_key_file to a file holding Secret, with blank
	// lines around it.
	FromAPIKeyFile
)

// Adapter tells Suite about one HTTP LLM plugin. Name, New, Config, Server,
// StreamRoute, Format and Partial are required.
type Adapter struct {
	// Name is the plugin's name, which starts its error messages.
	Name string
	// New returns a new, unconfigured plugin, which must also be
	// sdk.Configurable.
	New func() sdk.LLM
	// Config returns the plugin's config (a pointer to its config struct,
	// defaults filled in) with s applied.
	Config func(s Settings) any
	// Server starts a fake of the plugin's API that accepts only key (""
	// means one that wants no key). It lists at least one model, and
	// answers StreamRoute with a complete recorded answer.
	Server func(t testing.TB, key string) *Server
	// StreamRoute is the route of the streamed answer, "POST /api/chat":
	// Suite replaces its handler for most checks.
	StreamRoute string
	// Format is how the API streams answers.
	Format Format
	// Partial is a first piece of an answer, as the server sends it (an
	// SSE event or an NDJSON line, terminator included), that carries the
	// text "Hel" and does not complete the answer.
	Partial string

	// TakesKey is set for a plugin with api_key and api_key_file: Suite
	// then runs it with Secret, and checks what a wrong key does.
	TakesKey bool
	// WrongKeyText is what the fake's refusal of a wrong key says, which
	// the error should quote ("Incorrect API key provided").
	WrongKeyText string
	// NoKeyHint is set for a plugin that may be configured without a key:
	// the text of the hint its error gives when the server wants one.
	NoKeyHint string

	// Answers are recorded answers, each with what Generate should make
	// of it.
	Answers map[string]AnswerCase
	// Requests are Generate requests, each with the HTTP request it should
	// make.
	Requests map[string]RequestCase
	// Failures are the API's own failures, run with Suite's own ones
	// (a server down, silent, stopping, breaking off or ending early).
	Failures map[string]FailureCase
	// Configs are configs, each valid or with the error it should get.
	Configs map[string]ConfigCase
}

// AnswerCase is a recorded answer and what Generate should make of it.
type AnswerCase struct {
	// File is the recorded answer (a testdata path), streamed in Format.
	File string
	// Model is the model the request names, "" for the default.
	Model string
	// Deltas are the pieces of text passed to emit.
	Deltas []string
	// Result is what Generate returns.
	Result sdk.GenerateResult
}

// RequestCase is a Generate request and the HTTP request it should make to
// StreamRoute. The server answers with its default answer. Suite also
// checks the Accept header, and that the logs have sizes and token counts
// but no key, no text of a message and no text of the answer.
type RequestCase struct {
	Key     KeyFrom
	Request sdk.GenerateRequest
	// Header are headers the request must have, with these values; ""
	// means the header must be absent.
	Header map[string]string
	// Body is the JSON body the request must have (compared as decoded
	// values, not as text).
	Body string
}

// FailureCase is a failing Generate: over gRPC, as dpc sees it, it must
// fail within a few seconds with an error that matches Err and contains
// Texts, after emitting Deltas; in process, its error must match Kind.
type FailureCase struct {
	// URL, if set, returns the URL to configure instead of s.BaseURL.
	URL func(t testing.TB, s *Server) string
	// File, if set, is a testdata file StreamRoute streams in Format;
	// Answer, if set, answers StreamRoute. Neither: the default answer.
	File   string
	Answer http.Handler
	// Model is the model the request names, "" for the default.
	Model string
	// Short gives the plugin timeouts of 200ms.
	Short bool
	// Deltas are what emit gets before the failure.
	Deltas []string
	// Err is the sdk sentinel the error must match over gRPC (nil: any
	// error); Kind, if set, the llmhttp kind it must match in process.
	Err, Kind error
	// Texts are parts of the message.
	Texts []string
}

// ConfigCase is a config (a json.RawMessage or the plugin's config struct)
// and, unless it is valid, the one error Configure should find: at Path,
// saying Text.
type ConfigCase struct {
	Config     any
	Path, Text string
}

// Suite runs the checks every HTTP LLM plugin should pass, and the cases
// of a's tables, as subtests of t run in parallel.
func Suite(t *testing.T, a Adapter) {
	t.Helper()
	if a.Name == "" || a.New == nil || a.Config == nil || a.Server == nil || a.StreamRoute == "" || a.Format.sep == "" || a.Partial == "" {
		t.Fatal("llmhttptest.Suite: the Adapter lacks a required field")
	}
	failures := a.commonFailures()
	for name, tc := range a.Failures {
		if _, ok := failures[name]; ok {
			t.Fatalf("llmhttptest.Suite: the Adapter's failure %q has the name of one of the suite's", name)
		}
		failures[name] = tc
	}
	t.Run("conformance", func(t *testing.T) {
		t.Parallel()
		sdktest.Conformance(t, func() sdk.Plugin { return a.New() }, sdktest.Options{
			Config: func(t testing.TB) any { return a.Config(a.settings(a.server(t))) },
		})
	})
	runEach(t, "answer", a.Answers, a.checkAnswer)
	runEach(t, "request", a.Requests, a.checkRequest)
	runEach(t, "failure", failures, a.checkFailure)
	runEach(t, "config", a.Configs, a.checkConfig)
	t.Run("cancel", a.checkCancel)
	t.Run("emit error", a.checkEmitError)
	t.Run("not configured", a.checkNotConfigured)
	if a.TakesKey {
		t.Run("wrong key", a.checkWrongKey)
		t.Run("schema hides the key", a.checkSchemaHidesKey)
	}
}

// runEach runs check for each case, in parallel subtests of a subtest
// named group.
func runEach[C any](t *testing.T, group string, cases map[string]C, check func(*testing.T, C)) {
	if len(cases) == 0 {
		return
	}
	t.Run(group, func(t *testing.T) {
		t.Parallel()
		for _, name := range slices.Sorted(maps.Keys(cases)) {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				check(t, cases[name])
			})
		}
	})
}

// key is the key of the fakes and of the default settings.
func (a Adapter) key() string {
	if a.TakesKey {
		return Secret
	}
	return ""
}

func (a Adapter) server(t testing.TB) *Server { return a.Server(t, a.key()) }

// settings points the plugin at s, with the key if it takes one.
func (a Adapter) settings(s *Server) Settings {
	return Settings{URL: s.BaseURL, APIKey: a.key(), TimeoutSeconds: normalTimeout, IdleTimeoutSeconds: normalTimeout}
}

// served configures a plugin served over gRPC, as dpc runs it.
func (a Adapter) served(t *testing.T, cfg any) sdk.LLM {
	t.Helper()
	h := sdktest.New(t, a.New())
	if err := h.Configure(t, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return h.Client.LLM
}

// direct configures a plugin in process, logging everything into Logs.
func (a Adapter) direct(t *testing.T, cfg any) (sdk.LLM, *Logs) {
	t.Helper()
	log, logs := NewLogger(a.Name)
	p := a.New()
	if err := p.Configure(context.Background(), sdk.ConfigureRequest{Config: cfg, Logger: log}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, logs
}

func user(s string) sdk.Message { return sdk.Message{Role: sdk.RoleUser, Content: s} }

// generate calls Generate and collects what it emits.
func generate(ctx context.Context, l sdk.LLM, req sdk.GenerateRequest) ([]string, sdk.GenerateResult, error) {
	var deltas []string
	res, err := l.Generate(ctx, req, func(d string) error { deltas = append(deltas, d); return nil })
	return deltas, res, err
}

func (a Adapter) checkAnswer(t *testing.T, tc AnswerCase) {
	s := a.server(t)
	s.Handle(a.StreamRoute, a.Format.File(t, tc.File))
	deltas, res, err := generate(context.Background(), a.served(t, a.Config(a.settings(s))),
		sdk.GenerateRequest{Model: tc.Model, Messages: []sdk.Message{user("Say hello.")}})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if !slices.Equal(deltas, tc.Deltas) {
		t.Errorf("deltas: want %q, got %q", tc.Deltas, deltas)
	}
	if res != tc.Result {
		t.Errorf("result: want %+v, got %+v", tc.Result, res)
	}
}

func (a Adapter) checkRequest(t *testing.T, tc RequestCase) {
	key := Secret
	if tc.Key == NoKey {
		key = ""
	}
	s := a.Server(t, key)
	set := a.settings(s)
	switch tc.Key {
	case NoKey:
		set.APIKey = ""
	case FromAPIKeyFile:
		set.APIKey, set.APIKeyFile = "", TempFile(t, "api.key", "\n"+Secret+"\n")
	}
	p, logs := a.direct(t, a.Config(set))
	deltas, res, err := generate(context.Background(), p, tc.Request)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	r := s.Last(t)
	if got := r.Method + " " + r.Path; got != a.StreamRoute {
		t.Errorf("want %s, got %s", a.StreamRoute, got)
	}
	header := map[string]string{"Accept": a.Format.MediaType()}
	maps.Copy(header, tc.Header)
	for _, h := range slices.Sorted(maps.Keys(header)) {
		if got := r.Header.Get(h); got != header[h] {
			t.Errorf("header %s: want %q, got %q", h, header[h], got)
		}
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(tc.Body), &want); err != nil {
		t.Fatalf("the case's Body: %v", err)
	}
	if got := r.JSON(t); !reflect.DeepEqual(got, want) {
		t.Errorf("request body:\nwant %v\ngot  %v", want, got)
	}
	// Prompts and answers are the user's private messages, and the key is
	// a secret: the logs carry sizes only, at every level.
	out := logs.String()
	if strings.Contains(out, Secret) {
		t.Errorf("the logs contain the API key:\n%s", out)
	}
	for _, m := range tc.Request.Messages {
		if text := strings.TrimSpace(m.Content); len(text) >= 8 && strings.Contains(out, text) {
			t.Errorf("the logs contain the text of a message, %q:\n%s", text, out)
		}
	}
	for _, d := range deltas {
		if text := strings.TrimSpace(d); len(text) >= 5 && strings.Contains(out, text) {
			t.Errorf("the logs contain the text of the answer, %q:\n%s", text, out)
		}
	}
	if want := "completion_tokens=" + strconv.Itoa(res.CompletionTokens); !strings.Contains(out, "prompt_bytes=") || !strings.Contains(out, want) {
		t.Errorf("want debug lines with sizes and usage (prompt_bytes=, %s), got:\n%s", want, out)
	}
}

// commonFailures are the failures of any server, whatever its API.
func (a Adapter) commonFailures() map[string]FailureCase {
	// at is the URL a Server's base path has on another server.
	at := func(root string, s *Server) string { return root + strings.TrimPrefix(s.BaseURL, s.URL) }
	return map[string]FailureCase{
		"server down": {
			URL: func(t testing.TB, s *Server) string { return at(ClosedURL(t), s) },
			Err: sdk.ErrUnavailable, Kind: llmhttp.ErrUnreachable,
			Texts: []string{a.Name + ": server at http://127.0.0.1:", " is not reachable (is it running?)"},
		},
		"accepts and never answers": {
			URL:   func(t testing.TB, s *Server) string { return at(SilentServer(t), s) },
			Short: true,
			Err:   sdk.ErrUnavailable, Kind: llmhttp.ErrTimeout,
			Texts: []string{a.Name + ": no answer from http://127.0.0.1:", "within 200ms"},
		},
		"stops mid-stream": {
			Answer: HangAfter(a.Format.Stream(a.Partial)), Short: true, Deltas: []string{"Hel"},
			Err: sdk.ErrUnavailable, Kind: llmhttp.ErrTimeout,
			Texts: []string{"stopped sending in the middle of the answer (nothing for 200ms)"},
		},
		"connection dropped mid-stream": {
			Answer: a.Format.Drop(a.Partial), Deltas: []string{"Hel"},
			Err: sdk.ErrUnavailable, Kind: llmhttp.ErrDisconnected,
			Texts: []string{a.Name + ": the connection to http://127.0.0.1:", "broke in the middle of the answer"},
		},
		"ends before the answer is complete": {
			Answer: a.Format.Stream(a.Partial), Deltas: []string{"Hel"},
			Err: sdk.ErrUnavailable, Kind: llmhttp.ErrDisconnected,
			Texts: []string{"ended the stream before the answer was complete"},
		},
		"ends without a piece of answer": {
			Answer: a.Format.Stream(), Kind: llmhttp.ErrProtocol,
			Texts: []string{"ended the answer without sending anything (does it support streaming?)"},
		},
	}
}

func (a Adapter) checkFailure(t *testing.T, tc FailureCase) {
	s := a.server(t)
	switch {
	case tc.Answer != nil:
		s.Handle(a.StreamRoute, tc.Answer)
	case tc.File != "":
		s.Handle(a.StreamRoute, a.Format.File(t, tc.File))
	}
	set := a.settings(s)
	if tc.URL != nil {
		set.URL = tc.URL(t, s)
	}
	if tc.Short {
		set.TimeoutSeconds, set.IdleTimeoutSeconds = shortTimeout, shortTimeout
	}
	req := sdk.GenerateRequest{Model: tc.Model, Messages: []sdk.Message{user("hi")}}
	llm := a.served(t, a.Config(set))
	start := time.Now()
	deltas, _, err := generate(context.Background(), llm, req)
	if elapsed := time.Since(start); elapsed > bound {
		t.Errorf("want the failure within %v, took %v", bound, elapsed)
	}
	if err == nil {
		t.Fatalf("want an error, got none (deltas %q)", deltas)
	}
	if tc.Err != nil && !errors.Is(err, tc.Err) {
		t.Errorf("want errors.Is(err, %v), got %v", tc.Err, err)
	}
	for _, text := range tc.Texts {
		if !strings.Contains(err.Error(), text) {
			t.Errorf("want the message to contain %q, got %q", text, err.Error())
		}
	}
	if !slices.Equal(deltas, tc.Deltas) {
		t.Errorf("deltas before the failure: want %q, got %q", tc.Deltas, deltas)
	}
	if strings.Contains(err.Error(), Secret) {
		t.Errorf("the error contains the key: %v", err)
	}
	if tc.Kind == nil {
		return
	}
	// In process the llmhttp kind is still there; over gRPC only the sdk
	// sentinel survives.
	p, logs := a.direct(t, a.Config(set))
	if _, _, err := generate(context.Background(), p, req); !errors.Is(err, tc.Kind) {
		t.Errorf("in process: want errors.Is(err, %v), got %v", tc.Kind, err)
	}
	if strings.Contains(logs.String(), Secret) {
		t.Errorf("the logs contain the API key:\n%s", logs)
	}
}

func (a Adapter) checkConfig(t *testing.T, tc ConfigCase) {
	err := sdktest.New(t, a.New()).Configure(t, tc.Config)
	if tc.Path == "" {
		if err != nil {
			t.Fatalf("want no error, got %v", err)
		}
		return
	}
	ces := sdk.ConfigErrors(err)
	if len(ces) != 1 || strings.Join(ces[0].Path, ".") != tc.Path || !strings.Contains(ces[0].Summary, tc.Text) {
		t.Errorf("want one error at %q containing %q, got %v", tc.Path, tc.Text, err)
	}
	if err != nil && strings.Contains(err.Error(), Secret) {
		t.Errorf("the error contains the key: %v", err)
	}
}

// checkCancel checks that cancelling the context ends Generate promptly,
// with timeouts too long to do it.
func (a Adapter) checkCancel(t *testing.T) {
	t.Parallel()
	s := a.server(t)
	s.Handle(a.StreamRoute, HangAfter(a.Format.Stream(a.Partial)))
	llm := a.served(t, a.Config(a.settings(s)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	_, err := llm.Generate(ctx, sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}}, func(string) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
	if elapsed := time.Since(start); elapsed > bound {
		t.Errorf("want the call stopped promptly, took %v", elapsed)
	}
}

// checkEmitError checks that an emit error ends Generate at once with that
// error, and that the request to the server is abandoned.
func (a Adapter) checkEmitError(t *testing.T) {
	t.Parallel()
	s := a.server(t)
	gone := make(chan struct{})
	s.Handle(a.StreamRoute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.Format.Write(w, a.Partial)
		Hang(r)
		close(gone)
	}))
	p, _ := a.direct(t, a.Config(a.settings(s)))
	errClosed := errors.New("the chat window was closed")
	calls := 0
	_, err := p.Generate(context.Background(), sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}},
		func(string) error { calls++; return errClosed })
	if !errors.Is(err, errClosed) || calls != 1 {
		t.Errorf("want the emit error after one call, got %v after %d", err, calls)
	}
	select {
	case <-gone:
	case <-time.After(bound):
		t.Errorf("the request to the server was not abandoned")
	}
}

func (a Adapter) checkNotConfigured(t *testing.T) {
	t.Parallel()
	p := a.New()
	_, gerr := p.Generate(context.Background(), sdk.GenerateRequest{}, func(string) error { return nil })
	_, lerr := p.ListModels(context.Background())
	if !errors.Is(gerr, sdk.ErrNotConfigured) || !errors.Is(lerr, sdk.ErrNotConfigured) {
		t.Errorf("want sdk.ErrNotConfigured, got %v and %v", gerr, lerr)
	}
}

// checkWrongKey checks what the user reads, over gRPC as dpc sees it, when
// the server refuses the key or wants one, from both Generate and
// ListModels, and that the key appears nowhere.
func (a Adapter) checkWrongKey(t *testing.T) {
	t.Parallel()
	keyFile := TempFile(t, "api.key", Secret)
	tests := map[string]struct {
		key, keyFile string
		texts        []string
	}{
		"api_key": {
			key:   Secret,
			texts: []string{"rejected the API key from api_key (401 Unauthorized): " + a.WrongKeyText},
		},
		"api_key_file": {
			keyFile: keyFile,
			texts:   []string{`rejected the API key from api_key_file "` + keyFile + `" (401 Unauthorized): ` + a.WrongKeyText},
		},
	}
	if a.NoKeyHint != "" {
		tests["none, where one is wanted"] = struct {
			key, keyFile string
			texts        []string
		}{texts: []string{"wants an API key and none is configured (401 Unauthorized)", a.NoKeyHint}}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := a.Server(t, otherKey)
			set := a.settings(s)
			set.APIKey, set.APIKeyFile = tc.key, tc.keyFile
			llm := a.served(t, a.Config(set))
			_, _, gerr := generate(context.Background(), llm, sdk.GenerateRequest{Messages: []sdk.Message{user("hi")}})
			_, lerr := llm.ListModels(context.Background())
			for _, err := range []error{gerr, lerr} {
				if !errors.Is(err, sdk.ErrPermissionDenied) {
					t.Errorf("want sdk.ErrPermissionDenied, got %v", err)
					continue
				}
				for _, text := range append([]string{a.Name + ": server at " + s.BaseURL + " "}, tc.texts...) {
					if !strings.Contains(err.Error(), text) {
						t.Errorf("want the message to contain %q, got %q", text, err.Error())
					}
				}
				if strings.Contains(err.Error(), Secret) {
					t.Errorf("the error contains the key: %v", err)
				}
			}
		})
	}
}

// checkSchemaHidesKey checks that dpc is told api_key is sensitive, so it
// keeps the value out of its own logs and output.
func (a Adapter) checkSchemaHidesKey(t *testing.T) {
	t.Parallel()
	sch, err := sdktest.New(t, a.New()).Client.ConfigSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, attr := range sch.GetAttributes() {
		if attr.GetName() == llmhttp.AttrAPIKey {
			if !attr.GetSensitive() {
				t.Errorf("want api_key declared sensitive, got %v", attr)
			}
			return
		}
	}
	t.Errorf("the schema has no api_key attribute: %v", sch)
}
