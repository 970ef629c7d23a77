package hubdpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// refreshMargin: an access token this close to its expiry is refreshed
// before use, so that a request or a socket never starts with one the hub
// is about to refuse.
const refreshMargin = 30 * time.Second

// rawBody is a request body sent as bytes (a mailbox envelope) rather than
// JSON, with headers of its own.
type rawBody struct {
	data   []byte
	header http.Header
}

// do sends one request to the hub and returns the body of a 2xx answer;
// any other status is a *HubError (see refusal), a network failure an error
// wrapping sdk.ErrUnavailable that says where it tried.
func (p *Plugin) do(ctx context.Context, base, method, path, token string, body any) ([]byte, error) {
	return p.doMax(ctx, base, method, path, token, body, maxResponseBytes)
}

// doMax is do with the largest answer body it reads (a mailbox fetch
// carries up to megabytes of envelopes).
func (p *Plugin) doMax(ctx context.Context, base, method, path, token string, body any, maxBytes int) ([]byte, error) {
	var (
		rd          io.Reader
		contentType = "application/json"
		extra       http.Header
	)
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd, contentType, extra = bytes.NewReader(b.data), "application/octet-stream", b.header
	default:
		j, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s%s: %w", sdk.ErrInvalidArgument, method, base, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s%s: %w", method, base, path, ctx.Err())
		}
		return nil, fmt.Errorf("%w: cannot reach the hub at %s (%s %s): %w; is the hub running, and is the plugin's url right?",
			sdk.ErrUnavailable, base, method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the hub's answer to %s %s: %w", sdk.ErrUnavailable, method, path, err)
	}
	if len(raw) > maxBytes {
		return nil, fmt.Errorf("%w: the answer to %s %s is over %d bytes", ErrBadResponse, method, path, maxBytes)
	}
	if resp.StatusCode/100 != 2 {
		return nil, refusal(decodeHubError(method, path, resp.StatusCode, resp.Header, raw))
	}
	return raw, nil
}

// httpClient bounds every request; a context may end it sooner.
var httpClient = &http.Client{Timeout: 30 * time.Second}

// current returns the login state, or ErrNotLoggedIn. The session must be
// for the configured hub: a Configure with another url ends it.
func (p *Plugin) current() (session, string, error) {
	cfg, _, err := p.config.Get()
	if err != nil {
		return session{}, "", err
	}
	base := cfg.base()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess == nil || p.sess.hub != base {
		return session{}, base, fmt.Errorf("%w %s (%w): log in first", ErrNotLoggedIn, base, sdk.ErrPermissionDenied)
	}
	return *p.sess, base, nil
}

// adopt makes the hub's token answer the current session and returns it.
func (p *Plugin) adopt(base string, t tokenAnswer) session {
	now := time.Now()
	s := session{hub: base, nodeID: t.NodeID, access: t.AccessToken, refresh: t.RefreshToken,
		accessExp:  now.Add(time.Duration(t.ExpiresIn) * time.Second),
		refreshExp: now.Add(time.Duration(t.RefreshExpiresIn) * time.Second)}
	p.mu.Lock()
	p.sess = &s
	p.mu.Unlock()
	return s
}

// endSession forgets the login and tells the host to forget it too.
func (p *Plugin) endSession(ctx context.Context) {
	p.mu.Lock()
	// The hub revokes the TURN credentials of a login that ends.
	p.sess, p.ice = nil, nil
	p.mu.Unlock()
	p.saveSession(ctx, sdk.HubSession{})
}

// saveSession hands the session to the host. A host that cannot keep it is
// not an error for the plugin: the login goes on in memory, and only a
// restart needs a new one.
func (p *Plugin) saveSession(ctx context.Context, s sdk.HubSession) {
	p.mu.Lock()
	host := p.host
	p.mu.Unlock()
	if host == nil {
		return
	}
	if err := host.SaveHubSession(ctx, s); err != nil {
		_, log, _ := p.config.Get()
		if log != nil {
			log.Debug("the host did not keep the hub session; a restart will need a new login", "error", err)
		}
	}
}

// refresh spends the refresh token for new tokens, unless the access token
// seen by the caller (stale) was already replaced by another refresh. The
// hub rotates the refresh token on every use and treats a spent one coming
// back as theft, so refreshes are serialised and the new token is stored
// (and handed to the host) before anything else can use the old one.
func (p *Plugin) refresh(ctx context.Context, stale string) (session, error) {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	s, base, err := p.current()
	if err != nil {
		return session{}, err
	}
	if s.access != stale {
		return s, nil
	}
	return p.spendRefresh(ctx, base, s.nodeID, s.refresh)
}

// spendRefresh calls POST /refresh; p.refreshMu is held. A refusal by the
// hub ends the session here and at the host; a hub that cannot be reached
// leaves it as it is, for a later try.
func (p *Plugin) spendRefresh(ctx context.Context, base, nodeID, refresh string) (session, error) {
	raw, err := p.do(ctx, base, http.MethodPost, "/refresh", "", map[string]string{"refresh_token": refresh})
	var he *HubError
	if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
		p.endSession(ctx)
		p.emit(ctx, sdk.Event{Type: EventSessionEnded, Level: sdk.EventError,
			Message: "the hub ended this node's login; log in again", Attributes: map[string]string{"hub": base, "code": he.Code}})
		return session{}, fmt.Errorf("%w: %w", ErrSessionEnded, err)
	}
	if err != nil {
		return session{}, fmt.Errorf("refreshing the hub login: %w", err)
	}
	t, err := decodeTokens(raw)
	if err != nil {
		return session{}, err
	}
	if t.NodeID != nodeID {
		return session{}, fmt.Errorf("%w: the hub refreshed the login of %s, not %s", ErrBadResponse, t.NodeID, nodeID)
	}
	s := p.adopt(base, t)
	p.saveSession(ctx, s.hubSession())
	return s, nil
}

// authed returns a session whose access token is not about to expire.
func (p *Plugin) authed(ctx context.Context) (session, string, error) {
	s, base, err := p.current()
	if err != nil {
		return s, base, err
	}
	if time.Until(s.accessExp) < refreshMargin {
		s, err = p.refresh(ctx, s.access)
	}
	return s, base, err
}

// call is do with the access token; an access token the hub no longer
// takes (invalid_token: expired, say) is refreshed once and the call
// repeated.
func (p *Plugin) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	return p.callMax(ctx, method, path, body, maxResponseBytes)
}

// callMax is call with the largest answer body it reads.
func (p *Plugin) callMax(ctx context.Context, method, path string, body any, maxBytes int) ([]byte, error) {
	s, base, err := p.authed(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := p.doMax(ctx, base, method, path, s.access, body, maxBytes)
	var he *HubError
	if errors.As(err, &he) && he.Status == http.StatusUnauthorized && he.Code == "invalid_token" {
		if s, err = p.refresh(ctx, s.access); err != nil {
			return nil, err
		}
		raw, err = p.doMax(ctx, base, method, path, s.access, body, maxBytes)
	}
	return raw, err
}

// emit reports an event to the host; a host that does not take it only
// costs the user that event.
func (p *Plugin) emit(ctx context.Context, e sdk.Event) {
	p.mu.Lock()
	host := p.host
	p.mu.Unlock()
	if host != nil {
		_ = host.EmitEvent(ctx, e)
	}
}
