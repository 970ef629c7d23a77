package intel

// The intel service on the wire: answering peers' requests for context,
// providers and inference (through an Answerer, which applies the
// firewall), asking peers for theirs with answers matched by request_id,
// and telling peers when what they may see of this node's context changed.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/session"
)

// Answerer answers what peers ask of this node's context and models. Every
// method gets the peer's verified node_id and applies the firewall itself.
type Answerer interface {
	// ContextFor returns what peer may see of the personal context, and its
	// hash (the same document always has the same hash).
	ContextFor(peer string) (doc map[string]any, hash string)
	// ProvidersFor lists the models peer may use.
	ProvidersFor(ctx context.Context, peer string) []dptp.Provider
	// Infer runs a prompt for peer, calling emit with each piece of the
	// answer, and returns the final response (status "error" with a code
	// when it is refused or fails).
	Infer(ctx context.Context, peer string, req dptp.RemoteInferenceRequest, emit func(text string) error) dptp.RemoteInferenceResponse
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Net *network.Network
	// Answerer answers peers' requests for context and compute; nil
	// shares nothing and runs nothing for them.
	Answerer Answerer
	Logger   hclog.Logger
}

// Service is the context and inference capability on the network core.
type Service struct {
	net    *network.Network
	answer Answerer
	log    hclog.Logger

	mu       sync.Mutex
	cache    map[string]*cachedContext // by peer
	running  map[string]int            // inferences in progress, by peer
	notified map[string]string         // by peer: the context hash it last got from us
	// updates counts each peer's CONTEXT_UPDATED frames, so that an answer
	// overtaken by an update is not kept as fresh.
	updates map[string]int
	// providers rate-limits each peer's GET_PROVIDERS.
	providers *session.Limiter
	// stall is how long a streamed answer waits for a peer that reads
	// nothing (0: slowPeerStall; tests shorten it).
	stall time.Duration
}

// NewService registers the context and inference commands and hooks with
// o.Net (before it starts).
func NewService(o ServiceOptions) *Service {
	is := &Service{net: o.Net, answer: o.Answerer, log: o.Logger.Named("intel"),
		cache: map[string]*cachedContext{}, running: map[string]int{}, notified: map[string]string{}, updates: map[string]int{},
		providers: session.NewLimiter(providersEvery, providersBurst)}
	r := is.net.Router()
	network.Handle(r, func(_ context.Context, s *session.Session, q dptp.RequestContext) error {
		return is.onContextRequest(s, q)
	})
	network.Handle(r, func(ctx context.Context, s *session.Session, q dptp.GetProviders) error {
		is.onProvidersRequest(ctx, s, q)
		return nil
	})
	network.Handle(r, is.onInferenceRequest)
	network.Handle(r, func(_ context.Context, s *session.Session, u dptp.ContextUpdated) error {
		is.onContextUpdated(s, u)
		return nil
	})
	network.Answer[dptp.ContextResponse](is.net)
	network.Answer[dptp.ProvidersResponse](is.net)
	network.Answer[dptp.RemoteInferenceChunk](is.net)
	network.Answer[dptp.RemoteInferenceResponse](is.net)
	// D-PC v1 answers GET_PROVIDERS without the request_id.
	r.V1Answer(dptp.CmdGetProviders, dptp.CmdProvidersResponse)
	is.net.AddHooks(network.Hooks{
		Disconnected: is.forgetSession,
		// A new contact may see more of this node's context.
		Contact: func(string) { is.ContextChanged() },
	})
	return is
}

// maxInferencesPerPeer bounds the prompts one peer may run here at once.
const maxInferencesPerPeer = 2

// A peer may ask GET_PROVIDERS providersBurst times at once, then once per
// providersEvery: listing models can call cloud APIs with the user's key.
const (
	providersBurst = 5
	providersEvery = 2 * time.Second
)

