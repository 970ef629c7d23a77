package llmhttp

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
)

// DefaultMaxBodySize bounds a JSON response body (a model list) when
// Options.MaxBodySize is 0.
const DefaultMaxBodySize = 16 << 20

// maxErrorBody is how much of an error response is read: enough for any
// JSON error, not a whole HTML page.
const maxErrorBody = 64 << 10

// Options configure a Client.
type Options struct {
	// Name starts every error message: the plugin's name, "llm-openai".
	Name string
	// BaseURL is the server's URL, e.g. "https://api.openai.com/v1";
	// request paths are appended to it. Error messages show it.
	BaseURL string
	// Key, if set, is sent with every request: in the header KeyHeader as
	// is or, when KeyHeader is "", as "Authorization: Bearer <key>".
	Key       Key
	KeyHeader string
	// KeyHint tells the user how to give a key, for when the server wants
	// one and got none: `set api_key = env("OPENAI_API_KEY")`.
	KeyHint string
	// Header is sent with every request (e.g. anthropic-version).
	Header http.Header
	// FirstByteTimeout bounds the wait for the response headers and the
	// first event of a stream, and for the whole of a call that is not
	// streamed. IdleTimeout bounds the wait for each later event. 0 means
	// no limit.
	FirstByteTimeout time.Duration
	IdleTimeout      time.Duration
	// MaxLineSize bounds stream lines and SSE events (DefaultMaxLineSize
	// if 0); MaxBodySize a JSON response (DefaultMaxBodySize if 0).
	MaxLineSize int
	MaxBodySize int64
	// Logger gets one Debug line per response (method, path, status,
	// time), never headers or bodies. Nil discards.
	Logger hclog.Logger
	// HTTPClient sends the requests. Nil means a client of the Client's
	// own that never follows redirects (a redirect could carry the key to
	// another host).
	HTTPClient *http.Client
}

// Client calls one HTTP API. It is safe for concurrent use.
type Client struct {
	o    Options
	base string
	hc   *http.Client
	own  bool
	log  hclog.Logger
}

// New returns a Client for o.BaseURL. It opens nothing until the first
// request.
func New(o Options) *Client {
	c := &Client{o: o, base: strings.TrimRight(o.BaseURL, "/"), hc: o.HTTPClient, log: o.Logger}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		c.hc = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		c.own = true
	}
	if c.log == nil {
		c.log = hclog.NewNullLogger()
	}
	if c.o.MaxLineSize <= 0 {
		c.o.MaxLineSize = DefaultMaxLineSize
	}
	if c.o.MaxBodySize <= 0 {
		c.o.MaxBodySize = DefaultMaxBodySize
	}
	return c
}

// BaseURL returns the base URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// Close closes idle connections of a Client that made its own HTTP client.
func (c *Client) Close() {
	if c.own {
		c.hc.CloseIdleConnections()
	}
}

// Errorf returns an *Error of the given kind whose message is the plugin's
// name, ": " and the formatted text. Plugins use it for problems found in
// an answer (an error event in the stream) so that they read like the
// Client's own.
func (c *Client) Errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, msg: c.o.Name + ": " + fmt.Sprintf(format, args...)}
}

// Request is one API call.
type Request struct {
	// Method defaults to POST if Body is set, else GET.
	Method string
	// Path is appended to the base URL: "/chat/completions".
	Path string
	// Body, if not nil, is sent as JSON.
	Body any
	// Header is added to this request's headers.
	Header http.Header
	// Model is the model the request is about, if any, so that a 404 can
	// say "no such model" rather than "wrong URL".
	Model string
}

// GetJSON is Do with a GET of path.
func (c *Client) GetJSON(ctx context.Context, path string, out any) error {
	return c.Do(ctx, Request{Path: path}, out)
}

