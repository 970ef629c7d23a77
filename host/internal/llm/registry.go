package llm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/pluginhost"
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
	Client(id string) (*pluginhost.Client, bool)
}

// Model is one model of one plugin.
type Model struct {
	// Provider is the plugin's name, e.g. "llm-ollama".
	Provider string `json:"provider"`
	sdk.Model
}

// Ref is the qualified name "<provider>/<model id>".
func (m Model) Ref() string { return m.Provider + "/" + m.ID }

// DefaultModelsTTL is how long a listing of the plugins' models is reused.
// Peers can ask for the list (GET_PROVIDERS) as often as they like, and a
// cloud plugin's ListModels is a call to its API with the user's key.
const DefaultModelsTTL = 30 * time.Second

// listTimeout bounds one listing, which runs for every caller waiting on it
// and so not under any one caller's context.
const listTimeout = 30 * time.Second

// Registry lists and resolves the models of the running LLM plugins. The
// listing is shared: callers within DefaultModelsTTL of it, or while it
// runs, get it without asking the plugins again; a plugin that starts,
// stops or restarts (a new configuration means a restart) makes it stale.
type Registry struct {
	plugins Plugins
	log     hclog.Logger
	ttl     time.Duration
	now     func() time.Time

	mu      sync.Mutex
	cached  *listing
	running chan struct{} // closed when the listing in progress ends; nil when none runs
}

// listing is the models of a set of running plugins, as listed at a time.
type listing struct {
	of     []provider
	offers []offer
	at     time.Time
}

// offer is a model with the plugin that runs it.
type offer struct {
	Model
	llm sdk.LLM
}

// New returns a Registry over the running plugins.
func New(p Plugins, log hclog.Logger) *Registry {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Registry{plugins: p, log: log, ttl: DefaultModelsTTL, now: time.Now}
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

// sameProviders tells whether two sets of running plugins are the same
// processes: a restarted plugin has a new client. (Plugin clients are
// pointers, so comparing them is comparing identities.)
func sameProviders(a, b []provider) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || a[i].llm != b[i].llm {
			return false
		}
	}
	return true
}

// offers returns the models of the running plugins: the shared listing
// while it is fresh, else a new one, which concurrent callers wait for
// rather than each asking the plugins. It is nil only when ctx ends while
// waiting.
func (r *Registry) offers(ctx context.Context) []offer {
	running := r.providers()
	r.mu.Lock()
	for {
		if c := r.cached; c != nil && sameProviders(c.of, running) && r.now().Sub(c.at) < r.ttl {
			r.mu.Unlock()
			return c.offers
		}
		if r.running == nil {
			break
		}
		wait := r.running
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil
		}
		r.mu.Lock()
	}
	done := make(chan struct{})
	r.running = done
	r.mu.Unlock()

	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listTimeout)
	defer cancel()
	var all []offer
	for _, p := range running {
		models, err := p.llm.ListModels(lctx)
		if err != nil {
			r.log.Warn("an LLM plugin could not list its models", "plugin", p.name, "error", err)
			continue
		}
		for _, m := range models {
			all = append(all, offer{Model{Provider: p.name, Model: m}, p.llm})
		}
	}
	r.mu.Lock()
	r.cached = &listing{of: running, offers: all, at: r.now()}
	r.running = nil
	r.mu.Unlock()
	close(done)
	return all
}

// Models lists every model of the running LLM plugins, plugin by plugin in
// the order of dpc.hcl. A plugin that cannot list its models is left out
// (and logged), so one broken provider does not hide the others.
func (r *Registry) Models(ctx context.Context) []Model {
	var out []Model
	for _, o := range r.offers(ctx) {
		out = append(out, o.Model)
	}
	return out
}

// Resolve finds the model called name, optionally only among the models
// of the plugin providerName, and returns it with the plugin that runs it.
// name is a model id (which may itself hold "/", as "meta-llama/Llama-3"
// does), "provider/id" when providerName is empty, or empty for the
// default. As in Ollama, a name without a tag also finds "name:latest".
func (r *Registry) Resolve(ctx context.Context, name, providerName string) (Model, sdk.LLM, error) {
	offers := r.offers(ctx)
	if err := ctx.Err(); err != nil {
		return Model{}, nil, fmt.Errorf("listing the models: %w", err)
	}
	var all []offer
	for _, o := range offers {
		if providerName == "" || o.Provider == providerName {
			all = append(all, o)
		}
	}
	if len(all) == 0 {
		if providerName != "" {
			return Model{}, nil, fmt.Errorf("%w: no running LLM plugin %q offers a model (see dpc plugin status)", ErrNoModels, providerName)
		}
		return Model{}, nil, fmt.Errorf("%w: no LLM plugin is running; enable one in dpc.hcl, e.g. plugin \"llm\" \"llm-local\" {}", ErrNoModels)
	}
	if name == "" {
		return all[0].Model, all[0].llm, nil
	}
	// Most exact first: the id itself, then provider/id, then the tag.
	matches := []func(offer) bool{
		func(o offer) bool { return o.ID == name },
		func(o offer) bool { return providerName == "" && o.Ref() == name },
		func(o offer) bool { return !strings.Contains(name, ":") && o.ID == name+":latest" },
		func(o offer) bool {
			return providerName == "" && !strings.Contains(name, ":") && o.Ref() == name+":latest"
		},
	}
	for _, match := range matches {
		for _, o := range all {
			if match(o) {
				return o.Model, o.llm, nil
			}
		}
	}
	refs := make([]string, len(all))
	for i, o := range all {
		refs[i] = o.Ref()
	}
	return Model{}, nil, fmt.Errorf("%w: %q; the models are %s", ErrUnknownModel, name, strings.Join(refs, ", "))
}