// maxUnsentAnswer bounds the streamed answer waiting for a peer that reads
// slower than the model writes; the model waits while it is reached, and
// the prompt is cancelled if the peer reads nothing for slowPeerStall.
const (
	maxUnsentAnswer = 256 << 10
	slowPeerStall   = 30 * time.Second
)

// errSlowPeer cancels a prompt whose answer the peer does not read.
var errSlowPeer = errors.New("the streamed answer is not being read")

// cachedContext is a peer's context as it last sent it.
type cachedContext struct {
	doc  map[string]any
	hash string
	// fresh: no CONTEXT_UPDATED or reconnect since; used without asking.
	fresh bool
}

// --- answering peers ---

func (is *Service) onContextRequest(s *session.Session, r dptp.RequestContext) error {
	if is.answer == nil {
		return s.Send(dptp.CmdContextResponse, dptp.ContextResponse{RequestID: r.RequestID, Context: map[string]any{}, Query: r.Query})
	}
	doc, hash := is.answer.ContextFor(s.PeerID)
	is.mu.Lock()
	is.notified[s.PeerID] = hash
	is.mu.Unlock()
	resp := dptp.ContextResponse{RequestID: r.RequestID, ContextHash: hash, Query: r.Query}
	switch {
	case s.V1:
		resp.Context = v1ContextLayout(doc)
	case r.KnownHash == hash:
		resp.Unchanged = true
	default:
		resp.Context = doc
	}
	is.log.Info("answered a context request", "peer", s.PeerID, "shared_top_level_fields", len(doc), "unchanged", resp.Unchanged)
	err := s.Send(dptp.CmdContextResponse, resp)
	if errors.Is(err, dptp.ErrFrameTooLarge) {
		// Nothing was written: refuse this request, keep the session.
		is.log.Warn("the context shared with a peer does not fit in a frame", "peer", s.PeerID)
		return s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, RefusedCommand: dptp.CmdRequestContext,
			Code: dptp.CodeInternal, Message: "the shared context is too large to send"})
	}
	return err
}

// onProvidersRequest answers in the background: listing models asks plugins.
func (is *Service) onProvidersRequest(ctx context.Context, s *session.Session, r dptp.GetProviders) {
	if !is.providers.Allow(s.PeerID) {
		is.log.Info("GET_PROVIDERS over the rate limit", "peer", s.PeerID)
		err := s.Send(dptp.CmdError, dptp.ErrorReply{RequestID: r.RequestID, RefusedCommand: dptp.CmdGetProviders, Code: dptp.CodeRateLimited,
			Message: fmt.Sprintf("too many GET_PROVIDERS: at most %d at once, then one every %s", providersBurst, providersEvery)})
		if err != nil {
			is.log.Warn("answering GET_PROVIDERS", "peer", s.PeerID, "error", err)
		}
		return
	}
	is.net.Go(func(context.Context) {
		var list []dptp.Provider
		if is.answer != nil {
			list = is.answer.ProvidersFor(ctx, s.PeerID)
		}
		if list == nil {
			list = []dptp.Provider{}
		}
		if err := s.Send(dptp.CmdProvidersResponse, dptp.ProvidersResponse{RequestID: r.RequestID, Providers: list}); err != nil {
			is.log.Warn("answering GET_PROVIDERS", "peer", s.PeerID, "error", err)
		}
	})
}

