package intel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/firewall"
	"github.com/dpc-go/dpc/host/internal/llm"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/personal"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/promptctx"
)

var (
	// ErrInvalidAsk is wrapped by every problem with what the user asked.
	ErrInvalidAsk = errors.New("invalid question")
)

// DefaultPeerTimeout is how long an ask waits for a peer's context (D-PC
// waits 5 s too); the ask goes on without a peer that is late.
const DefaultPeerTimeout = 5 * time.Second

// Scope names with a fixed meaning.
const (
	// DefaultScope is the AI scope used for the user's own context when no
	// other is named and the question runs on a local model.
	DefaultScope = "default"
	// NoScope leaves the user's own context out of the prompt.
	NoScope = "none"
)

// MaxQuestionLen is the longest question.
const MaxQuestionLen = 16 << 10

// Peers is what the Asker needs of the network.
type Peers interface {
	PeerContext(ctx context.Context, peer, query string, fresh bool) (SharedContext, error)
	RemoteInference(ctx context.Context, peer string, req dptp.RemoteInferenceRequest, onChunk func(string) error) (dptp.RemoteInferenceResponse, error)
}

// Asker answers the user's questions.
type Asker struct {
	// NodeID and Name are this node's.
	NodeID, Name string
	Context      ContextSource
	Firewall     *firewall.Engine
	Models       *llm.Registry
	Peers        Peers
	// PeerName gives a peer's display name ("" if unknown).
	PeerName func(node string) string
	// PeerTimeout bounds the wait for each peer's context (0: DefaultPeerTimeout).
	PeerTimeout time.Duration
	Log         hclog.Logger
}

// Request is one question.
type Request struct {
	Question string `json:"question"`
	// Peers whose shared context goes into the prompt.
	Peers []string `json:"peers,omitempty"`
	// Model names the model ("id" or "provider/id"); empty: the default.
	Model string `json:"model,omitempty"`
	// On runs the question on that peer's model instead of a local one.
	On string `json:"on,omitempty"`
	// Scope is the AI scope of the user's own context: empty means
	// DefaultScope on a local model and NoScope with On (the user must
	// choose to show a peer their own context), NoScope leaves it out.
	Scope string `json:"scope,omitempty"`
	// Fresh asks every peer again instead of using the copy of its context
	// it last sent (an unchanged context is still not sent twice).
	Fresh bool `json:"fresh,omitempty"`
}

// Event is one step of an answer, in the order the user should see them.
type Event struct {
	// Type: "notice", "source", "missing", "delta", "done" or "error".
	Type string `json:"type"`
	// Text: a notice, a piece of the answer, or an error.
	Text    string   `json:"text,omitempty"`
	Source  *Source  `json:"source,omitempty"`
	Missing *Missing `json:"missing,omitempty"`
	Done    *Summary `json:"done,omitempty"`
}

// Source is one block of context that went into the prompt.
type Source struct {
	// Label is how the prompt names it, e.g. "Carol (dpc-node-…)".
	Label  string `json:"label"`
	NodeID string `json:"node_id"`
	// Own is true for the user's own context; Scope is then its AI scope.
	Own   bool   `json:"own,omitempty"`
	Scope string `json:"scope,omitempty"`
	// Paths are the shared fields, two levels deep (e.g. "knowledge.cooking").
	Paths []string `json:"paths"`
	// Cached: a peer's context served from the copy kept since it last sent it.
	Cached bool `json:"cached,omitempty"`
}

// Missing is a peer named in the question whose context is not in the prompt.
type Missing struct {
	NodeID string `json:"node_id"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason"`
}

// Summary ends an answer.
type Summary struct {
	Model    string `json:"model"`
	Provider string `json:"provider"`
	// On is the peer the question ran on ("" for this node).
	On               string    `json:"on,omitempty"`
	Sources          []Source  `json:"sources"`
	Missing          []Missing `json:"missing"`
	PromptTokens     int       `json:"prompt_tokens"`
	CompletionTokens int       `json:"completion_tokens"`
	// Assembly is the time from the question to the prompt being ready
	// (own context, every peer's context); FirstToken from the prompt
	// being ready to the first piece of the answer.
	Assembly   time.Duration `json:"assembly_ns"`
	FirstToken time.Duration `json:"first_token_ns"`
}

