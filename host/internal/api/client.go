package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
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
	return &Client{addr: addr, token: strings.TrimSpace(string(tok)), http: &http.Client{Timeout: 10 * time.Second}}, nil
}

// Get fetches path (e.g. "/v1/plugins") into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if isConnRefused(err) {
		return fmt.Errorf("%w: nothing answers at %s (start it with `dpc run`)", ErrNotRunning, c.addr)
	}
	if err != nil {
		return fmt.Errorf("local API at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return ErrUnauthorized
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("local API %s: %s: %s", path, resp.Status, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
