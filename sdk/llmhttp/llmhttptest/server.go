package llmhttptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// Server is a fake LLM API: an httptest server, closed when the test ends,
// that records every request and passes it to the handler of its route.
// It is safe for concurrent use.
type Server struct {
	// URL is the server's root, http://127.0.0.1:port.
	URL string
	// BaseURL is the URL to configure a plugin with. NewServer sets it to
	// URL; a fake of an API that lives under a path ("/v1") adds the path.
	BaseURL string

	srv      *httptest.Server
	release  chan struct{}
	fallback http.Handler

	mu       sync.Mutex
	routes   map[string]http.Handler
	check    func(http.ResponseWriter, *http.Request) bool
	requests []Request
}

// Request is one request a Server received.
type Request struct {
	Method string
	Path   string
	// Query is the URL's query, without the '?'.
	Query  string
	Header http.Header
	Body   []byte
}

// JSON returns the request's body decoded, failing the test if it is not a
// JSON object.
func (r Request) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("the body of %s %s is not a JSON object: %v", r.Method, r.Path, err)
	}
	return m
}

// serverKey is the request context key under which a Server puts itself,
// for Hang.
type serverKey struct{}

// NewServer starts a Server. Requests that match no route (see Handle) go
// to fallback; nil answers them 404 "404 page not found".
func NewServer(t testing.TB, fallback http.Handler) *Server {
	t.Helper()
	if fallback == nil {
		fallback = http.NotFoundHandler()
	}
	s := &Server{release: make(chan struct{}), fallback: fallback, routes: map[string]http.Handler{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL, s.BaseURL = s.srv.URL, s.srv.URL
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.release) }) // runs first: unblock the hanging handlers, then close
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	check := s.check
	h := s.routes[r.Method+" "+r.URL.Path]
	if h == nil {
		h = s.routes[r.URL.Path]
	}
	s.mu.Unlock()
	if h == nil {
		h = s.fallback
	}
	r = r.WithContext(context.WithValue(r.Context(), serverKey{}, s))
	if check != nil && !check(w, r) {
		return
	}
	h.ServeHTTP(w, r)
}

// Handle sets the handler of a route, replacing the one it had. A route is
// a method and a path, "POST /v1/messages", or a path alone for any method;
// the method and path route wins. The path is matched exactly, without the
// query.
func (s *Server) Handle(route string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[route] = h
}

// Check makes every request pass check before its route: check returns
// false, after writing the refusal, for a request the API would refuse (a
// wrong key, a missing header). Nil removes the check.
func (s *Server) Check(check func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.check = check
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Last returns the last request received, failing the test if there is
// none.
func (s *Server) Last(t testing.TB) Request {
	t.Helper()
	rs := s.Requests()
	if len(rs) == 0 {
		t.Fatal("the server received no request")
	}
	return rs[len(rs)-1]
}

// Hang blocks until the client of r goes away or, for a request to a
// Server, the test that started the Server ends.
func Hang(r *http.Request) {
	var release chan struct{} // nil: wait for the client only
	if s, ok := r.Context().Value(serverKey{}).(*Server); ok {
		release = s.release
	}
	select {
	case <-release:
	case <-r.Context().Done():
	}
}

// HangAfter returns a handler that serves h (nil: nothing) and then holds
// the request open, sending nothing more, until Hang returns: a server that
// stops in the middle of an answer, or that sends headers and nothing else.
func HangAfter(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h != nil {
			h.ServeHTTP(w, r)
		}
		Hang(r)
	}
}

// JSON returns a handler that answers with status and body as
// application/json.
func JSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// JSONFile is JSON with the content of the file at path, read now: a
// missing file fails the test.
func JSONFile(t testing.TB, status int, path string) http.HandlerFunc {
	t.Helper()
	return JSON(status, readFile(t, path))
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("llmhttptest: %v", err)
	}
	return string(b)
}

// Format is how an API streams its answers: SSE or NDJSON.
type Format struct {
	mediaType, contentType, sep string
}

// The formats of streamed answers.
var (
	// SSE is server-sent events; a piece is an event, ending in a blank
	// line.
	SSE = Format{"text/event-stream", "text/event-stream; charset=utf-8", "\n\n"}
	// NDJSON is newline-delimited JSON; a piece is a line, ending in "\n".
	NDJSON = Format{"application/x-ndjson", "application/x-ndjson", "\n"}
)

// MediaType is what a client asks for in Accept: "text/event-stream" or
// "application/x-ndjson".
func (f Format) MediaType() string { return f.mediaType }

// Write sends pieces as a 200 answer in this format, one write per piece,
// flushed, so that the client gets them one by one. Pieces are sent as
// they are, terminators included; empty ones are skipped.
func (f Format) Write(w http.ResponseWriter, pieces ...string) {
	w.Header().Set("Content-Type", f.contentType)
	w.WriteHeader(http.StatusOK)
	for _, p := range pieces {
		if p == "" {
			continue
		}
		_, _ = io.WriteString(w, p)
		w.(http.Flusher).Flush()
	}
}

// Stream returns a handler that Writes pieces.
func (f Format) Stream(pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { f.Write(w, pieces...) }
}

// File returns a handler that streams the file at path (a recorded answer
// in testdata) piece by piece: an SSE event, or an NDJSON line, per write.
// The file is read now: a missing file fails the test.
func (f Format) File(t testing.TB, path string) http.HandlerFunc {
	t.Helper()
	return f.Stream(strings.SplitAfter(readFile(t, path), f.sep)...)
}

// Drop returns a handler that sends pieces and then breaks the connection:
// the answer is chunked, and the connection closes after the header of a
// chunk that never comes, as when a server or a proxy dies mid-answer.
func (f Format) Drop(pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n", f.contentType)
		for _, p := range pieces {
			if p != "" {
				fmt.Fprintf(buf, "%x\r\n%s\r\n", len(p), p)
			}
		}
		_, _ = buf.WriteString("40\r\n")
		_ = buf.Flush()
	}
}
