package dptp

// Payloads of collaborative intelligence: sharing personal context and
// running prompts on a peer's models. Field names follow D-PC v1 where the
// meaning is the same (see proto/dptp.md).

import (
	"strconv"
	"unicode/utf8"
)

// Commands of collaborative intelligence.
const (
	// CmdRequestContext asks for the part of the peer's personal context the
	// peer's firewall shares with the requester. Payload: RequestContext.
	CmdRequestContext = "REQUEST_CONTEXT"
	// CmdContextResponse answers REQUEST_CONTEXT. Payload: ContextResponse.
	CmdContextResponse = "CONTEXT_RESPONSE"
	// CmdContextUpdated tells a peer that what it may see of this node's
	// context changed, so it drops its cached copy. Payload: ContextUpdated.
	CmdContextUpdated = "CONTEXT_UPDATED"
	// CmdGetProviders asks which models the requester may use on this node.
	// Payload: GetProviders.
	CmdGetProviders = "GET_PROVIDERS"
	// CmdProvidersResponse answers GET_PROVIDERS. Payload: ProvidersResponse.
	CmdProvidersResponse = "PROVIDERS_RESPONSE"
	// CmdRemoteInferenceRequest asks the peer to run a prompt on one of its
	// models. Payload: RemoteInferenceRequest.
	CmdRemoteInferenceRequest = "REMOTE_INFERENCE_REQUEST"
	// CmdRemoteInferenceChunk streams a piece of the answer, before the
	// response. Payload: RemoteInferenceChunk.
	CmdRemoteInferenceChunk = "REMOTE_INFERENCE_CHUNK"
	// CmdRemoteInferenceResponse ends a remote inference, with the whole
	// answer or an error. Payload: RemoteInferenceResponse.
	CmdRemoteInferenceResponse = "REMOTE_INFERENCE_RESPONSE"
)

// Limits of collaborative intelligence payloads.
const (
	// MaxQueryLen is the longest REQUEST_CONTEXT.query.
	MaxQueryLen = 4096
	// MaxModelLen is the longest model or provider name.
	MaxModelLen = 256
	// MaxProviders is the most providers a PROVIDERS_RESPONSE may list.
	MaxProviders = 256
	// MaxPromptLen is the longest prompt: every message of a
	// REMOTE_INFERENCE_REQUEST together, or its prompt (4 MiB).
	MaxPromptLen = 4 << 20
	// MaxPromptMessages is the most messages a REMOTE_INFERENCE_REQUEST may carry.
	MaxPromptMessages = 256
	// MaxAnswerLen is the longest REMOTE_INFERENCE_RESPONSE.response and
	// REMOTE_INFERENCE_CHUNK.text (4 MiB).
	MaxAnswerLen = 4 << 20
)

// Inference statuses, as D-PC v1 spells them.
const (
	StatusSuccess = "success"
	StatusError   = "error"
)

// RequestContext is the REQUEST_CONTEXT payload.
type RequestContext struct {
	RequestID string `json:"request_id"`
	// Query is the question the context is wanted for (optional, informative).
	Query string `json:"query,omitempty"`
	// RequestorID is D-PC v1's field for the requester's node_id. The
	// responder ignores it: it knows the verified node_id of the session.
	RequestorID string `json:"requestor_id,omitempty"`
	// KnownHash is the context_hash of the copy the requester holds; when it
	// is still current the answer says Unchanged and carries no context.
	KnownHash string `json:"known_hash,omitempty"`
}

// Command returns CmdRequestContext.
func (RequestContext) Command() string { return CmdRequestContext }

// Validate checks the REQUEST_CONTEXT fields.
func (p RequestContext) Validate() error {
	const c = CmdRequestContext
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if err := checkQuery(c, p.Query); err != nil {
		return err
	}
	if err := checkLabel(c, "requestor_id", p.RequestorID, MaxNameLen); err != nil {
		return err
	}
	if p.KnownHash != "" {
		return checkSHA256(c, "known_hash", p.KnownHash)
	}
	return nil
}