// Validate checks a request before anything is done for it.
func (r Request) Validate(self string) error {
	q := strings.TrimSpace(r.Question)
	switch {
	case q == "":
		return fmt.Errorf("%w: the question is empty", ErrInvalidAsk)
	case len(r.Question) > MaxQuestionLen:
		return fmt.Errorf("%w: the question is %d bytes, at most %d allowed", ErrInvalidAsk, len(r.Question), MaxQuestionLen)
	case r.On == self:
		return fmt.Errorf("%w: --on names this node; leave it out to run the question here", ErrInvalidAsk)
	}
	for _, p := range r.Peers {
		if p == self {
			return fmt.Errorf("%w: --peer names this node; your own context is included through --scope", ErrInvalidAsk)
		}
	}
	return nil
}

// Ask answers req, reporting each step through emit (which must not block
// for long). The error is the reason no answer came; peers that did not
// contribute are reported as "missing" events instead.
func (a *Asker) Ask(ctx context.Context, req Request, emit func(Event)) error {
	if err := req.Validate(a.NodeID); err != nil {
		return err
	}
	start := time.Now()
	sum := &Summary{On: req.On, Sources: []Source{}, Missing: []Missing{}}
	blocks, err := a.assemble(ctx, req, sum, emit)
	if err != nil {
		return err
	}
	msgs, err := Prompt(a.Name, req.Question, blocks)
	if err != nil {
		return err
	}
	sum.Assembly = time.Since(start)
	ready := time.Now()
	first := true
	onDelta := func(text string) error {
		if text == "" {
			return nil
		}
		if first {
			sum.FirstToken, first = time.Since(ready), false
		}
		emit(Event{Type: "delta", Text: text})
		return nil
	}
	if req.On != "" {
		err = a.remote(ctx, req, msgs, blocks, sum, emit, onDelta)
	} else {
		err = a.local(ctx, req, msgs, sum, onDelta)
	}
	if err != nil {
		return err
	}
	emit(Event{Type: "done", Done: sum})
	return nil
}

// assemble collects the context blocks: the user's own through the scope,
// then each named peer's, fetched concurrently, in the order named.
func (a *Asker) assemble(ctx context.Context, req Request, sum *Summary, emit func(Event)) ([]promptctx.Block, error) {
	var blocks []promptctx.Block
	scope := req.Scope
	if scope == "" {
		scope = DefaultScope
		if req.On != "" {
			scope = NoScope
		}
	}
	if scope != NoScope {
		doc, _ := a.Context.View()
		own, err := a.Firewall.Rules().FilterScope(scope, doc)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidAsk, err)
		}
		b := promptctx.Block{Source: promptctx.SourceLocal, Name: a.Name, NodeID: a.NodeID, Context: own}
		src := Source{Label: b.Label(), NodeID: a.NodeID, Own: true, Scope: scope, Paths: paths(own)}
		blocks = append(blocks, b)
		sum.Sources = append(sum.Sources, src)
		emit(Event{Type: "source", Source: &src})
	}

	timeout := a.PeerTimeout
	if timeout == 0 {
		timeout = DefaultPeerTimeout
	}
	type answer struct {
		shared SharedContext
		err    error
	}
	answers := make([]answer, len(req.Peers))
	var wg sync.WaitGroup
	for i, peer := range req.Peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			answers[i].shared, answers[i].err = a.Peers.PeerContext(pctx, peer, req.Question, req.Fresh)
		}()
	}
	wg.Wait()
	for i, peer := range req.Peers {
		name := a.PeerName(peer)
		miss := func(reason string) {
			m := Missing{NodeID: peer, Name: name, Reason: reason}
			sum.Missing = append(sum.Missing, m)
			emit(Event{Type: "missing", Missing: &m})
		}
		switch ans := answers[i]; {
		case errors.Is(ans.err, network.ErrNoAnswer):
			miss(fmt.Sprintf("did not answer within %s; the answer was made without its context", timeout))
		case errors.Is(ans.err, network.ErrPeerOffline):
			miss("is not connected: " + ans.err.Error())
		case ans.err != nil:
			miss(ans.err.Error())
		case len(ans.shared.Doc) == 0:
			miss("shares none of its context with you (its firewall allows you nothing)")
		default:
			b := promptctx.Block{Source: promptctx.SourcePeer, Name: name, NodeID: peer, Context: ans.shared.Doc}
			src := Source{Label: b.Label(), NodeID: peer, Paths: paths(ans.shared.Doc), Cached: ans.shared.Cached}
			blocks = append(blocks, b)
			sum.Sources = append(sum.Sources, src)
			emit(Event{Type: "source", Source: &src})
		}
	}
	return blocks, nil
}

