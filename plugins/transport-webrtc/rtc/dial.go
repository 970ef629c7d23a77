package rtc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/dpc-go/dpc/sdk"
)

// Dial reaches the node req.ExpectedNodeID through the hub: it sends an
// offer and its candidates as signals and waits for the answer and the
// `dpc` data channel to open. req.URI must be empty: this transport dials
// by node_id. The timeout is req.Timeout, or `dial_timeout_ms`; ctx can cut
// it shorter. On failure the error says which step did not happen.
func (p *Plugin) Dial(ctx context.Context, req sdk.DialRequest) (sdk.Conn, error) {
	if req.URI != "" {
		return nil, fmt.Errorf("%s: %w: this transport dials by node_id through the hub, not by URI (got %q): leave the URI empty and set the node_id",
			pluginName, sdk.ErrInvalidArgument, truncate(req.URI))
	}
	if req.ExpectedNodeID == "" || len(req.ExpectedNodeID) > maxShortField {
		return nil, fmt.Errorf("%s: %w: dial needs the node_id of the peer to reach", pluginName, sdk.ErrInvalidArgument)
	}
	st, err := p.configured()
	if err != nil {
		return nil, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = st.cfg.dialTimeout()
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	key := sessionKey{peer: req.ExpectedNodeID, cid: newCID()}
	s, err := newSession(dctx, p, st, key, true)
	if err != nil {
		return nil, err
	}
	if st.cfg.RelayOnly && !hasTURN(s.pc.GetConfiguration().ICEServers) {
		_ = s.pc.Close()
		return nil, fmt.Errorf("%s: %w: relay_only is set but no TURN server is configured (ice_server) or offered by the hub", pluginName, sdk.ErrUnavailable)
	}
	ordered := true
	dc, err := s.pc.CreateDataChannel(dcLabel, &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		_ = s.pc.Close()
		return nil, fmt.Errorf("%s: create the data channel: %w", pluginName, err)
	}
	s.watchChannel(dc)
	if err := s.start(); err != nil {
		_ = s.pc.Close()
		return nil, err
	}
	offer, err := s.pc.CreateOffer(nil)
	if err == nil {
		err = s.announce(typeOffer, offer, false)
	}
	if err != nil {
		err = fmt.Errorf("%s: make the offer: %w", pluginName, err)
		s.close(err, "")
		return nil, err
	}
	s.log.Debug("offer sent through the hub")

	select {
	case <-s.ready:
		s.mu.Lock()
		c := s.conn
		s.mu.Unlock()
		s.log.Debug("dialed", "path", c.Path())
		return c, nil
	case <-s.done:
		if errors.Is(s.err, sdk.ErrUnavailable) {
			return nil, s.err
		}
		// Refused (not listening, busy) or closed before it opened.
		return nil, fmt.Errorf("%w: dial %s: %w", sdk.ErrUnavailable, key.peer, s.err)
	case <-dctx.Done():
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: dial %s: %w", pluginName, key.peer, ctx.Err())
	} else {
		err = fmt.Errorf("%s: %w: %s", pluginName, sdk.ErrUnavailable, s.dialFailure(timeout))
	}
	s.close(err, "dial timed out")
	return nil, err
}

// dialFailure says which step of a dial did not happen in time.
func (s *session) dialFailure(timeout time.Duration) string {
	s.mu.Lock()
	answered, ice := s.answered, s.iceState
	s.mu.Unlock()
	switch {
	case !answered:
		return fmt.Sprintf("no answer from %s through the hub within %s (is it online, logged in to the hub and running transport-webrtc?)", s.key.peer, timeout)
	case ice != webrtc.ICEConnectionStateConnected && ice != webrtc.ICEConnectionStateCompleted:
		return fmt.Sprintf("ICE found no working network path to %s within %s (state %s; across NATs a TURN server is needed)", s.key.peer, timeout, ice)
	default:
		return fmt.Sprintf("the data channel to %s did not open within %s (DTLS or SCTP failed)", s.key.peer, timeout)
	}
}

// hasTURN says whether any server is a TURN server.
func hasTURN(servers []webrtc.ICEServer) bool {
	for _, s := range servers {
		for _, u := range s.URLs {
			if len(u) >= 5 && (u[:5] == "turn:" || (len(u) >= 6 && u[:6] == "turns:")) {
				return true
			}
		}
	}
	return false
}