// ContextResponse is the CONTEXT_RESPONSE payload: what the responder's
// firewall shares with the requester, at any depth. An empty Context means
// nothing is shared.
type ContextResponse struct {
	RequestID string `json:"request_id"`
	// Context is the filtered personal context (D-PC's Personal Context
	// Model layout); null when Unchanged.
	Context map[string]any `json:"context"`
	// ContextHash identifies this filtered context (SHA-256 hex of its
	// canonical JSON); CONTEXT_UPDATED carries the same kind of hash.
	ContextHash string `json:"context_hash,omitempty"`
	// Unchanged says the requester's KnownHash is still current.
	Unchanged bool `json:"unchanged,omitempty"`
	// Query echoes the request's query, as D-PC v1 does.
	Query string `json:"query,omitempty"`
}

// Command returns CmdContextResponse.
func (ContextResponse) Command() string { return CmdContextResponse }

// Validate checks the CONTEXT_RESPONSE fields.
func (p ContextResponse) Validate() error {
	const c = CmdContextResponse
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if p.ContextHash != "" {
		if err := checkSHA256(c, "context_hash", p.ContextHash); err != nil {
			return err
		}
	}
	if p.Unchanged && p.Context != nil {
		return fieldErr(c, "context", "must be absent when unchanged is true")
	}
	if p.Unchanged && p.ContextHash == "" {
		return fieldErr(c, "context_hash", "required when unchanged is true")
	}
	return checkQuery(c, p.Query)
}

// checkQuery: the optional query of REQUEST_CONTEXT and CONTEXT_RESPONSE.
func checkQuery(c, q string) error {
	if len(q) > MaxQueryLen {
		return fieldErr(c, "query", "%d bytes, at most %d allowed", len(q), MaxQueryLen)
	}
	if !utf8.ValidString(q) {
		return fieldErr(c, "query", "not valid UTF-8")
	}
	return nil
}

// ContextUpdated is the CONTEXT_UPDATED payload.
type ContextUpdated struct {
	// NodeID is the sender's node_id (D-PC v1 sends it; the session's
	// verified node_id is what counts).
	NodeID string `json:"node_id,omitempty"`
	// ContextHash is the hash of what the receiver may now see.
	ContextHash string `json:"context_hash"`
	// Timestamp is when the context changed (optional).
	Timestamp Timestamp `json:"timestamp,omitzero"`
}

// Command returns CmdContextUpdated.
func (ContextUpdated) Command() string { return CmdContextUpdated }

// Validate checks the CONTEXT_UPDATED fields.
func (p ContextUpdated) Validate() error {
	const c = CmdContextUpdated
	if err := checkLabel(c, "node_id", p.NodeID, MaxNameLen); err != nil {
		return err
	}
	return checkSHA256(c, "context_hash", p.ContextHash)
}

// GetProviders is the GET_PROVIDERS payload. D-PC v1 sends no payload and
// matches the answer by order; a request_id, when given, is echoed.
type GetProviders struct {
	RequestID string `json:"request_id,omitempty"`
}

// Command returns CmdGetProviders.
func (GetProviders) Command() string { return CmdGetProviders }

// Validate checks the GET_PROVIDERS fields.
func (p GetProviders) Validate() error {
	return checkOptionalID(CmdGetProviders, "request_id", p.RequestID)
}

// Provider is one model a peer may use, in D-PC v1's shape.
type Provider struct {
	// Alias names the provider: the LLM plugin's name on this node.
	Alias string `json:"alias"`
	// Model is the model id to put in REMOTE_INFERENCE_REQUEST.model.
	Model string `json:"model"`
	// Type is the kind of provider (the plugin's name, e.g. "llm-ollama").
	Type           string `json:"type"`
	SupportsVision bool   `json:"supports_vision"`
	SupportsVoice  bool   `json:"supports_voice"`
	// ContextWindow is the model's context length in tokens; nil if unknown.
	ContextWindow *int `json:"context_window"`
}

// ProvidersResponse is the PROVIDERS_RESPONSE payload: only the models the
// responder's firewall lets the requester use (none without "compute").
type ProvidersResponse struct {
	RequestID string     `json:"request_id,omitempty"`
	Providers []Provider `json:"providers"`
}

// Command returns CmdProvidersResponse.
func (ProvidersResponse) Command() string { return CmdProvidersResponse }