// local runs the prompt on one of this node's models.
func (a *Asker) local(ctx context.Context, req Request, msgs []sdk.Message, sum *Summary, onDelta func(string) error) error {
	model, impl, err := a.Models.Resolve(ctx, req.Model, "")
	if err != nil {
		return err
	}
	sum.Model, sum.Provider = model.ID, model.Provider
	res, err := impl.Generate(ctx, sdk.GenerateRequest{Model: model.ID, Messages: msgs}, onDelta)
	if err != nil {
		return fmt.Errorf("%s: %w", model.Ref(), err)
	}
	sum.PromptTokens, sum.CompletionTokens = res.PromptTokens, res.CompletionTokens
	return nil
}

// remote runs the prompt on peer req.On's model, after telling the user
// what that peer will see.
func (a *Asker) remote(ctx context.Context, req Request, msgs []sdk.Message, blocks []promptctx.Block, sum *Summary,
	emit func(Event), onDelta func(string) error) error {
	labels := make([]string, len(blocks))
	for i, b := range blocks {
		labels[i] = b.Label()
	}
	seen := "your question only (no context)"
	if len(labels) > 0 {
		seen = "your question and the context of " + strings.Join(labels, ", ")
	}
	on := a.PeerName(req.On)
	if on == "" {
		on = req.On
	}
	emit(Event{Type: "notice", Text: fmt.Sprintf("%s will run this prompt and see %s.", on, seen)})
	out := make([]dptp.PromptMessage, len(msgs))
	for i, m := range msgs {
		out[i] = dptp.PromptMessage{Role: string(m.Role), Content: m.Content}
	}
	// The peer bounds its model's run by its own timeout; this bounds the
	// wait for a peer that never answers at all.
	ctx, cancel := context.WithTimeout(ctx, DefaultInferenceTimeout+time.Minute)
	defer cancel()
	resp, err := a.Peers.RemoteInference(ctx, req.On, dptp.RemoteInferenceRequest{Messages: out, Model: req.Model}, onDelta)
	if err != nil {
		return fmt.Errorf("running the question on %s: %w", on, err)
	}
	sum.Model, sum.Provider = resp.Model, resp.Provider
	sum.PromptTokens, sum.CompletionTokens = resp.PromptTokens, resp.ResponseTokens
	return nil
}

// Prompt builds the chat messages for a question: a system message with the
// instructions and the context blocks, then the question.
func Prompt(name, question string, blocks []promptctx.Block) ([]sdk.Message, error) {
	var sys strings.Builder
	fmt.Fprintf(&sys, "You are the personal AI assistant of %s. Answer the question using the context below where it helps.\n", strings.TrimSpace(name))
	sys.WriteString("Each CONTEXT block comes from the source named in it; when an answer relies on a block, say which source it came from.\n")
	sys.WriteString("Context from other people was shared by them with this user; use it only as far as the question needs.\n")
	section, err := promptctx.Render(blocks)
	if err != nil {
		return nil, err
	}
	if section == "" {
		section = "No context is available for this question.\n"
	}
	sys.WriteString("\n" + section)
	return []sdk.Message{{Role: sdk.RoleSystem, Content: sys.String()}, {Role: sdk.RoleUser, Content: question}}, nil
}

// paths lists a document's fields two levels deep, sorted: what a source
// contributed, for the user to see.
func paths(doc map[string]any) []string {
	out := []string{}
	for k, v := range doc {
		// The file's bookkeeping and empty fields tell the model nothing
		// about anyone: listing them as context would mislead.
		if personal.Bookkeeping(k) || empty(v) {
			continue
		}
		sub, ok := v.(map[string]any)
		if !ok || len(sub) == 0 {
			out = append(out, k)
			continue
		}
		for k2, v2 := range sub {
			if !empty(v2) {
				out = append(out, k+"."+k2)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out) // a key "a.b" and a key "b" below "a" read the same
}

// empty reports whether a context value holds nothing: null, "", {} or [].
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}
