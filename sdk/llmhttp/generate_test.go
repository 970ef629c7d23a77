package llmhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// toyAnswer decodes a toy API's answer: each piece is its text, except
// "END", which completes the answer, and "FAIL", which is an error. With
// eofOK, the end of the stream completes it too.
type toyAnswer[P llmhttp.Piece] struct {
	text   func(P) string
	pieces int
	done   bool
	eofOK  bool
}

var errToy = errors.New("the toy API failed")

func (a *toyAnswer[P]) Add(p P) (string, error) {
	a.pieces++
	switch t := a.text(p); t {
	case "END":
		a.done = true
		return "", nil
	case "FAIL":
		return "", errToy
	default:
		return t, nil
	}
}

func (a *toyAnswer[P]) Done(atEOF bool) bool { return a.done || (atEOF && a.eofOK) }

func (a *toyAnswer[P]) Result() sdk.GenerateResult {
	return sdk.GenerateResult{FinishReason: "stop", Model: "toy-1", PromptTokens: 3, CompletionTokens: a.pieces}
}

func sseAnswer() *toyAnswer[llmhttp.Event] {
	return &toyAnswer[llmhttp.Event]{text: func(ev llmhttp.Event) string { return ev.Data }}
}

func ndjsonAnswer() *toyAnswer[[]byte] {
	return &toyAnswer[[]byte]{text: func(line []byte) string { return string(line) }}
}

// toyRequest is a request whose texts are easy to find in a log.
var toyRequest = sdk.GenerateRequest{RequestID: "req-7", Messages: []sdk.Message{
	{Role: sdk.RoleSystem, Content: "the private context"}, {Role: sdk.RoleUser, Content: "the private question"},
}}

// collect returns an emit that appends to deltas.
func collect(deltas *[]string) func(string) error {
	return func(d string) error { *deltas = append(*deltas, d); return nil }
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	srv := llmhttptest.NewServer(t, nil)
	srv.Handle("POST /chat", llmhttptest.SSE.Stream("data: Hello\n\n", ": ping\n\n", "data: \n\n", "data:  there\n\n", "data: END\n\n", "data: after the end\n\n"))
	log, logs := llmhttptest.NewLogger("llm-test")
	var deltas []string
	res, err := llmhttp.Generate(context.Background(), newClient(srv.URL, mustKey(t), nil), log.With("max_tokens", 64), toyRequest,
		llmhttp.Request{Path: "/chat", Body: map[string]bool{"stream": true}, Model: "toy"}, sseAnswer(), collect(&deltas))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if want := []string{"Hello", " there"}; !slices.Equal(deltas, want) {
		t.Errorf("deltas: want %q (no empty one, nothing after the end), got %q", want, deltas)
	}
	if want := (sdk.GenerateResult{FinishReason: "stop", Model: "toy-1", PromptTokens: 3, CompletionTokens: 4}); res != want {
		t.Errorf("result: want %+v, got %+v", want, res)
	}
	r := srv.Last(t)
	if r.Method != http.MethodPost || r.Header.Get("Accept") != "text/event-stream" || string(r.Body) != `{"stream":true}` {
		t.Errorf("want a POST asking for text/event-stream with the body, got %s, Accept %q, %s", r.Method, r.Header.Get("Accept"), r.Body)
	}
	out := logs.String()
	for _, want := range []string{
		"generating: max_tokens=64 request_id=req-7 model=toy messages=2 prompt_bytes=39",
		"generated: max_tokens=64 request_id=req-7 model=toy-1 finish_reason=stop prompt_tokens=3 completion_tokens=4 answer_bytes=11 duration_ms=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want the log to contain %q, got:\n%s", want, out)
		}
	}
	for _, private := range []string{"private", "Hello", "there", secret} {
		if strings.Contains(out, private) {
			t.Errorf("the log contains %q:\n%s", private, out)
		}
	}
}

