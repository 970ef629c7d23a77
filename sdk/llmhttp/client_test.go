package llmhttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// short is the timeout the timeout tests use; bound is how long any of
// them may take: far above short, a safety net that only catches a call
// that hangs, and the timeout of the tests that want none.
const (
	short = 200 * time.Millisecond
	bound = time.Minute
)

// server starts a fake server that answers every request with h.
func server(t *testing.T, h http.HandlerFunc) *llmhttptest.Server {
	t.Helper()
	return llmhttptest.NewServer(t, h)
}

// newClient returns a client whose timeouts no healthy test server hits,
// even on a loaded machine.
func newClient(url string, key llmhttp.Key, log hclog.Logger) *llmhttp.Client {
	return llmhttp.New(llmhttp.Options{
		Name: "llm-test", BaseURL: url, Key: key, Logger: log,
		KeyHint:          `set api_key = env("TEST_API_KEY")`,
		FirstByteTimeout: bound, IdleTimeout: bound,
	})
}

func mustKey(t *testing.T) llmhttp.Key {
	t.Helper()
	k, err := llmhttp.LoadKey(secret, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStreamEventsAndRequest(t *testing.T) {
	t.Parallel()
	type seen struct {
		method, path, auth, custom, ctype, accept, body string
	}
	got := make(chan seen, 1)
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Custom"),
			r.Header.Get("Content-Type"), r.Header.Get("Accept"), string(body)}
		llmhttptest.SSE.Write(w, "event: a\ndata: 1\n\n", ": ping\n\n", "data: 2\ndata: 3\n\n")
	})
	log, logs := llmhttptest.NewLogger("llm-test")
	c := llmhttp.New(llmhttp.Options{
		Name: "llm-test", BaseURL: srv.URL + "/v1/", Key: mustKey(t), Logger: log,
		Header: http.Header{"X-Custom": {"yes"}}, FirstByteTimeout: bound, IdleTimeout: bound,
	})
	s, err := c.Stream(context.Background(), llmhttp.Request{Path: "/chat", Body: map[string]any{"stream": true}}, "text/event-stream")
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer s.Close()
	var events []llmhttp.Event
	for {
		ev, err := s.NextEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextEvent: %v", err)
		}
		events = append(events, ev)
	}
	want := []llmhttp.Event{{Type: "a", Data: "1"}, {Data: "2\n3"}}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events: want %+v, got %+v", want, events)
	}
	r := <-got
	wantSeen := seen{"POST", "/v1/chat", "Bearer " + secret, "yes", "application/json", "text/event-stream", `{"stream":true}`}
	if r != wantSeen {
		t.Errorf("request: want %+v, got %+v", wantSeen, r)
	}
	if !strings.Contains(logs.String(), "path=/chat") || !strings.Contains(logs.String(), "status=200") {
		t.Errorf("want a debug line with path and status, got %q", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the logs contain the key: %q", logs.String())
	}
}

func TestKeyHeader(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		_, _ = io.WriteString(w, `{}`)
	})
	c := llmhttp.New(llmhttp.Options{Name: "llm-test", BaseURL: srv.URL, Key: mustKey(t), KeyHeader: "x-api-key"})
	var out struct{}
	if err := c.GetJSON(context.Background(), "/m", &out); err != nil {
		t.Fatal(err)
	}
	h := <-got
	if h.Get("X-Api-Key") != secret || h.Get("Authorization") != "" {
		t.Errorf("want the key in x-api-key only, got x-api-key %q, Authorization %q", h.Get("X-Api-Key"), h.Get("Authorization"))
	}
}