// Validate checks the PROVIDERS_RESPONSE fields.
func (p ProvidersResponse) Validate() error {
	const c = CmdProvidersResponse
	if err := checkOptionalID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if len(p.Providers) > MaxProviders {
		return fieldErr(c, "providers", "%d entries, at most %d allowed", len(p.Providers), MaxProviders)
	}
	for i, pr := range p.Providers {
		path := "providers[" + strconv.Itoa(i) + "]"
		for _, f := range []struct{ name, v string }{{"alias", pr.Alias}, {"model", pr.Model}, {"type", pr.Type}} {
			if f.v == "" && f.name != "type" {
				return fieldErr(c, path+"."+f.name, "required")
			}
			if err := checkLabel(c, path+"."+f.name, f.v, MaxModelLen); err != nil {
				return err
			}
		}
		if pr.ContextWindow != nil && *pr.ContextWindow < 0 {
			return fieldErr(c, path+".context_window", "must not be negative, got %d", *pr.ContextWindow)
		}
	}
	return nil
}

// PromptMessage is one chat message of a remote prompt.
type PromptMessage struct {
	// Role is "system", "user" or "assistant".
	Role    string `json:"role"`
	Content string `json:"content"`
}

// RemoteInferenceRequest is the REMOTE_INFERENCE_REQUEST payload. D-PC v1
// sends the whole prompt as one string (Prompt); this node sends Messages.
// At least one of them must be given; Messages wins when both are.
type RemoteInferenceRequest struct {
	RequestID string          `json:"request_id"`
	Prompt    string          `json:"prompt,omitempty"`
	Messages  []PromptMessage `json:"messages,omitempty"`
	// Model is a model id from the responder's PROVIDERS_RESPONSE; empty
	// means the responder's default model.
	Model string `json:"model,omitempty"`
	// Provider is a provider alias (optional; narrows Model to one plugin).
	Provider string `json:"provider,omitempty"`
	// Stream asks for REMOTE_INFERENCE_CHUNK frames before the response.
	Stream bool `json:"stream,omitempty"`
}

// Command returns CmdRemoteInferenceRequest.
func (RemoteInferenceRequest) Command() string { return CmdRemoteInferenceRequest }

// Validate checks the REMOTE_INFERENCE_REQUEST fields.
func (p RemoteInferenceRequest) Validate() error {
	const c = CmdRemoteInferenceRequest
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if p.Prompt == "" && len(p.Messages) == 0 {
		return fieldErr(c, "messages", "required (or prompt)")
	}
	if len(p.Messages) > MaxPromptMessages {
		return fieldErr(c, "messages", "%d messages, at most %d allowed", len(p.Messages), MaxPromptMessages)
	}
	total := len(p.Prompt)
	for i, m := range p.Messages {
		path := "messages[" + strconv.Itoa(i) + "]"
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return fieldErr(c, path+".role", `want "system", "user" or "assistant", got %s`, quoteShort(m.Role))
		}
		if !utf8.ValidString(m.Content) {
			return fieldErr(c, path+".content", "not valid UTF-8")
		}
		total += len(m.Content)
	}
	if total > MaxPromptLen {
		return fieldErr(c, "messages", "prompt of %d bytes, at most %d allowed", total, MaxPromptLen)
	}
	if !utf8.ValidString(p.Prompt) {
		return fieldErr(c, "prompt", "not valid UTF-8")
	}
	if err := checkLabel(c, "model", p.Model, MaxModelLen); err != nil {
		return err
	}
	return checkLabel(c, "provider", p.Provider, MaxModelLen)
}

// PromptMessages returns the prompt as chat messages: Messages, or Prompt as
// one user message.
func (p RemoteInferenceRequest) PromptMessages() []PromptMessage {
	if len(p.Messages) > 0 {
		return p.Messages
	}
	return []PromptMessage{{Role: "user", Content: p.Prompt}}
}

// RemoteInferenceChunk is the REMOTE_INFERENCE_CHUNK payload: the next piece
// of a streamed answer. Seq counts from 0 so a gap shows.
type RemoteInferenceChunk struct {
	RequestID string `json:"request_id"`
	Seq       int    `json:"seq"`
	Text      string `json:"text"`
}

// Command returns CmdRemoteInferenceChunk.
func (RemoteInferenceChunk) Command() string { return CmdRemoteInferenceChunk }

