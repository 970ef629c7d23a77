package ollama_test

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

// fakeOllama is a local server speaking Ollama's API: GET /api/tags
// answers with testdata/tags.json, POST /api/chat streams a testdata file
// one line per write, flushed, like Ollama does.
type fakeOllama struct {
	t   testing.TB
	srv *httptest.Server

	mu sync.Mutex
	// chatFile is the testdata file /api/chat streams.
	chatFile string
	// chat, if set, answers /api/chat instead.
	chat http.HandlerFunc
	// bodies are the /api/chat request bodies received.
	bodies [][]byte
	// release ends handlers that hang, before the server closes.
	release chan struct{}
}

func newFake(t testing.TB) *fakeOllama {
	t.Helper()
	f := &fakeOllama{t: t, chatFile: "chat_stream.ndjson", release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.release) }) // runs first: unblock, then close
	return f
}

func (f *fakeOllama) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/tags":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(readTestdata(f.t, "tags.json"))
	case r.Method == http.MethodPost && r.URL.Path == "/api/chat":
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body.Bytes())
		chat, file := f.chat, f.chatFile
		f.mu.Unlock()
		if chat != nil {
			chat(w, r)
			return
		}
		streamLines(w, strings.SplitAfter(string(readTestdata(f.t, file)), "\n")...)
	default:
		http.Error(w, "404 page not found", http.StatusNotFound)
	}
}

// set changes what /api/chat answers.
func (f *fakeOllama) set(file string, chat http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chatFile, f.chat = file, chat
}

// lastBody returns the last /api/chat request, decoded.
func (f *fakeOllama) lastBody(t *testing.T) map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		t.Fatal("the server received no chat request")
	}
	var m map[string]any
	if err := json.Unmarshal(f.bodies[len(f.bodies)-1], &m); err != nil {
		t.Fatalf("the chat request is not JSON: %v", err)
	}
	return m
}

// hang blocks until the client goes away or the test ends.
func (f *fakeOllama) hang(r *http.Request) {
	select {
	case <-f.release:
	case <-r.Context().Done():
	}
}

// streamLines writes NDJSON lines one by one, flushing after each.
func streamLines(w http.ResponseWriter, lines ...string) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	for _, l := range lines {
		if l == "" {
			continue
		}
		_, _ = w.Write([]byte(l))
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
