package intel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/personal"
	"github.com/dpc-go/dpc/sdk"
)

// ContextSource gives the personal context as it is now.
type ContextSource interface {
	// View returns the document, shared (the caller must not modify it:
	// filtering copies what it keeps), and its hash.
	View() (doc map[string]any, hash string)
}

// DefaultInferenceTimeout bounds a prompt run for a peer.
const DefaultInferenceTimeout = 5 * time.Minute

// MaxAnswer bounds the answer to a peer's prompt, which this node holds
// whole for the final response: a frame's size.
const MaxAnswer = dptp.DefaultMaxFrameSize

// ErrAnswerTooLong stops a model whose answer to a peer outgrew MaxAnswer.
var ErrAnswerTooLong = errors.New("the answer is longer than a frame")

// Responder answers peers' requests for context, providers and inference.
type Responder struct {
	Context  ContextSource
	Firewall *firewall.Engine
	Contacts firewall.ContactSet
	Models   *llm.Registry
	Log      hclog.Logger
	// Timeout bounds one inference (0: DefaultInferenceTimeout).
	Timeout time.Duration
}

var _ Answerer = (*Responder)(nil)

// ContextFor returns what peer may see of the personal context.
func (r *Responder) ContextFor(peer string) (map[string]any, string) {
	return r.contextUnder(r.Firewall.Rules(), peer)
}

// contextUnder is ContextFor under the given rules.
func (r *Responder) contextUnder(rules *firewall.Rules, peer string) (map[string]any, string) {
	doc, _ := r.Context.View()
	shared := rules.Filter(peer, r.Contacts, doc)
	return shared, personal.Hash(shared)
}

// PeerView is what a peer may see and do on this node under a version of
// the firewall rules.
type PeerView struct {
	// Context is what the peer may read of the personal context (what
	// ContextFor would send it), Hash its hash, Paths its fields two
	// levels deep.
	Context map[string]any
	Hash    string
	Paths   []string
	// Resources are the decisions on the resources without a name part
	// (firewall.PlainResources), in that order.
	Resources []firewall.Decision
	// Models are the models the peer may run prompts on (what
	// ProvidersFor would list).
	Models []dptp.Provider
}

// ViewUnder is what peer would see and may do under rules (the rules in
// force or an unsaved edit of them), computed by the code that answers the
// peer: a preview of a firewall edit shows exactly what the peer will get.
func (r *Responder) ViewUnder(ctx context.Context, rules *firewall.Rules, peer string) PeerView {
	doc, hash := r.contextUnder(rules, peer)
	v := PeerView{Context: doc, Hash: hash, Paths: paths(doc), Models: r.providersUnder(ctx, rules, peer)}
	for _, res := range firewall.PlainResources() {
		v.Resources = append(v.Resources, rules.Check(peer, res, r.Contacts))
	}
	return v
}

// ProvidersFor lists the models peer may use: none without "compute", and
// only those whose "model:<id>" is allowed.
func (r *Responder) ProvidersFor(ctx context.Context, peer string) []dptp.Provider {
	return r.providersUnder(ctx, r.Firewall.Rules(), peer)
}

// providersUnder is ProvidersFor under the given rules.
func (r *Responder) providersUnder(ctx context.Context, rules *firewall.Rules, peer string) []dptp.Provider {
	if !rules.Check(peer, firewall.Compute, r.Contacts).Allowed {
		return nil
	}
	var out []dptp.Provider
	for _, m := range r.Models.Models(ctx) {
		if !rules.Check(peer, firewall.ModelPrefix+m.ID, r.Contacts).Allowed {
			continue
		}
		p := dptp.Provider{Alias: m.Provider, Model: m.ID, Type: m.Provider}
		if m.ContextLength > 0 {
			n := m.ContextLength
			p.ContextWindow = &n
		}
		out = append(out, p)
	}
	return out
}