// Validate checks the REMOTE_INFERENCE_CHUNK fields.
func (p RemoteInferenceChunk) Validate() error {
	const c = CmdRemoteInferenceChunk
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	if p.Seq < 0 {
		return fieldErr(c, "seq", "must not be negative, got %d", p.Seq)
	}
	if len(p.Text) > MaxAnswerLen {
		return fieldErr(c, "text", "%d bytes, at most %d allowed", len(p.Text), MaxAnswerLen)
	}
	if !utf8.ValidString(p.Text) {
		return fieldErr(c, "text", "not valid UTF-8")
	}
	return nil
}

// RemoteInferenceResponse is the REMOTE_INFERENCE_RESPONSE payload, in D-PC
// v1's shape: status "success" with the whole Response, or "error" with Error.
type RemoteInferenceResponse struct {
	RequestID      string `json:"request_id"`
	Status         string `json:"status"`
	Response       string `json:"response,omitempty"`
	Error          string `json:"error,omitempty"`
	Model          string `json:"model,omitempty"`
	Provider       string `json:"provider,omitempty"`
	PromptTokens   int    `json:"prompt_tokens,omitempty"`
	ResponseTokens int    `json:"response_tokens,omitempty"`
	TokensUsed     int    `json:"tokens_used,omitempty"`
	// Code is a short error code such as "permission_denied" (this node's
	// addition; D-PC v1 only has Error).
	Code string `json:"code,omitempty"`
}

// Command returns CmdRemoteInferenceResponse.
func (RemoteInferenceResponse) Command() string { return CmdRemoteInferenceResponse }

// Validate checks the REMOTE_INFERENCE_RESPONSE fields.
func (p RemoteInferenceResponse) Validate() error {
	const c = CmdRemoteInferenceResponse
	if err := checkID(c, "request_id", p.RequestID); err != nil {
		return err
	}
	switch p.Status {
	case StatusSuccess:
	case StatusError:
		if p.Error == "" {
			return fieldErr(c, "error", "required when status is %q", StatusError)
		}
	default:
		return fieldErr(c, "status", "want %q or %q, got %s", StatusSuccess, StatusError, quoteShort(p.Status))
	}
	if len(p.Response) > MaxAnswerLen {
		return fieldErr(c, "response", "%d bytes, at most %d allowed", len(p.Response), MaxAnswerLen)
	}
	if !utf8.ValidString(p.Response) {
		return fieldErr(c, "response", "not valid UTF-8")
	}
	if err := checkReason(c, "error", p.Error); err != nil {
		return err
	}
	if p.Code != "" {
		if err := checkCode(c, "code", p.Code); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"prompt_tokens", p.PromptTokens}, {"response_tokens", p.ResponseTokens}, {"tokens_used", p.TokensUsed}} {
		if f.v < 0 {
			return fieldErr(c, f.name, "must not be negative, got %d", f.v)
		}
	}
	if err := checkLabel(c, "model", p.Model, MaxModelLen); err != nil {
		return err
	}
	return checkLabel(c, "provider", p.Provider, MaxModelLen)
}

// Interface guards.
var (
	_ Payload = RequestContext{}
	_ Payload = ContextResponse{}
	_ Payload = ContextUpdated{}
	_ Payload = GetProviders{}
	_ Payload = ProvidersResponse{}
	_ Payload = RemoteInferenceRequest{}
	_ Payload = RemoteInferenceChunk{}
	_ Payload = RemoteInferenceResponse{}
)

// RequestIDOf returns the request_id of a payload that answers a request
// (responses, chunks and ERROR), or "".
func RequestIDOf(p Payload) string {
	switch p := p.(type) {
	case ContextResponse:
		return p.RequestID
	case ProvidersResponse:
		return p.RequestID
	case RemoteInferenceChunk:
		return p.RequestID
	case RemoteInferenceResponse:
		return p.RequestID
	case ChatHistoryResponse:
		return p.RequestID
	case ErrorReply:
		return p.RequestID
	case Pong:
		return p.RequestID
	case ChannelSyncResponse:
		return p.RequestID
	case ChannelOps:
		return p.RequestID
	case IntroduceAck:
		return p.RequestID
	}
	return ""
}
