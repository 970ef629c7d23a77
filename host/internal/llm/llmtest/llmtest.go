package llmtest

import (
	"context"
	"strings"
	"sync"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
)

// LLM is an in-process sdk.LLM. Its zero value offers no model; it is safe
// for concurrent use.
type LLM struct {
	// Models are what ListModels returns.
	Models []sdk.Model
	// Reply gives the answer to a request, emitted as one piece; nil
	// answers "".
	Reply func(req sdk.GenerateRequest) string
	// Fail, if set, is what Generate returns, having emitted nothing.
	Fail error

	mu    sync.Mutex
	last  []sdk.Message
	lists int
}

var _ sdk.LLM = (*LLM)(nil)

// Offering is an LLM offering models with these ids.
func Offering(ids ...string) *LLM {
	l := &LLM{}
	for _, id := range ids {
		l.Models = append(l.Models, sdk.Model{ID: id})
	}
	return l
}

// Info names the plugin.
func (*LLM) Info() sdk.Info { return sdk.Info{Name: "llmtest", Version: "0.0.1"} }

// Configure accepts anything.
func (*LLM) Configure(context.Context, sdk.ConfigureRequest) error { return nil }

// Shutdown has nothing to release.
func (*LLM) Shutdown(context.Context) error { return nil }

// ListModels returns Models.
func (l *LLM) ListModels(context.Context) ([]sdk.Model, error) {
	l.mu.Lock()
	l.lists++
	l.mu.Unlock()
	return l.Models, nil
}

// Lists returns how many times ListModels was called.
func (l *LLM) Lists() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lists
}

// Generate records the request's messages and emits Reply's answer, or
// returns Fail.
// Usage is counted in words.
func (l *LLM) Generate(_ context.Context, req sdk.GenerateRequest, emit func(string) error) (sdk.GenerateResult, error) {
	l.mu.Lock()
	l.last = req.Messages
	l.mu.Unlock()
	if l.Fail != nil {
		return sdk.GenerateResult{}, l.Fail
	}
	answer := ""
	if l.Reply != nil {
		answer = l.Reply(req)
	}
	if err := emit(answer); err != nil {
		return sdk.GenerateResult{}, err
	}
	return sdk.GenerateResult{FinishReason: "stop", Model: req.Model, CompletionTokens: len(strings.Fields(answer))}, nil
}

// Last returns the messages of the last request, or nil if there was none.
func (l *LLM) Last() []sdk.Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Plugin is one LLM plugin; a nil LLM is configured but not running.
type Plugin struct {
	Name string
	LLM  sdk.LLM
}

// Plugins is llm.Plugins over in-process plugins, in dpc.hcl order.
type Plugins []Plugin

// OfKind returns the ids of the LLM plugins.
func (p Plugins) OfKind(kind sdk.Kind) []string {
	if kind != sdk.KindLLM {
		return nil
	}
	ids := make([]string, len(p))
	for i, x := range p {
		ids[i] = string(sdk.KindLLM) + "/" + x.Name
	}
	return ids
}

// Client returns the running plugin with that id.
func (p Plugins) Client(id string) (*pluginhost.Client, bool) {
	for _, x := range p {
		if string(sdk.KindLLM)+"/"+x.Name == id && x.LLM != nil {
			return &pluginhost.Client{LLM: x.LLM}, true
		}
	}
	return nil, false
}

// Echo is one in-process LLM plugin, "llm-echo", offering model "echo",
// which answers "echo: " and the last message.
func Echo() Plugins {
	return Plugins{{Name: "llm-echo", LLM: &LLM{Models: []sdk.Model{{ID: "echo", ContextLength: 4096}},
		Reply: func(req sdk.GenerateRequest) string { return "echo: " + req.Messages[len(req.Messages)-1].Content }}}}
}