// onInferenceRequest runs a peer's prompt in the background, streaming the
// answer, until it ends or the session does.
func (is *Service) onInferenceRequest(ctx context.Context, s *session.Session, r dptp.RemoteInferenceRequest) error {
	fail := func(code, msg string) error {
		return s.Send(dptp.CmdRemoteInferenceResponse, dptp.RemoteInferenceResponse{RequestID: r.RequestID,
			Status: dptp.StatusError, Code: code, Error: msg})
	}
	if is.answer == nil {
		return fail(dptp.CodePermissionDenied, "this node runs no prompts for other nodes")
	}
	is.mu.Lock()
	if is.running[s.PeerID] >= maxInferencesPerPeer {
		is.mu.Unlock()
		return fail(dptp.CodeRateLimited, fmt.Sprintf("at most %d prompts of yours run here at once; try again when one ends", maxInferencesPerPeer))
	}
	is.running[s.PeerID]++
	stall := is.stall
	is.mu.Unlock()
	if stall == 0 {
		stall = slowPeerStall
	}
	is.net.Go(func(context.Context) {
		defer func() {
			is.mu.Lock()
			is.running[s.PeerID]--
			is.mu.Unlock()
		}()
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		send := func(c dptp.RemoteInferenceChunk) error {
			c.RequestID = r.RequestID
			return s.Send(dptp.CmdRemoteInferenceChunk, c)
		}
		out := newStream(send, maxUnsentAnswer, stall, cancel)
		emit := func(text string) error {
			if !r.Stream || text == "" {
				return nil
			}
			return out.put(ctx, text)
		}
		resp := is.answer.Infer(ctx, s.PeerID, r, emit)
		if err := out.close(); err != nil {
			// The answer was cut short: the peer gets why, not a
			// response whose chunks it never had.
			is.log.Warn("cancelled a remote inference", "peer", s.PeerID, "reason", err)
			resp = dptp.RemoteInferenceResponse{Status: dptp.StatusError, Code: dptp.CodeInternal,
				Error: "the answer was cancelled: " + err.Error()}
		}
		resp.RequestID = r.RequestID
		resp.Error = dptp.TruncateReason(resp.Error)
		err := s.Send(dptp.CmdRemoteInferenceResponse, resp)
		if errors.Is(err, dptp.ErrFrameTooLarge) || errors.Is(err, dptp.ErrInvalidPayload) {
			// Nothing was written: the requester still gets an answer.
			err = s.Send(dptp.CmdRemoteInferenceResponse, dptp.RemoteInferenceResponse{RequestID: r.RequestID,
				Status: dptp.StatusError, Code: dptp.CodeInternal, Error: "the answer is too large to send"})
		}
		if err != nil {
			is.log.Warn("answering a remote inference", "peer", s.PeerID, "error", err)
		}
	})
	return nil
}

// stream holds a streamed answer's chunks between the model, which writes
// them as fast as it makes them, and the peer, which reads at its own pace.
// It holds at most max bytes (or one chunk, if larger); a model that gets
// ahead waits for room, and if the peer reads nothing for stall while the
// box is full the prompt is cancelled: a peer that stops reading neither
// holds the model nor fills this node's memory.
type stream struct {
	send   func(dptp.RemoteInferenceChunk) error
	max    int
	stall  time.Duration
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	queue    []string
	bytes    int
	err      error         // why the stream ended early, if it did
	closed   bool          // no more chunks come
	wake     chan struct{} // signalled when a chunk is queued or the box closes
	progress chan struct{} // closed (and replaced) when a chunk was sent
	done     chan struct{} // closed when the sender has finished
}

func newStream(send func(dptp.RemoteInferenceChunk) error, max int, stall time.Duration, cancel context.CancelCauseFunc) *stream {
	o := &stream{send: send, max: max, stall: stall, cancel: cancel,
		wake: make(chan struct{}, 1), progress: make(chan struct{}), done: make(chan struct{})}
	go o.run()
	return o
}

