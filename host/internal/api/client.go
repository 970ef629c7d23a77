package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Client talks to a running node's local API over its Unix socket: the
// token never goes over TCP, and the server must prove it runs as this user
// before it gets the token.
type Client struct {
	socket, token string
	// http bounds each request; stream has no timeout, for answers that
	// take as long as they take.
	http, stream *http.Client
}

// Dial prepares a client for the node whose API socket is socketPath and
// whose token is at tokenPath.
func Dial(socketPath, tokenPath string) (*Client, error) {
	tok, err := os.ReadFile(tokenPath)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: no API token at %s (start the node with `dpc run`)", ErrNotRunning, tokenPath)
	}
	if err != nil {
		return nil, fmt.Errorf("reading API token: %w", err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialUnix(ctx, socketPath)
	}}
	return &Client{socket: socketPath, token: strings.TrimSpace(string(tok)),
		http: &http.Client{Transport: tr, Timeout: time.Minute}, stream: &http.Client{Transport: tr}}, nil
}

// baseURL is the URL prefix of requests; the socket decides where they go.
const baseURL = "http://dpc"

// Get fetches path (e.g. "/v1/plugins") into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}

// Delete sends a DELETE to path.
func (c *Client) Delete(ctx context.Context, path string) error {
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// Post sends body as JSON to path and decodes the answer into out.
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, http.MethodPost, path, body, out)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, c.http, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// send makes one request with hc, body (if any) as JSON, and returns a 2xx
// answer; anything else is an error saying what went wrong.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if isConnRefused(err) {
		return nil, fmt.Errorf("%w: nothing answers at %s (start it with `dpc run`)", ErrNotRunning, c.socket)
	}
	if err != nil {
		return nil, fmt.Errorf("local API at %s: %w", c.socket, err)
	}
	if err := statusError(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// PostLines sends body as JSON to path and calls fn with each line of a
// newline-delimited JSON answer until it ends, ctx ends or fn fails. It has
// no overall timeout: a streamed answer takes as long as it takes.
func (c *Client) PostLines(ctx context.Context, path string, body any, fn func(json.RawMessage) error) error {
	resp, err := c.send(ctx, c.stream, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var line json.RawMessage
		if err := dec.Decode(&line); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("local API at %s: reading the answer: %w", c.socket, err)
		}
		if err := fn(line); err != nil {
			return err
		}
	}
}

// statusError turns a non-2xx answer into an error.
func statusError(resp *http.Response) error {
	if resp.StatusCode == http.StatusUnauthorized {
		return ErrUnauthorized
	}
	if resp.StatusCode/100 != 2 {
		var e errorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		return &RequestError{Status: resp.StatusCode, Message: e.Error}
	}
	return nil
}

// RequestError is the node's answer to a request it did not carry out. It
// reads as the node's own reason only: most are this node's checks of what
// was asked (a bad node_id, an empty message), not a refusal by a peer.
type RequestError struct {
	Status  int
	Message string
}

func (e *RequestError) Error() string { return e.Message }

// Is makes a RequestError match ErrRequest.
func (e *RequestError) Is(target error) bool { return target == ErrRequest }

// Stream calls fn with each event the node publishes until ctx ends or fn
// fails.
func (c *Client) Stream(ctx context.Context, fn func(json.RawMessage) error) error {
	es, err := c.Events(ctx)
	if err != nil {
		return err
	}
	defer es.Close()
	for {
		ev, err := es.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// EventStream is a subscription to the node's events.
type EventStream struct {
	conn *websocket.Conn
}

// Events subscribes to the node's events. Every event published after it
// returns is delivered (unless the reader falls far behind), so a caller
// can subscribe, then act, then wait for the event its action causes.
func (c *Client) Events(ctx context.Context) (*EventStream, error) {
	conn, _, err := websocket.Dial(ctx, "ws://dpc/v1/stream", &websocket.DialOptions{
		HTTPClient: c.stream,
		HTTPHeader: http.Header{"Authorization": []string{"Bearer " + c.token}},
	})
	if isConnRefused(err) {
		return nil, fmt.Errorf("%w: nothing answers at %s", ErrNotRunning, c.socket)
	}
	if err != nil {
		return nil, fmt.Errorf("event stream: %w", err)
	}
	conn.SetReadLimit(1 << 20)
	return &EventStream{conn: conn}, nil
}

// Next waits for the next event.
func (es *EventStream) Next(ctx context.Context) (json.RawMessage, error) {
	var ev json.RawMessage
	if err := wsjson.Read(ctx, es.conn, &ev); err != nil {
		return nil, fmt.Errorf("event stream: %w", err)
	}
	return ev, nil
}

// Close ends the subscription.
func (es *EventStream) Close() { _ = es.conn.CloseNow() }
