package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Client talks to a running node's local API.
type Client struct {
	addr, token string
	http        *http.Client
}

// Dial prepares a client for the node whose token and bound address are at
// tokenPath and addrPath; configured is the address from the config, used
// when no address file exists.
func Dial(tokenPath, addrPath, configured string) (*Client, error) {
	addr := configured
	if b, err := os.ReadFile(addrPath); err == nil {
		addr = strings.TrimSpace(string(b))
	}
	tok, err := os.ReadFile(tokenPath)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: no API token at %s (start the node with `dpc run`)", ErrNotRunning, tokenPath)
	}
	if err != nil {
		return nil, fmt.Errorf("reading API token: %w", err)
	}
	return &Client{addr: addr, token: strings.TrimSpace(string(tok)), http: &http.Client{Timeout: time.Minute}}, nil
}

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
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if isConnRefused(err) {
		return nil, fmt.Errorf("%w: nothing answers at %s (start it with `dpc run`)", ErrNotRunning, c.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("local API at %s: %w", c.addr, err)
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
	resp, err := c.send(ctx, &http.Client{}, http.MethodPost, path, body)
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
			return fmt.Errorf("local API at %s: reading the answer: %w", c.addr, err)
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
		return fmt.Errorf("%w: %s", ErrRequest, e.Error)
	}
	return nil
}

// Stream calls fn with each event the node publishes until ctx ends or fn
// fails.
func (c *Client) Stream(ctx context.Context, fn func(json.RawMessage) error) error {
	conn, _, err := websocket.Dial(ctx, "ws://"+c.addr+"/v1/stream", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": []string{"Bearer " + c.token}},
	})
	if isConnRefused(err) {
		return fmt.Errorf("%w: nothing answers at %s", ErrNotRunning, c.addr)
	}
	if err != nil {
		return fmt.Errorf("event stream: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	for {
		var ev json.RawMessage
		if err := wsjson.Read(ctx, conn, &ev); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("event stream: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}