// Infer runs a peer's prompt on a model it may use.
func (r *Responder) Infer(ctx context.Context, peer string, req dptp.RemoteInferenceRequest, emit func(string) error) dptp.RemoteInferenceResponse {
	refuse := func(code, format string, args ...any) dptp.RemoteInferenceResponse {
		return dptp.RemoteInferenceResponse{Status: dptp.StatusError, Code: code, Error: fmt.Sprintf(format, args...)}
	}
	rules := r.Firewall.Rules()
	if d := rules.Check(peer, firewall.Compute, r.Contacts); !d.Allowed {
		r.log().Info("firewall refused a remote inference", "peer", peer, "rule", d.Rule)
		return refuse(dptp.CodePermissionDenied, "this node's firewall does not let you run prompts here")
	}
	// An unknown model and a refused one get the same answer, naming only
	// what the peer asked for, so a peer learns no model it may not use.
	notYours := func() dptp.RemoteInferenceResponse {
		name := req.Model
		if name == "" {
			name = "(the default model)"
		}
		return refuse(dptp.CodePermissionDenied, "this node's firewall does not let you use model %q; ask GET_PROVIDERS for the models you may use", name)
	}
	model, impl, err := r.Models.Resolve(ctx, req.Model, req.Provider)
	if err != nil {
		r.log().Info("remote inference for an unknown model", "peer", peer, "model", req.Model, "error", err)
		return notYours()
	}
	if d := rules.Check(peer, firewall.ModelPrefix+model.ID, r.Contacts); !d.Allowed {
		r.log().Info("firewall refused a model", "peer", peer, "model", model.Ref(), "rule", d.Rule)
		return notYours()
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultInferenceTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var answer []byte
	res, err := impl.Generate(ctx, sdk.GenerateRequest{Model: model.ID, Messages: toSDK(req.PromptMessages()), RequestID: req.RequestID},
		func(delta string) error {
			// The whole answer goes back in the final response, which
			// must fit in a frame: past that, stop the model rather than
			// keep what cannot be sent.
			if len(answer)+len(delta) > MaxAnswer {
				return ErrAnswerTooLong
			}
			answer = append(answer, delta...)
			return emit(delta)
		})
	switch {
	case errors.Is(err, ErrAnswerTooLong):
		r.log().Warn("stopped a remote inference whose answer outgrew a frame", "peer", peer, "model", model.Ref())
		return refuse(dptp.CodeInternal, "the answer grew past the %d MiB this node sends; ask for a shorter one", MaxAnswer>>20)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return refuse(dptp.CodeInternal, "the model did not finish within %s", timeout)
	case err != nil:
		// The plugin's error may name the server's URL, an internal host
		// or the account: the peer gets only its kind, the log the rest.
		r.log().Warn("remote inference failed", "peer", peer, "model", model.Ref(), "error", err)
		return refuse(dptp.CodeInternal, "%s", failureKind(err))
	}
	r.log().Info("ran a prompt for a peer", "peer", peer, "model", model.Ref(),
		"prompt_tokens", res.PromptTokens, "completion_tokens", res.CompletionTokens)
	return dptp.RemoteInferenceResponse{Status: dptp.StatusSuccess, Response: string(answer), Model: model.ID, Provider: model.Provider,
		PromptTokens: res.PromptTokens, ResponseTokens: res.CompletionTokens, TokensUsed: res.PromptTokens + res.CompletionTokens}
}

// failureKind says what went wrong with a model in words that reveal
// nothing of how this node reaches it: only the sdk sentinels survive the
// plugin boundary, and each has one fixed sentence.
func failureKind(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "the prompt was cancelled"
	case errors.Is(err, sdk.ErrInvalidArgument):
		return "the model refused the prompt (too long or malformed)"
	case errors.Is(err, sdk.ErrUnavailable), errors.Is(err, sdk.ErrNotFound), errors.Is(err, sdk.ErrPermissionDenied):
		return "the model is unavailable right now"
	}
	return "the model failed"
}

// log is Log, or a logger that discards when there is none.
func (r *Responder) log() hclog.Logger {
	if r.Log == nil {
		return hclog.NewNullLogger()
	}
	return r.Log
}

func toSDK(msgs []dptp.PromptMessage) []sdk.Message {
	out := make([]sdk.Message, len(msgs))
	for i, m := range msgs {
		out[i] = sdk.Message{Role: sdk.Role(m.Role), Content: m.Content}
	}
	return out
}