// Do makes a call that is not streamed and decodes the JSON answer into
// out. FirstByteTimeout bounds the whole call.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	s, err := c.start(ctx, r, "application/json")
	if err != nil {
		return err
	}
	defer s.Close()
	data, err := io.ReadAll(io.LimitReader(s.resp.Body, c.o.MaxBodySize+1))
	if err != nil {
		return s.fail(err)
	}
	if int64(len(data)) > c.o.MaxBodySize {
		return c.Errorf(ErrProtocol, "the answer from %s%s is larger than %d bytes", c.base, pathOnly(r.Path), c.o.MaxBodySize)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Kind: ErrProtocol, cause: err,
			msg: fmt.Sprintf("%s: the answer from %s%s is not the JSON expected: %v", c.o.Name, c.base, pathOnly(r.Path), err)}
	}
	return nil
}

// Stream sends r and returns the answer as a stream. accept is the media
// type asked for: "text/event-stream" or "application/x-ndjson". A status
// other than 2xx is an *Error. The caller must Close the stream.
func (c *Client) Stream(ctx context.Context, r Request, accept string) (*Stream, error) {
	return c.start(ctx, r, accept)
}

// start sends r with the first-byte watchdog armed; the watchdog stays
// armed until the stream's first event, or the end of a Do.
func (c *Client) start(ctx context.Context, r Request, accept string) (*Stream, error) {
	if ctx.Err() != nil {
		return nil, c.ctxErr(ctx)
	}
	method := r.Method
	var body io.Reader
	if r.Body != nil {
		data, err := json.Marshal(r.Body)
		if err != nil {
			return nil, &Error{Kind: sdk.ErrInvalidArgument, cause: err, msg: fmt.Sprintf("%s: encoding the request: %v", c.o.Name, err)}
		}
		body = bytes.NewReader(data)
		if method == "" {
			method = http.MethodPost
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(reqCtx, method, c.base+r.Path, body)
	if err != nil {
		cancel(nil)
		return nil, &Error{Kind: sdk.ErrInvalidArgument, cause: err, msg: fmt.Sprintf("%s: bad request URL: %v", c.o.Name, err)}
	}
	for _, h := range []http.Header{c.o.Header, r.Header} {
		for k, vs := range h {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "dpc-llmhttp/"+sdk.SDKVersion)
	}
	if c.o.Key.IsSet() {
		if c.o.KeyHeader == "" {
			req.Header.Set("Authorization", "Bearer "+c.o.Key.Secret())
		} else {
			req.Header.Set(c.o.KeyHeader, c.o.Key.Secret())
		}
	}

	s := &Stream{c: c, ctx: ctx, reqCtx: reqCtx, cancel: cancel, wd: &watchdog{cancel: cancel}}
	s.wd.arm(c.o.FirstByteTimeout, c.Errorf(ErrTimeout, "no answer from %s within %s", c.base, c.o.FirstByteTimeout))
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		s.Close()
		return nil, c.transportErr(ctx, reqCtx, err)
	}
	s.resp = resp
	c.log.Debug("response", "method", method, "path", pathOnly(r.Path), "status", resp.StatusCode,
		"duration_ms", time.Since(t0).Milliseconds())
	if resp.StatusCode/100 == 2 {
		return s, nil
	}
	defer s.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil && (ctx.Err() != nil || context.Cause(reqCtx) != nil) {
		return nil, s.fail(err)
	}
	return nil, c.statusErr(resp, data, r)
}

// ctxErr is the error for a call the caller cancelled.
func (c *Client) ctxErr(ctx context.Context) error {
	return &Error{Kind: ctx.Err(), msg: c.o.Name + ": " + ctx.Err().Error()}
}

// transportErr explains an error from sending a request.
func (c *Client) transportErr(ctx, reqCtx context.Context, err error) error {
	if ctx.Err() != nil {
		return c.ctxErr(ctx)
	}
	var timeout *Error
	if errors.As(context.Cause(reqCtx), &timeout) {
		return timeout
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the method and URL would repeat what the message says
	}
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		recErr  tls.RecordHeaderError
		certErr *tls.CertificateVerificationError
	)
	wrap := func(kind error, format string, args ...any) error {
		return &Error{Kind: kind, cause: err, msg: c.o.Name + ": " + fmt.Sprintf(format, args...)}
	}
	switch {
	case errors.As(err, &dnsErr):
		return wrap(ErrUnreachable, "cannot find the server of %s: %v", c.base, dnsErr)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return wrap(ErrUnreachable, "server at %s is not reachable (is it running?): %v", c.base, opErr)
	case errors.As(err, &recErr):
		return wrap(ErrUnreachable, "server at %s does not speak TLS (use http:// for it?): %v", c.base, err)
	case errors.As(err, &certErr):
		return wrap(ErrUnreachable, "the TLS certificate of %s is not trusted: %v", c.base, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return wrap(ErrDisconnected, "server at %s closed the connection without answering", c.base)
	}
	return wrap(ErrDisconnected, "request to %s failed: %v", c.base, err)
}

// statusErr explains a response whose status is not 2xx.
func (c *Client) statusErr(resp *http.Response, body []byte, r Request) error {
	msg, typ := ErrorMessage(body)
	msg = c.o.Key.Redact(msg)
	code := resp.StatusCode
	status := strings.TrimSpace(fmt.Sprintf("%d %s", code, http.StatusText(code)))
	detail := ""
	if msg != "" {
		detail = ": " + msg
	}
	e := &Error{Status: code, Type: typ}
	set := func(kind error, format string, args ...any) error {
		e.Kind, e.msg = kind, c.o.Name+": "+fmt.Sprintf(format, args...)
		return e
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if !c.o.Key.IsSet() {
			hint := ""
			if c.o.KeyHint != "" {
				hint = "; " + c.o.KeyHint
			}
			return set(ErrUnauthorized, "server at %s wants an API key and none is configured (%s)%s%s", c.base, status, detail, hint)
		}
		return set(ErrUnauthorized, "server at %s rejected the API key from %s (%s)%s", c.base, c.o.Key.Source(), status, detail)
	case code == http.StatusNotFound && r.Model != "" && (strings.Contains(strings.ToLower(msg), "model") || typ == "model_not_found"):
		return set(ErrModelNotFound, "server at %s has no model %q (%s)%s", c.base, r.Model, status, detail)
	case code == http.StatusNotFound:
		return set(ErrNoEndpoint, "server at %s has no %s (%s)%s; is the URL right?", c.base, pathOnly(r.Path), status, detail)
	case code == http.StatusTooManyRequests:
		retry := ""
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			retry = "; retry after " + Truncate(ra, 40) + " s"
		}
		return set(ErrRateLimited, "server at %s is limiting requests (%s)%s%s", c.base, status, detail, retry)
	case code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge || code == http.StatusUnprocessableEntity:
		return set(ErrBadRequest, "server at %s rejected the request (%s)%s", c.base, status, detail)
	case code/100 == 3:
		return set(ErrProtocol, "server at %s redirects to %q (%s); set the URL to where it points", c.base,
			Truncate(resp.Header.Get("Location"), 200), status)
	case code >= 500:
		return set(ErrServer, "server at %s failed (%s)%s", c.base, status, detail)
	}
	return set(ErrServer, "server at %s answered %s%s", c.base, status, detail)
}

