package hubdpc

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
	"github.com/dpc-go/dpc/sdk/hublogin"
)

// sessionVersion is the version of the session encoding below.
const sessionVersion = 1

// maxSessionBytes bounds a session handed to Resume.
const maxSessionBytes = 16 << 10

// session is a login's state: what the plugin keeps in memory and, as the
// refresh token part of it, hands to the host as sdk.HubSession.
type session struct {
	hub        string
	nodeID     string
	access     string
	accessExp  time.Time
	refresh    string
	refreshExp time.Time
}

// sessionData is the encoding of sdk.HubSession.Data. Only the refresh
// token is kept: Resume spends it for a fresh access token.
type sessionData struct {
	V              int    `json:"v"`
	Hub            string `json:"hub"`
	NodeID         string `json:"node_id"`
	RefreshToken   string `json:"refresh_token"`
	RefreshExpires int64  `json:"refresh_expires"`
}

// hubSession encodes s for the host.
func (s *session) hubSession() sdk.HubSession {
	b, _ := json.Marshal(sessionData{V: sessionVersion, Hub: s.hub, NodeID: s.nodeID,
		RefreshToken: s.refresh, RefreshExpires: s.refreshExp.Unix()})
	return sdk.HubSession{Data: b, Expires: s.refreshExp}
}

// decodeSession decodes sdk.HubSession.Data as this plugin wrote it.
func decodeSession(raw []byte) (sessionData, error) {
	var d sessionData
	if len(raw) == 0 {
		return d, fmt.Errorf("%w: empty", ErrBadSession)
	}
	if len(raw) > maxSessionBytes {
		return d, fmt.Errorf("%w: %d bytes", ErrBadSession, len(raw))
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil || dec.More() {
		return d, fmt.Errorf("%w: not a session of this plugin", ErrBadSession)
	}
	if d.V != sessionVersion {
		return d, fmt.Errorf("%w: version %d, want %d", ErrBadSession, d.V, sessionVersion)
	}
	if canon, err := hublogin.CanonicalURL(d.Hub); err != nil || canon != d.Hub {
		return d, fmt.Errorf("%w: hub URL %q", ErrBadSession, clip(d.Hub, 128))
	}
	if !dpcuri.ValidNodeID(d.NodeID) {
		return d, fmt.Errorf("%w: node_id %q", ErrBadSession, clip(d.NodeID, 64))
	}
	if d.RefreshToken == "" || len(d.RefreshToken) > maxTokenBytes {
		return d, fmt.Errorf("%w: refresh token of %d bytes", ErrBadSession, len(d.RefreshToken))
	}
	return d, nil
}