// put queues a chunk, waiting while the box is full. It fails, and cancels
// the prompt, when the peer reads nothing for stall meanwhile, or sending
// failed; it returns ctx's error when ctx ends first.
func (o *stream) put(ctx context.Context, text string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.err == nil && o.bytes > 0 && o.bytes+len(text) > o.max {
		progress := o.progress
		o.mu.Unlock()
		t := time.NewTimer(o.stall)
		var stalled bool
		select {
		case <-progress:
		case <-t.C:
			stalled = true
		case <-ctx.Done():
		}
		t.Stop()
		o.mu.Lock()
		if stalled {
			o.fail(fmt.Errorf("%w: you read none of it for %s while %d KiB of it waited", errSlowPeer, o.stall, o.bytes>>10))
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if o.err != nil {
		return o.err
	}
	o.queue = append(o.queue, text)
	o.bytes += len(text)
	o.signal()
	return nil
}

// fail records why the stream ended, drops what was not sent and cancels
// the prompt; o.mu is held.
func (o *stream) fail(err error) {
	if o.err == nil {
		o.err = err
		o.queue, o.bytes = nil, 0
		o.cancel(err)
	}
}

func (o *stream) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// run sends the queued chunks in order until the box is closed and empty,
// or the stream failed.
func (o *stream) run() {
	defer close(o.done)
	seq := 0
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.closed && o.err == nil {
			o.mu.Unlock()
			<-o.wake
			o.mu.Lock()
		}
		if o.err != nil || len(o.queue) == 0 {
			o.mu.Unlock()
			return
		}
		text := o.queue[0]
		o.queue = o.queue[1:]
		o.mu.Unlock()
		err := o.send(dptp.RemoteInferenceChunk{Seq: seq, Text: text})
		seq++
		o.mu.Lock()
		if err != nil {
			o.fail(fmt.Errorf("sending the answer: %w", err))
		} else if o.err == nil {
			o.bytes -= len(text)
			close(o.progress)
			o.progress = make(chan struct{})
		}
		o.mu.Unlock()
	}
}

// close waits until every queued chunk is sent, and returns why the stream
// ended early, if it did.
func (o *stream) close() error {
	o.mu.Lock()
	o.closed = true
	o.signal()
	o.mu.Unlock()
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// onContextUpdated marks the peer's cached context stale, unless the new
// hash is the one already held.
func (is *Service) onContextUpdated(s *session.Session, u dptp.ContextUpdated) {
	is.mu.Lock()
	is.updates[s.PeerID]++
	if c := is.cache[s.PeerID]; c != nil {
		c.fresh = c.hash == u.ContextHash
	}
	is.mu.Unlock()
	is.net.Bus().Publish(network.Event{Type: "context_updated", Peer: s.PeerID, Data: map[string]string{"context_hash": u.ContextHash}})
}

// ContextChanged tells every connected peer that fetched this node's context
// and may now see something else (the personal context or the firewall
// changed) to drop its copy. Peers whose view did not change hear nothing,
// so an edit of a withheld field leaks nothing.
func (is *Service) ContextChanged() {
	if is.answer == nil {
		return
	}
	is.mu.Lock()
	told := make([]string, 0, len(is.notified))
	for peer := range is.notified {
		told = append(told, peer)
	}
	is.mu.Unlock()
	for _, peer := range told {
		if is.net.Session(peer) == nil {
			continue
		}
		_, hash := is.answer.ContextFor(peer)
		is.mu.Lock()
		last, ok := is.notified[peer]
		if !ok || hash == last {
			is.mu.Unlock()
			continue
		}
		is.notified[peer] = hash
		is.mu.Unlock()
		is.net.SendTo(peer, dptp.CmdContextUpdated, dptp.ContextUpdated{NodeID: is.net.Self(), ContextHash: hash, Timestamp: dptp.NewTimestamp(time.Now())})
	}
}

// forgetSession drops what a session's end makes stale: the peer's cached
// context must be revalidated, and it will ask for ours again.
func (is *Service) forgetSession(peer string) {
	is.mu.Lock()
	if c := is.cache[peer]; c != nil {
		c.fresh = false
	}
	delete(is.notified, peer)
	is.mu.Unlock()
}

// --- asking peers ---

// SharedContext is what a peer shares of its personal context with this node.
type SharedContext struct {
	Doc  map[string]any
	Hash string
	// Cached: served from the copy kept since the peer last sent it.
	Cached bool
}

// PeerContext returns what peer's firewall lets this node see of its
// personal context. A copy the peer has not announced a change to since is
// used without asking, unless fresh is set; otherwise the peer is asked,
// with the hash of the copy held so that an unchanged context is not sent
// again.
func (is *Service) PeerContext(ctx context.Context, peer, query string, fresh bool) (SharedContext, error) {
	is.mu.Lock()
	c := is.cache[peer]
	var held cachedContext
	if c != nil {
		held = *c
	}
	updates := is.updates[peer]
	is.mu.Unlock()
	if c != nil && held.fresh && !fresh {
		return SharedContext{Doc: held.doc, Hash: held.hash, Cached: true}, nil
	}
	req := dptp.RequestContext{RequestID: network.NewID(), Query: query, KnownHash: held.hash}
	var resp dptp.ContextResponse
	err := is.net.Request(ctx, peer, req.RequestID, req, func(p dptp.Payload) (bool, error) {
		r, ok := p.(dptp.ContextResponse)
		if ok {
			resp = r
		}
		return ok, nil
	})
	if err != nil {
		return SharedContext{}, err
	}
	doc := resp.Context
	if s := is.net.Session(peer); s != nil && s.V1 {
		doc = withoutEmpty(doc)
	}
	if resp.Unchanged {
		if resp.ContextHash != held.hash || c == nil {
			return SharedContext{}, fmt.Errorf("%w: %s said unchanged for a context this node does not hold", network.ErrPeerFailed, peer)
		}
		doc = held.doc
	}
	if doc == nil {
		doc = map[string]any{}
	}
	if resp.ContextHash != "" { // D-PC v1 sends no hash: ask again next time
		is.mu.Lock()
		// An update that came while this request was out may be newer
		// than the answer: keep the copy, but ask again next time.
		is.cache[peer] = &cachedContext{doc: doc, hash: resp.ContextHash, fresh: is.updates[peer] == updates}
		is.mu.Unlock()
	}
	return SharedContext{Doc: doc, Hash: resp.ContextHash, Cached: resp.Unchanged}, nil
}

// Providers asks peer which of its models this node may use.
func (is *Service) Providers(ctx context.Context, peer string) ([]dptp.Provider, error) {
	req := dptp.GetProviders{RequestID: network.NewID()}
	var out []dptp.Provider
	err := is.net.Request(ctx, peer, req.RequestID, req, func(p dptp.Payload) (bool, error) {
		r, ok := p.(dptp.ProvidersResponse)
		if ok {
			out = r.Providers
		}
		return ok, nil
	})
	return out, err
}

// RemoteInference runs a prompt on peer's model, calling onChunk with each
// piece of the answer as it streams in. A refusal by the peer's firewall is
// a *PeerError wrapping ErrPeerRefused.
func (is *Service) RemoteInference(ctx context.Context, peer string, req dptp.RemoteInferenceRequest, onChunk func(text string) error) (dptp.RemoteInferenceResponse, error) {
	req.RequestID = network.NewID()
	req.Stream = true
	if s := is.net.Session(peer); s != nil && s.V1 {
		// D-PC v1 reads the prompt as one string.
		req.Prompt, req.Messages = v1Prompt(req.PromptMessages()), nil
	}
	var resp dptp.RemoteInferenceResponse
	next := 0
	err := is.net.Request(ctx, peer, req.RequestID, req, func(p dptp.Payload) (bool, error) {
		switch r := p.(type) {
		case dptp.RemoteInferenceChunk:
			if r.Seq != next {
				return true, fmt.Errorf("%w: %s streamed piece %d of the answer where %d was due", network.ErrPeerFailed, peer, r.Seq, next)
			}
			next++
			return false, onChunk(r.Text)
		case dptp.RemoteInferenceResponse:
			resp = r
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return resp, err
	}
	if resp.Status == dptp.StatusError {
		code := resp.Code
		if code == "" {
			code = dptp.CodeInternal
		}
		return resp, &network.PeerError{Peer: peer, Code: code, Message: resp.Error}
	}
	return resp, nil
}