// pathOnly drops the query from a request path, for logs and messages.
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// Stream is a streamed answer. Read it with NextEvent (server-sent events)
// or NextLine (NDJSON), not both; it is not safe for concurrent use.
type Stream struct {
	c      *Client
	ctx    context.Context
	reqCtx context.Context
	cancel context.CancelCauseFunc
	wd     *watchdog
	resp   *http.Response

	idleErr error
	sse     *SSEReader
	ndjson  *NDJSONReader
	started bool
	events  int
	err     error
}

// Header returns the response headers.
func (s *Stream) Header() http.Header { return s.resp.Header }

// NextEvent returns the next server-sent event, io.EOF at the end of the
// stream, or an *Error (a timeout, a broken connection, an over-long event).
func (s *Stream) NextEvent() (Event, error) {
	if s.sse == nil {
		s.sse = NewSSEReader(s.resp.Body, s.c.o.MaxLineSize)
	}
	var ev Event
	err := s.next(func() (err error) { ev, err = s.sse.Next(); return err })
	return ev, err
}

// NextLine returns the next non-blank NDJSON line, io.EOF at the end of the
// stream, or an *Error (a timeout, a broken connection, an over-long line).
func (s *Stream) NextLine() ([]byte, error) {
	if s.ndjson == nil {
		s.ndjson = NewNDJSONReader(s.resp.Body, s.c.o.MaxLineSize)
	}
	var line []byte
	err := s.next(func() (err error) { line, err = s.ndjson.Next(); return err })
	return line, err
}

