package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
)

var (
	// ErrNoModels is returned when no running LLM plugin offers a model.
	ErrNoModels = errors.New("no model available")
	// ErrUnknownModel is returned for a model name no running plugin offers.
	ErrUnknownModel = errors.New("unknown model")
)

// Plugins gives the running plugins; *plugins.Manager implements it.
type Plugins interface {
	// OfKind returns the ids ("llm/<name>") of the configured plugins of a
	// kind, in the order of dpc.hcl.
	OfKind(kind sdk.Kind) []string
	// Client returns a running plugin's client.
	Client(id string) (*sdk.PluginClient, bool)
}

// Model is one model of one plugin.
type Model struct {
	// Provider is the plugin's name, e.g. "llm-ollama".
	Provider string `json:"provider"`
	sdk.Model
}

// Ref is the qualified name "<provider>/<model id>".
func (m Model) Ref() string { return m.Provider + "/" + m.ID }

// Registry lists and resolves the models of the running LLM plugins.
type Registry struct {
	plugins Plugins
	log     hclog.Logger
}

// New returns a Registry over the running plugins.
func New(p Plugins, log hclog.Logger) *Registry {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Registry{plugins: p, log: log}
}

// provider is one running LLM plugin.
type provider struct {
	name string
	llm  sdk.LLM
}

func (r *Registry) providers() []provider {
	var out []provider
	for _, id := range r.plugins.OfKind(sdk.KindLLM) {
		pc, ok := r.plugins.Client(id)
		if !ok || pc.LLM == nil {
			continue // not running right now (starting, restarting or failed)
		}
		out = append(out, provider{name: strings.TrimPrefix(id, string(sdk.KindLLM)+"/"), llm: pc.LLM})
	}
	return out
}

// Models lists every model of the running LLM plugins, plugin by plugin in
// the order of dpc.hcl. A plugin that cannot list its models is left out
// (and logged), so one broken provider does not hide the others.
func (r *Registry) Models(ctx context.Context) []Model {
	var out []Model
	for _, p := range r.providers() {
		models, err := p.llm.ListModels(ctx)
		if err != nil {
			r.log.Warn("an LLM plugin could not list its models", "plugin", p.name, "error", err)
			continue
		}
		for _, m := range models {
			out = append(out, Model{Provider: p.name, Model: m})
		}
	}
	return out
}

// Resolve finds the model called name ("id" or "provider/id"; empty: the
// default), optionally only among the models of one provider, and returns
// it with the plugin that runs it.
func (r *Registry) Resolve(ctx context.Context, name, providerName string) (Model, sdk.LLM, error) {
	ps := r.providers()
	if providerName == "" {
		if p, id, ok := strings.Cut(name, "/"); ok {
			providerName, name = p, id
		}
	}
	var all []Model
	for _, p := range ps {
		if providerName != "" && p.name != providerName {
			continue
		}
		models, err := p.llm.ListModels(ctx)
		if err != nil {
			r.log.Warn("an LLM plugin could not list its models", "plugin", p.name, "error", err)
			continue
		}
		for _, m := range models {
			model := Model{Provider: p.name, Model: m}
			if name == "" || m.ID == name {
				return model, p.llm, nil
			}
			all = append(all, model)
		}
	}
	// Ollama's convention: "llama3" is "llama3:latest".
	if name != "" && !strings.Contains(name, ":") {
		for _, m := range all {
			if m.ID == name+":latest" {
				for _, p := range ps {
					if p.name == m.Provider {
						return m, p.llm, nil
					}
				}
			}
		}
	}
	switch {
	case len(all) == 0 && providerName != "":
		return Model{}, nil, fmt.Errorf("%w: no running LLM plugin %q offers a model (see dpc plugin status)", ErrNoModels, providerName)
	case len(all) == 0:
		return Model{}, nil, fmt.Errorf("%w: no LLM plugin is running; enable one in dpc.hcl, e.g. plugin \"llm\" \"llm-local\" {}", ErrNoModels)
	}
	refs := make([]string, len(all))
	for i, m := range all {
		refs[i] = m.Ref()
	}
	return Model{}, nil, fmt.Errorf("%w: %q; the models are %s", ErrUnknownModel, name, strings.Join(refs, ", "))
}
