package llmhttptest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk/llmhttp/llmhttptest"
)

// get sends a request and returns the status and body.
func get(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Test", "yes")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServerRoutesAndRecords(t *testing.T) {
	t.Parallel()
	s := llmhttptest.NewServer(t, nil)
	s.BaseURL = s.URL + "/v1"
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "echo:"+string(b))
	})
	s.Handle("/v1/any", llmhttptest.JSON(http.StatusTeapot, `{"any":true}`))
	s.Handle("POST /v1/any", echo)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantBody           string
	}{
		{"POST", "/v1/any?x=1", "hi", http.StatusOK, "echo:hi"},
		{"GET", "/v1/any", "", http.StatusTeapot, `{"any":true}`},
		{"GET", "/v1/other", "", http.StatusNotFound, "404 page not found\n"},
	}
	for _, tc := range tests {
		if status, body := get(t, tc.method, s.URL+tc.path, tc.body); status != tc.wantStatus || body != tc.wantBody {
			t.Errorf("%s %s: want %d %q, got %d %q", tc.method, tc.path, tc.wantStatus, tc.wantBody, status, body)
		}
	}
	rs := s.Requests()
	if len(rs) != 3 {
		t.Fatalf("want 3 requests recorded, got %d", len(rs))
	}
	if r := rs[0]; r.Method != "POST" || r.Path != "/v1/any" || r.Query != "x=1" || string(r.Body) != "hi" || r.Header.Get("X-Test") != "yes" {
		t.Errorf("first request recorded as %+v", r)
	}
	if r := s.Last(t); r.Path != "/v1/other" {
		t.Errorf("Last: want /v1/other, got %s", r.Path)
	}

	s.Check(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("X-Key") == "" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return false
		}
		return true
	})
	if status, _ := get(t, "POST", s.URL+"/v1/any", "hi"); status != http.StatusUnauthorized {
		t.Errorf("Check: want 401, got %d", status)
	}
	s.Handle("POST /v1/any", llmhttptest.JSON(http.StatusCreated, `{}`))
	s.Check(nil)
	if status, _ := get(t, "POST", s.URL+"/v1/any", "{}"); status != http.StatusCreated {
		t.Errorf("replaced route, no check: want 201, got %d", status)
	}
	if got := s.Last(t).JSON(t); len(got) != 0 {
		t.Errorf("the body of the last request is not {}: %v", got)
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		handler  http.Handler
		wantType string
		wantBody string
		wantErr  error
	}{
		"SSE":            {handler: llmhttptest.SSE.Stream("data: 1\n\n", "", "data: 2\n\n"), wantType: "text/event-stream; charset=utf-8", wantBody: "data: 1\n\ndata: 2\n\n"},
		"NDJSON":         {handler: llmhttptest.NDJSON.Stream("{}\n", "[]\n"), wantType: "application/x-ndjson", wantBody: "{}\n[]\n"},
		"SSE file":       {handler: llmhttptest.SSE.File(t, "testdata/toy_error.sse"), wantType: "text/event-stream; charset=utf-8", wantBody: "data: {\"text\":\"Hel\"}\n\nevent: error"},
		"dropped SSE":    {handler: llmhttptest.SSE.Drop("data: 1\n\n"), wantType: "text/event-stream; charset=utf-8", wantBody: "data: 1\n\n", wantErr: io.ErrUnexpectedEOF},
		"JSON file":      {handler: llmhttptest.JSONFile(t, http.StatusOK, "testdata/toy_stream.sse"), wantType: "application/json", wantBody: `data: {"text":"Hello"}`},
		"dropped NDJSON": {handler: llmhttptest.NDJSON.Drop(), wantType: "application/x-ndjson", wantErr: io.ErrUnexpectedEOF},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := llmhttptest.NewServer(t, tc.handler)
			resp, err := http.Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("want the read to end with %v, got %v", tc.wantErr, err)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type: want %q, got %q", tc.wantType, got)
			}
			if !strings.HasPrefix(string(body), tc.wantBody) {
				t.Errorf("body: want it to start with %q, got %q", tc.wantBody, body)
			}
		})
	}
	if llmhttptest.SSE.MediaType() != "text/event-stream" || llmhttptest.NDJSON.MediaType() != "application/x-ndjson" {
		t.Errorf("MediaType: got %q and %q", llmhttptest.SSE.MediaType(), llmhttptest.NDJSON.MediaType())
	}
}

func TestHangAfterEndsWithTheClient(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{})
	s := llmhttptest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		llmhttptest.HangAfter(llmhttptest.SSE.Stream("data: 1\n\n"))(w, r)
		close(ended)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); err != nil || string(buf[:n]) != "data: 1\n\n" {
		t.Errorf("want the first event, got %q, %v", buf[:n], err)
	}
	cancel()
	_ = resp.Body.Close()
	select {
	case <-ended:
	case <-time.After(time.Minute):
		t.Error("the handler still hangs a minute after the client went away")
	}
}

func TestClosedAndSilent(t *testing.T) {
	t.Parallel()
	if _, err := http.Get(llmhttptest.ClosedURL(t)); err == nil {
		t.Error("ClosedURL: want the connection refused, got an answer")
	}
	c := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err := c.Get(llmhttptest.SilentServer(t))
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("SilentServer: want a timeout, got %v after %v", err, time.Since(start))
	}
}

func TestNewLogger(t *testing.T) {
	t.Parallel()
	log, logs := llmhttptest.NewLogger("llm-test")
	log.Trace("deep", "n", 1)
	if out := logs.String(); !strings.Contains(out, "[TRACE] llm-test: deep: n=1") {
		t.Errorf("want the trace line, got %q", out)
	}
}
