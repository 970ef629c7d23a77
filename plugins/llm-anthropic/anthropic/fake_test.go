package anthropic_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeAnthropic is a local server speaking the Anthropic API: GET
// /v1/models pages through testdata/models.json and models_page2.json,
// POST /v1/messages streams a testdata file one event per write, flushed.
// Requests without the right x-api-key get the API's 401, and requests
// without anthropic-version its 400.
type fakeAnthropic struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	key      string
	chatFile string
	chat     http.HandlerFunc
	requests []recorded
	release  chan struct{}
}

// recorded is one request the fake received.
type recorded struct {
	method, path, query string
	header              http.Header
	body                []byte
}

func newFake(t testing.TB, key string) *fakeAnthropic {
	t.Helper()
	f := &fakeAnthropic{t: t, key: key, chatFile: "messages_stream.sse", release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.release) }) // runs first: unblock, then close
	return f
}

func (f *fakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body.Bytes()})
	key, chat, file := f.key, f.chat, f.chatFile
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Header.Get("X-Api-Key") != key:
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write(readTestdata(f.t, "error_401.json"))
	case r.Header.Get("Anthropic-Version") == "":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}}`))
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		page := "models.json"
		if r.URL.Query().Get("after_id") == "claude-opus-4-1-20250805" {
			page = "models_page2.json"
		}
		_, _ = w.Write(readTestdata(f.t, page))
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages":
		if chat != nil {
			chat(w, r)
			return
		}
		streamEvents(w, strings.SplitAfter(string(readTestdata(f.t, file)), "\n\n")...)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"type":"error","error":{"type":"not_found_error","message":"Not Found"}}`))
	}
}

// set changes what /v1/messages answers.
func (f *fakeAnthropic) set(file string, chat http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chatFile, f.chat = file, chat
}

// last returns the last request received.
func (f *fakeAnthropic) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("the server received no request")
	}
	return f.requests[len(f.requests)-1]
}

// lastBody returns the last request's body, decoded.
func (f *fakeAnthropic) lastBody(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.last(t).body, &m); err != nil {
		t.Fatalf("the request body is not JSON: %v", err)
	}
	return m
}

// hang blocks until the client goes away or the test ends.
func (f *fakeAnthropic) hang(r *http.Request) {
	select {
	case <-f.release:
	case <-r.Context().Done():
	}
}

// streamEvents writes SSE events one by one, flushing after each.
func streamEvents(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	for _, ev := range events {
		if ev == "" {
			continue
		}
		_, _ = w.Write([]byte(ev))
		w.(http.Flusher).Flush()
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("testdata: %v", err)
	}
	return b
}

// closedPort returns a URL at which nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	return url
}

// silentServer accepts connections and never answers.
func silentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// syncBuffer is a log sink safe for the plugin's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
