package llmhttp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body     string
		wantMsg  string
		wantType string
	}{
		"empty":  {body: "", wantMsg: ""},
		"ollama": {body: `{"error":"model 'llama9' not found, try pulling it first"}`, wantMsg: "model 'llama9' not found, try pulling it first"},
		"openai": {
			body:    `{"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			wantMsg: "Incorrect API key provided: sk-abc***xyz.", wantType: "invalid_api_key",
		},
		"openai without code": {
			body:    `{"error":{"message":"Rate limit reached","type":"requests","code":null}}`,
			wantMsg: "Rate limit reached", wantType: "requests",
		},
		"anthropic": {
			body:    `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_1"}`,
			wantMsg: "invalid x-api-key", wantType: "authentication_error",
		},
		"message field":         {body: `{"message":"no such route"}`, wantMsg: "no such route"},
		"detail field":          {body: `{"detail":"Not Found"}`, wantMsg: "Not Found"},
		"plain text":            {body: "404 page not found\n", wantMsg: "404 page not found"},
		"multi-line text":       {body: "bad\n\n  gateway", wantMsg: "bad gateway"},
		"HTML page dropped":     {body: "<html><body>502 Bad Gateway</body></html>", wantMsg: ""},
		"JSON of another shape": {body: `{"status":"oops"}`, wantMsg: ""},
		"long message cut": {
			body: `{"error":"` + strings.Repeat("é", 400) + `"}`, wantMsg: strings.Repeat("é", llmhttp.MaxMessageLen/2) + "…",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg, typ := llmhttp.ErrorMessage([]byte(tc.body))
			if msg != tc.wantMsg || typ != tc.wantType {
				t.Errorf("want (%q, %q), got (%q, %q)", tc.wantMsg, tc.wantType, msg, typ)
			}
		})
	}
}

// TestKindsMatchSDK checks that each kind survives the plugin boundary,
// where only the sdk sentinels are kept.
func TestKindsMatchSDK(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		kind, want error
	}{
		"unreachable":     {llmhttp.ErrUnreachable, sdk.ErrUnavailable},
		"timeout":         {llmhttp.ErrTimeout, sdk.ErrUnavailable},
		"disconnected":    {llmhttp.ErrDisconnected, sdk.ErrUnavailable},
		"unauthorized":    {llmhttp.ErrUnauthorized, sdk.ErrPermissionDenied},
		"rate limited":    {llmhttp.ErrRateLimited, sdk.ErrUnavailable},
		"server":          {llmhttp.ErrServer, sdk.ErrUnavailable},
		"bad request":     {llmhttp.ErrBadRequest, sdk.ErrInvalidArgument},
		"model not found": {llmhttp.ErrModelNotFound, sdk.ErrNotFound},
		"no endpoint":     {llmhttp.ErrNoEndpoint, sdk.ErrNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := llmhttp.New(llmhttp.Options{Name: "llm-test"})
			err := c.Errorf(tc.kind, "something about %s", "x")
			if !errors.Is(err, tc.kind) || !errors.Is(err, tc.want) {
				t.Errorf("want errors.Is(err, %v) and (err, %v), got %v", tc.kind, tc.want, err)
			}
			if err.Error() != "llm-test: something about x" {
				t.Errorf("message: got %q", err.Error())
			}
		})
	}
}

func TestKindOfType(t *testing.T) {
	t.Parallel()
	tests := map[string]error{
		"overloaded_error":      llmhttp.ErrServer,
		"api_error":             llmhttp.ErrServer,
		"authentication_error":  llmhttp.ErrUnauthorized,
		"invalid_api_key":       llmhttp.ErrUnauthorized,
		"rate_limit_error":      llmhttp.ErrRateLimited,
		"insufficient_quota":    llmhttp.ErrRateLimited,
		"not_found_error":       llmhttp.ErrModelNotFound,
		"invalid_request_error": llmhttp.ErrBadRequest,
		"":                      llmhttp.ErrServer,
		"something_new":         llmhttp.ErrServer,
	}
	for typ, want := range tests {
		if got := llmhttp.KindOfType(typ); got != want {
			t.Errorf("KindOfType(%q): want %v, got %v", typ, want, got)
		}
	}
}

func TestNormalizeFinishReason(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "STOP": "stop",
		"length": "length", "max_tokens": "length",
		"content_filter": "content_filter", "refusal": "content_filter",
		"tool_calls": "tool_calls", "tool_use": "tool_calls",
		"pause_turn": "pause_turn", "": "",
	}
	for in, want := range tests {
		if got := llmhttp.NormalizeFinishReason(in); got != want {
			t.Errorf("NormalizeFinishReason(%q): want %q, got %q", in, want, got)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		n    int
		want string
	}{
		"short":            {"abc", 5, "abc"},
		"exact":            {"abcde", 5, "abcde"},
		"cut":              {"abcdef", 3, "abc…"},
		"on rune boundary": {"aéé", 2, "a…"},
	}
	for name, tc := range tests {
		if got := llmhttp.Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("%s: want %q, got %q", name, tc.want, got)
		}
	}
}
