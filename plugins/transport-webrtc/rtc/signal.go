package rtc

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// The signal types of proto/webrtc.md §2.
const (
	typeOffer     = "webrtc-offer"
	typeAnswer    = "webrtc-answer"
	typeCandidate = "webrtc-candidate"
	typeClose     = "webrtc-close"
)

// Bounds on what a signal from outside may hold.
const (
	// MaxSignalPayload bounds a whole signal payload: an SDP of MaxSDP plus
	// JSON escaping of it.
	MaxSignalPayload = 128 << 10
	// MaxSDP bounds an offer's or answer's SDP (proto/webrtc.md §2).
	MaxSDP = 64 << 10
	// maxCandidate bounds a candidate line; real ones are under 200 bytes.
	maxCandidate = 1024
	// maxShortField bounds sdpMid, usernameFragment and a close reason.
	maxShortField = 256
)

// message is one signal payload (proto/webrtc.md §2). Only the members of
// its type are set.
type message struct {
	Type      string                   `json:"type"`
	CID       string                   `json:"cid"`
	SDP       string                   `json:"sdp,omitempty"`
	Restart   bool                     `json:"restart,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Reason    string                   `json:"reason,omitempty"`
}

// encode is the payload of m; m is built by this plugin, so it cannot fail
// in a way worth reporting beyond the error itself.
func (m message) encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type, err)
	}
	return b, nil
}

// knownType says whether typ is one of this transport's signal types.
func knownType(typ string) bool {
	switch typ {
	case typeOffer, typeAnswer, typeCandidate, typeClose:
		return true
	}
	return false
}

// decodeSignal checks and decodes the payload of a signal of type typ that
// came from outside (through the hub). Every problem is an error wrapping
// ErrInvalidSignal that says what was wrong; it never panics.
func decodeSignal(typ string, payload []byte) (message, error) {
	var m message
	if !knownType(typ) {
		return m, fmt.Errorf("%w: unknown type %q", ErrInvalidSignal, truncate(typ))
	}
	if len(payload) > MaxSignalPayload {
		return m, fmt.Errorf("%w: %s payload of %d bytes, at most %d allowed", ErrInvalidSignal, typ, len(payload), MaxSignalPayload)
	}
	if p := bytes.TrimLeft(payload, " \t\r\n"); len(p) == 0 || p[0] != '{' {
		return m, fmt.Errorf("%w: %s payload is not a JSON object", ErrInvalidSignal, typ)
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		return message{}, fmt.Errorf("%w: %s payload does not decode: %w", ErrInvalidSignal, typ, err)
	}
	if m.Type != typ {
		return message{}, fmt.Errorf("%w: payload type %q differs from the signal's type %q", ErrInvalidSignal, truncate(m.Type), typ)
	}
	if !validCID(m.CID) {
		return message{}, fmt.Errorf("%w: %s cid %q is not 32 lower-case hex characters", ErrInvalidSignal, typ, truncate(m.CID))
	}
	switch typ {
	case typeOffer, typeAnswer:
		if m.SDP == "" {
			return message{}, fmt.Errorf("%w: %s without an sdp", ErrInvalidSignal, typ)
		}
		if len(m.SDP) > MaxSDP {
			return message{}, fmt.Errorf("%w: %s sdp of %d bytes, at most %d allowed", ErrInvalidSignal, typ, len(m.SDP), MaxSDP)
		}
	case typeCandidate:
		c := m.Candidate
		if c == nil {
			return message{}, fmt.Errorf("%w: %s without a candidate", ErrInvalidSignal, typ)
		}
		if len(c.Candidate) > maxCandidate {
			return message{}, fmt.Errorf("%w: candidate of %d bytes, at most %d allowed", ErrInvalidSignal, len(c.Candidate), maxCandidate)
		}
		if (c.SDPMid != nil && len(*c.SDPMid) > maxShortField) || (c.UsernameFragment != nil && len(*c.UsernameFragment) > maxShortField) {
			return message{}, fmt.Errorf("%w: candidate sdpMid or usernameFragment over %d bytes", ErrInvalidSignal, maxShortField)
		}
	case typeClose:
		if len(m.Reason) > maxShortField {
			m.Reason = m.Reason[:maxShortField]
		}
	}
	return m, nil
}

// validCID says whether s is 32 lower-case hex characters.
func validCID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// newCID returns a fresh random connection id.
func newCID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// truncate shortens a string from outside for an error message.
func truncate(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
