package llmhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/dpc-go/dpc/sdk"
)

// kind is a sentinel that also matches the sdk sentinel carrying its
// meaning across the plugin boundary, where only sdk sentinels survive.
type kind struct {
	msg string
	sdk error
}

func (k *kind) Error() string { return k.msg }
func (k *kind) Unwrap() error { return k.sdk }

// The kinds of failure. Match them with errors.Is; each also matches the sdk
// sentinel named in its comment.
var (
	// ErrUnreachable: no connection to the server (refused, unknown host,
	// TLS failure). Wraps sdk.ErrUnavailable.
	ErrUnreachable error = &kind{"server not reachable", sdk.ErrUnavailable}
	// ErrTimeout: the server did not answer, or stopped sending, within the
	// configured timeout. Wraps sdk.ErrUnavailable.
	ErrTimeout error = &kind{"timed out", sdk.ErrUnavailable}
	// ErrDisconnected: the connection broke, or the stream ended, before the
	// answer was complete. Wraps sdk.ErrUnavailable.
	ErrDisconnected error = &kind{"connection lost", sdk.ErrUnavailable}
	// ErrUnauthorized: the server rejected the API key, or wants one and got
	// none (401, 403). Wraps sdk.ErrPermissionDenied.
	ErrUnauthorized error = &kind{"API key rejected", sdk.ErrPermissionDenied}
	// ErrRateLimited: the server asked us to slow down or the account is out
	// of quota (429). Wraps sdk.ErrUnavailable.
	ErrRateLimited error = &kind{"rate limited", sdk.ErrUnavailable}
	// ErrServer: the server failed or is overloaded (5xx, or an error event
	// in the stream). Wraps sdk.ErrUnavailable.
	ErrServer error = &kind{"server error", sdk.ErrUnavailable}
	// ErrBadRequest: the server refused the request as malformed (400, 413,
	// 422). Wraps sdk.ErrInvalidArgument.
	ErrBadRequest error = &kind{"request rejected", sdk.ErrInvalidArgument}
	// ErrModelNotFound: the server does not have the model asked for. Wraps
	// sdk.ErrNotFound.
	ErrModelNotFound error = &kind{"model not found", sdk.ErrNotFound}
	// ErrNoEndpoint: the URL does not exist on the server (404 for a request
	// that names no model): usually a wrong base URL. Wraps sdk.ErrNotFound.
	ErrNoEndpoint error = &kind{"no such endpoint", sdk.ErrNotFound}
	// ErrProtocol: the server sent something this client cannot read (not
	// JSON, an over-long line, a redirect). It has no sdk counterpart.
	ErrProtocol = errors.New("unexpected response")
	// ErrTooLong: a stream line or event exceeds the reader's size limit.
	ErrTooLong = errors.New("stream line or event exceeds the size limit")
)

// Error is a failed call to the API. Its message is written for the user;
// errors.Is matches its Kind (and, through it, an sdk sentinel) and its
// underlying cause, if any.
type Error struct {
	// Kind is one of the Err… sentinels of this package (or sdk.ErrNotFound
	// and the like, for errors a plugin builds with Client.Errorf).
	Kind error
	// Status is the HTTP status code, 0 if the error is not from a response.
	Status int
	// Type is the API's own error type or code ("overloaded_error",
	// "invalid_api_key"), if it gave one.
	Type string

	msg   string
	cause error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the kind and the cause, so errors.Is sees both.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

// KindOfType maps an API's error type or code (OpenAI's error.type and
// error.code, Anthropic's error.type) to a kind, for errors a server
// reports inside a stream, after the 200 status. Unknown types are
// ErrServer.
func KindOfType(typ string) error {
	switch typ {
	case "authentication_error", "permission_error", "invalid_api_key", "permission_denied":
		return ErrUnauthorized
	case "rate_limit_error", "rate_limit_exceeded", "insufficient_quota":
		return ErrRateLimited
	case "not_found_error", "model_not_found":
		return ErrModelNotFound
	case "invalid_request_error", "request_too_large", "context_length_exceeded":
		return ErrBadRequest
	}
	return ErrServer
}

// MaxMessageLen is how much of a server's error message an error quotes.
const MaxMessageLen = 300

// ErrorMessage extracts the human-readable message, and the error type if
// any, from an error response body. It knows the shapes
// {"error":"text"} (Ollama), {"error":{"message","type","code"}} (OpenAI,
// and Anthropic's {"type":"error","error":{…}}), {"message":"text"} and
// {"detail":"text"}; a body that is not JSON is used as text unless it
// looks like HTML. The message has its whitespace collapsed and is cut to
// MaxMessageLen bytes.
func ErrorMessage(body []byte) (msg, typ string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", ""
	}
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if body[0] == '{' && json.Unmarshal(body, &v) == nil {
		var obj struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		switch {
		case stringOf(v.Error) != "":
			msg = stringOf(v.Error)
		case len(v.Error) > 0 && json.Unmarshal(v.Error, &obj) == nil && (obj.Message != "" || obj.Type != ""):
			msg, typ = obj.Message, obj.Type
			// OpenAI's code ("invalid_api_key", "model_not_found") is more
			// specific than its type ("invalid_request_error").
			if c := stringOf(obj.Code); c != "" {
				typ = c
			}
		case stringOf(v.Message) != "":
			msg = stringOf(v.Message)
		case stringOf(v.Detail) != "":
			msg = stringOf(v.Detail)
		}
		return Truncate(collapse(msg), MaxMessageLen), typ
	}
	if body[0] == '<' || !utf8.Valid(body) {
		return "", ""
	}
	return Truncate(collapse(string(body)), MaxMessageLen), ""
}

// stringOf returns raw as a string if it is a JSON string, else "".
func stringOf(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// collapse turns runs of whitespace (newlines included) into one space, so
// a quoted message stays on one line of the user's log.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut
// with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// NormalizeFinishReason maps the finish reasons of the common APIs to the
// words D-PC uses: "stop" (the model finished, or hit a stop sequence),
// "length" (the token limit), "content_filter", "tool_calls". Anything
// else is passed through in lower case.
func NormalizeFinishReason(reason string) string {
	r := strings.ToLower(strings.TrimSpace(reason))
	switch r {
	case "stop", "end_turn", "stop_sequence", "eos", "eos_token":
		return "stop"
	case "length", "max_tokens", "model_length", "model_context_window_exceeded":
		return "length"
	case "content_filter", "refusal", "safety":
		return "content_filter"
	case "tool_calls", "tool_use", "function_call":
		return "tool_calls"
	}
	return r
}