func TestGenerateNDJSON(t *testing.T) {
	t.Parallel()
	srv := llmhttptest.NewServer(t, llmhttptest.NDJSON.Stream("one\n", "\n", "two\n", "END\n"))
	var deltas []string
	_, err := llmhttp.Generate(context.Background(), newClient(srv.URL, llmhttp.Key{}, nil), nil, toyRequest,
		llmhttp.Request{Path: "/", Body: struct{}{}, Model: "toy"}, ndjsonAnswer(), collect(&deltas))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if want := []string{"one", "two"}; !slices.Equal(deltas, want) {
		t.Errorf("deltas: want %q, got %q", want, deltas)
	}
	if got := srv.Last(t).Header.Get("Accept"); got != "application/x-ndjson" {
		t.Errorf("Accept: want application/x-ndjson, got %q", got)
	}
}

func TestGenerateFailures(t *testing.T) {
	t.Parallel()
	errEmit := errors.New("the chat window was closed")
	tests := map[string]struct {
		answer     http.Handler
		eofOK      bool
		emit       error
		wantDeltas []string
		wantErr    error
		wantText   string
	}{
		"ends before the answer is complete": {
			answer: llmhttptest.SSE.Stream("data: Hel\n\n"), wantDeltas: []string{"Hel"},
			wantErr: llmhttp.ErrDisconnected, wantText: "llm-test: server at http://127.0.0.1:",
		},
		"ends, complete at the end of the stream": {
			answer: llmhttptest.SSE.Stream("data: Hel\n\n"), eofOK: true, wantDeltas: []string{"Hel"},
		},
		"ends without a piece": {
			answer:  llmhttptest.SSE.Stream(),
			wantErr: llmhttp.ErrProtocol, wantText: "ended the answer without sending anything",
		},
		"the answer's error": {
			answer: llmhttptest.SSE.Stream("data: Hel\n\n", "data: FAIL\n\n", "data: lo\n\n"), wantDeltas: []string{"Hel"},
			wantErr: errToy, wantText: "the toy API failed",
		},
		"the client's error": {
			answer:  llmhttptest.JSON(http.StatusNotFound, `{"error":"model \"toy\" not found"}`),
			wantErr: llmhttp.ErrModelNotFound, wantText: `has no model "toy"`,
		},
		"emit's error": {
			answer: llmhttptest.HangAfter(llmhttptest.SSE.Stream("data: Hel\n\n")), emit: errEmit, wantDeltas: []string{"Hel"},
			wantErr: errEmit, wantText: "the chat window was closed",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := llmhttptest.NewServer(t, tc.answer)
			a := sseAnswer()
			a.eofOK = tc.eofOK
			var deltas []string
			emit := func(d string) error { deltas = append(deltas, d); return tc.emit }
			start := time.Now()
			res, err := llmhttp.Generate(context.Background(), newClient(srv.URL, llmhttp.Key{}, nil), nil, toyRequest,
				llmhttp.Request{Path: "/", Body: struct{}{}, Model: "toy"}, a, emit)
			if elapsed := time.Since(start); elapsed > bound {
				t.Errorf("want the call over within %v, took %v", bound, elapsed)
			}
			if !slices.Equal(deltas, tc.wantDeltas) {
				t.Errorf("deltas: want %q, got %q", tc.wantDeltas, deltas)
			}
			if tc.wantErr == nil {
				if err != nil || res.FinishReason != "stop" {
					t.Errorf("want a result, got %+v, %v", res, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) || res != (sdk.GenerateResult{}) {
				t.Errorf("want no result and %v containing %q, got %+v, %v", tc.wantErr, tc.wantText, res, err)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		msgs []sdk.Message
		want string
	}{
		{nil, `[]`},
		{toyRequest.Messages, `[{"role":"system","content":"the private context"},{"role":"user","content":"the private question"}]`},
	} {
		b, err := json.Marshal(llmhttp.Messages(tc.msgs))
		if err != nil || string(b) != tc.want {
			t.Errorf("Messages(%v): want %s, got %s (%v)", tc.msgs, tc.want, b, err)
		}
	}
}