// next runs one read under the right timeout: the first-byte watchdog
// armed by start is still running for the first event; each later read
// gets the idle timeout. Between reads no timer runs, so a slow caller is
// not mistaken for a slow server.
func (s *Stream) next(read func() error) error {
	if s.err != nil {
		return s.err
	}
	if s.started {
		if s.idleErr == nil {
			s.idleErr = s.c.Errorf(ErrTimeout, "server at %s stopped sending in the middle of the answer (nothing for %s)",
				s.c.base, s.c.o.IdleTimeout)
		}
		s.wd.arm(s.c.o.IdleTimeout, s.idleErr)
	}
	err := read()
	s.wd.disarm()
	s.started = true
	if err != nil {
		s.err = s.fail(err)
		s.Close()
		return s.err
	}
	s.events++
	return nil
}

// fail explains an error reading the body. io.EOF passes through.
func (s *Stream) fail(err error) error {
	c := s.c
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if s.ctx.Err() != nil {
		return c.ctxErr(s.ctx)
	}
	var timeout *Error
	if errors.As(context.Cause(s.reqCtx), &timeout) {
		return timeout
	}
	if errors.Is(err, ErrTooLong) {
		return &Error{Kind: ErrProtocol, cause: err,
			msg: fmt.Sprintf("%s: the answer from %s has a line or event longer than %d bytes", c.o.Name, c.base, c.o.MaxLineSize)}
	}
	return &Error{Kind: ErrDisconnected, cause: err,
		msg: fmt.Sprintf("%s: the connection to %s broke in the middle of the answer: %v", c.o.Name, c.base, err)}
}

// EndedEarly is the error for a stream that ended (io.EOF) before the
// message that completes the answer.
func (s *Stream) EndedEarly() error {
	if s.events == 0 {
		return s.c.Errorf(ErrProtocol, "server at %s ended the answer without sending anything (does it support streaming?)", s.c.base)
	}
	return s.c.Errorf(ErrDisconnected, "server at %s ended the stream before the answer was complete", s.c.base)
}

// Close stops the timers and releases the connection. It is safe to call
// more than once.
func (s *Stream) Close() {
	s.wd.disarm()
	s.cancel(nil)
	if s.resp != nil {
		_ = s.resp.Body.Close()
	}
}

// watchdog cancels a request when its timer fires, with the timeout error
// as the cause.
type watchdog struct {
	mu     sync.Mutex
	t      *time.Timer
	cancel context.CancelCauseFunc
}

// arm (re)starts the timer; d <= 0 leaves it stopped.
func (w *watchdog) arm(d time.Duration, cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t != nil {
		w.t.Stop()
		w.t = nil
	}
	if d > 0 {
		w.t = time.AfterFunc(d, func() { w.cancel(cause) })
	}
}

func (w *watchdog) disarm() { w.arm(0, nil) }