func TestDo(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		body     string
		maxBody  int64
		wantErr  error
		wantText string
	}{
		"ok":        {body: `{"data":[{"id":"m1"}]}`},
		"not JSON":  {body: `<html>`, wantErr: llmhttp.ErrProtocol, wantText: "is not the JSON expected"},
		"too large": {body: `{"data":[` + strings.Repeat(`{"id":"m"},`, 100) + `{}]}`, maxBody: 64, wantErr: llmhttp.ErrProtocol, wantText: "larger than 64 bytes"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := server(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, tc.body) })
			c := llmhttp.New(llmhttp.Options{Name: "llm-test", BaseURL: srv.URL, MaxBodySize: tc.maxBody})
			var out struct{ Data []struct{ ID string } }
			err := c.GetJSON(context.Background(), "/models?limit=5", &out)
			if tc.wantErr == nil {
				if err != nil || len(out.Data) != 1 || out.Data[0].ID != "m1" {
					t.Errorf("want one model m1, got %+v (err %v)", out, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantText) || !strings.Contains(err.Error(), "/models") {
				t.Errorf("want %v containing %q and the path, got %v", tc.wantErr, tc.wantText, err)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		status    int
		body      string
		header    map[string]string
		noKey     bool
		model     string
		wantKind  error
		wantSDK   error
		wantTexts []string
	}{
		"401 with a key": {
			status: 401, body: `{"error":{"message":"Incorrect API key provided: ` + secret + `","type":"invalid_request_error","code":"invalid_api_key"}}`,
			wantKind: llmhttp.ErrUnauthorized, wantSDK: sdk.ErrPermissionDenied,
			wantTexts: []string{"llm-test: server at http://", "rejected the API key from api_key", "401 Unauthorized", "Incorrect API key provided: [redacted]"},
		},
		"401 without a key": {
			status: 401, body: `{"error":"unauthorized"}`, noKey: true,
			wantKind: llmhttp.ErrUnauthorized, wantSDK: sdk.ErrPermissionDenied,
			wantTexts: []string{"wants an API key and none is configured", `set api_key = env("TEST_API_KEY")`},
		},
		"403": {
			status: 403, body: `{"type":"error","error":{"type":"permission_error","message":"not allowed"}}`,
			wantKind: llmhttp.ErrUnauthorized, wantSDK: sdk.ErrPermissionDenied, wantTexts: []string{"(403 Forbidden): not allowed"},
		},
		"404 for a model": {
			status: 404, body: `{"error":"model 'nope' not found, try pulling it first"}`, model: "nope",
			wantKind: llmhttp.ErrModelNotFound, wantSDK: sdk.ErrNotFound, wantTexts: []string{`has no model "nope"`, "try pulling it first"},
		},
		"404 of a path, model named": {
			status: 404, body: "404 page not found", model: "gpt-4o-mini",
			wantKind: llmhttp.ErrNoEndpoint, wantSDK: sdk.ErrNotFound, wantTexts: []string{"has no /chat", "is the URL right?"},
		},
		"429 with Retry-After": {
			status: 429, body: `{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}`, header: map[string]string{"Retry-After": "20"},
			wantKind: llmhttp.ErrRateLimited, wantSDK: sdk.ErrUnavailable, wantTexts: []string{"limiting requests", "Rate limit reached", "retry after 20 s"},
		},
		"400": {
			status: 400, body: `{"error":{"message":"max_tokens: too big","type":"invalid_request_error"}}`,
			wantKind: llmhttp.ErrBadRequest, wantSDK: sdk.ErrInvalidArgument, wantTexts: []string{"rejected the request (400 Bad Request): max_tokens: too big"},
		},
		"500 HTML": {
			status: 500, body: "<html>oops</html>",
			wantKind: llmhttp.ErrServer, wantSDK: sdk.ErrUnavailable, wantTexts: []string{"failed (500 Internal Server Error)"},
		},
		"529 overloaded": {
			status: 529, body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			wantKind: llmhttp.ErrServer, wantSDK: sdk.ErrUnavailable, wantTexts: []string{"(529): Overloaded"},
		},
		"redirect not followed": {
			status: 308, header: map[string]string{"Location": "https://elsewhere.example/v1/chat"},
			wantKind: llmhttp.ErrProtocol, wantTexts: []string{`redirects to "https://elsewhere.example/v1/chat"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			key := mustKey(t)
			if tc.noKey {
				key = llmhttp.Key{}
			}
			log, logs := llmhttptest.NewLogger("llm-test")
			_, err := newClient(srv.URL, key, log).Stream(context.Background(),
				llmhttp.Request{Path: "/chat", Body: struct{}{}, Model: tc.model}, "text/event-stream")
			if !errors.Is(err, tc.wantKind) || (tc.wantSDK != nil && !errors.Is(err, tc.wantSDK)) {
				t.Fatalf("want errors.Is %v and %v, got %v", tc.wantKind, tc.wantSDK, err)
			}
			var he *llmhttp.Error
			if !errors.As(err, &he) || he.Status != tc.status {
				t.Errorf("want an *llmhttp.Error with status %d, got %#v", tc.status, err)
			}
			for _, text := range tc.wantTexts {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("want the message to contain %q, got %q", text, err.Error())
				}
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
				t.Errorf("the key leaked: error %q, logs %q", err, logs)
			}
		})
	}
}

// readStream reads a stream to its end and returns the events' data and
// the final error.
func readStream(s *llmhttp.Stream) ([]string, error) {
	var data []string
	for {
		ev, err := s.NextEvent()
		if err != nil {
			return data, err
		}
		data = append(data, ev.Data)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		url       func(t testing.TB) string
		handler   http.Handler
		maxLine   int
		timeout   time.Duration // of both kinds; 0 means bound
		wantData  []string
		wantKind  error
		wantTexts []string
	}{
		"server down": {
			url:      llmhttptest.ClosedURL,
			wantKind: llmhttp.ErrUnreachable, wantTexts: []string{"llm-test: server at http://127.0.0.1:", "is not reachable (is it running?)", "connection refused"},
		},
		"unknown host": {
			url:      func(testing.TB) string { return "http://dpc-test-no-such-host.invalid" },
			wantKind: llmhttp.ErrUnreachable, wantTexts: []string{"cannot find the server of http://dpc-test-no-such-host.invalid"},
		},
		"accepts and never answers": {
			url:      llmhttptest.SilentServer,
			timeout:  short,
			wantKind: llmhttp.ErrTimeout, wantTexts: []string{"llm-test: no answer from http://127.0.0.1:", "within 200ms"},
		},
		"headers, then nothing": {
			handler:  llmhttptest.HangAfter(llmhttptest.SSE.Stream()),
			timeout:  short,
			wantKind: llmhttp.ErrTimeout, wantTexts: []string{"no answer from", "within 200ms"},
		},
		"stops mid-stream": {
			// One write: a server slowed between its events on a loaded
			// machine must not look like one that stopped.
			handler:  llmhttptest.HangAfter(llmhttptest.SSE.Stream("data: 1\n\ndata: 2\n\ndata: half")),
			timeout:  short,
			wantData: []string{"1", "2"},
			wantKind: llmhttp.ErrTimeout, wantTexts: []string{"stopped sending in the middle of the answer (nothing for 200ms)"},
		},
		"connection dropped mid-stream": {
			handler:  llmhttptest.SSE.Drop("data: 1\n\n", "data:"),
			wantData: []string{"1"},
			wantKind: llmhttp.ErrDisconnected, wantTexts: []string{"the connection to http://127.0.0.1:", "broke in the middle of the answer"},
		},
		"over-long event": {
			handler:  llmhttptest.SSE.Stream("data: 1\n\n", "data: "+strings.Repeat("x", 2000)+"\n\n"),
			maxLine:  1000,
			wantData: []string{"1"},
			wantKind: llmhttp.ErrProtocol, wantTexts: []string{"has a line or event longer than 1000 bytes"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var url string
			if tc.url != nil {
				url = tc.url(t)
			} else {
				url = llmhttptest.NewServer(t, tc.handler).URL
			}
			start := time.Now()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = bound
			}
			c := llmhttp.New(llmhttp.Options{Name: "llm-test", BaseURL: url, Key: mustKey(t),
				FirstByteTimeout: timeout, IdleTimeout: timeout, MaxLineSize: tc.maxLine})
			s, err := c.Stream(context.Background(), llmhttp.Request{Path: "/chat", Body: struct{}{}}, "text/event-stream")
			var data []string
			if err == nil {
				data, err = readStream(s)
			}
			if elapsed := time.Since(start); tc.timeout > 0 && elapsed > bound {
				t.Errorf("want the timeout to cut the call off within %v, took %v", bound, elapsed)
			}
			if fmt.Sprint(data) != fmt.Sprint(tc.wantData) {
				t.Errorf("want events %q before the failure, got %q", tc.wantData, data)
			}
			if !errors.Is(err, tc.wantKind) {
				t.Fatalf("want errors.Is(err, %v), got %v", tc.wantKind, err)
			}
			for _, text := range tc.wantTexts {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("want the message to contain %q, got %q", text, err.Error())
				}
			}
		})
	}
}

// TestSlowCallerIsNotATimeout checks that the idle timeout counts only
// time spent waiting for the server, not time the caller spends between
// events (sending them on to the host, say).
func TestSlowCallerIsNotATimeout(t *testing.T) {
	t.Parallel()
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		// One write: only the caller is slow, never the server.
		llmhttptest.SSE.Write(w, "data: 1\n\ndata: 2\n\ndata: 3\n\n")
	})
	c := llmhttp.New(llmhttp.Options{Name: "llm-test", BaseURL: srv.URL, FirstByteTimeout: bound, IdleTimeout: short})
	s, err := c.Stream(context.Background(), llmhttp.Request{Path: "/"}, "text/event-stream")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var data []string
	for {
		ev, err := s.NextEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %q: %v", data, err)
		}
		data = append(data, ev.Data)
		time.Sleep(2 * short) // the slow caller under test, longer than the idle timeout
	}
	if fmt.Sprint(data) != "[1 2 3]" {
		t.Errorf("want [1 2 3], got %q", data)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		events []string
		before bool // cancel before the call, else once the server sent events
	}{
		"before the call":     {before: true},
		"waiting for headers": {},
		"waiting mid-stream":  {events: []string{"data: 1\n\n"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var events http.Handler // none: not even the headers
			if tc.events != nil {
				events = llmhttptest.SSE.Stream(tc.events...)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv := llmhttptest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if events != nil {
					events.ServeHTTP(w, r)
				}
				cancel() // the call now waits for the server, mid-way
				llmhttptest.Hang(r)
			}))
			// Long timeouts: only the cancellation may end the call.
			c := llmhttp.New(llmhttp.Options{Name: "llm-test", BaseURL: srv.URL, FirstByteTimeout: time.Minute, IdleTimeout: time.Minute})
			if tc.before {
				cancel()
			}
			start := time.Now()
			s, err := c.Stream(ctx, llmhttp.Request{Path: "/"}, "text/event-stream")
			if err == nil {
				_, err = readStream(s)
			}
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "llm-test: ") {
				t.Errorf("want a llm-test error wrapping context.Canceled, got %v", err)
			}
			if elapsed := time.Since(start); elapsed > bound {
				t.Errorf("want the call stopped promptly, took %v", elapsed)
			}
		})
	}
}

func TestEndedEarly(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		events   []string
		wantKind error
		wantText string
	}{
		"nothing at all": {wantKind: llmhttp.ErrProtocol, wantText: "without sending anything (does it support streaming?)"},
		"some, then EOF": {events: []string{"data: 1\n\n"}, wantKind: llmhttp.ErrDisconnected, wantText: "before the answer was complete"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := server(t, func(w http.ResponseWriter, r *http.Request) { llmhttptest.SSE.Write(w, tc.events...) })
			s, err := newClient(srv.URL, llmhttp.Key{}, nil).Stream(context.Background(), llmhttp.Request{Path: "/"}, "text/event-stream")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := readStream(s); err != io.EOF {
				t.Fatalf("want io.EOF, got %v", err)
			}
			err = s.EndedEarly()
			if !errors.Is(err, tc.wantKind) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("want %v containing %q, got %v", tc.wantKind, tc.wantText, err)
			}
		})
	}
}

func TestNDJSONStream(t *testing.T) {
	t.Parallel()
	srv := llmhttptest.NewServer(t, llmhttptest.NDJSON.Stream(`{"n":1}`+"\n", "\n", `{"n":2}`+"\n"))
	s, err := newClient(srv.URL, llmhttp.Key{}, nil).Stream(context.Background(), llmhttp.Request{Path: "/"}, "application/x-ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var lines []string
	for {
		line, err := s.NextLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(line))
	}
	if fmt.Sprint(lines) != `[{"n":1} {"n":2}]` {
		t.Errorf("want two lines, got %q", lines)
	}
	if s.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("Header: got %v", s.Header())
	}
}
