package hubdpc

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seeds returns the answers in testdata/ (real dpc-hub answers, and broken
// ones) as fuzz seeds.
func seeds(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeHubAnswers feeds every decoder of the hub's HTTP answers: none
// may panic, and what they accept must hold the invariants they promise.
func FuzzDecodeHubAnswers(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		_ = decodeHubError("GET", "/x", 401, http.Header{"Retry-After": {string(raw)}}, raw)
		_, _ = decodeChallenge(raw)
		if tok, err := decodeTokens(raw); err == nil && (tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn <= 0) {
			t.Errorf("decodeTokens accepted %+v", tok)
		}
		_, _ = decodeProfile(raw)
		_, _ = decodePresence(raw)
		_, _ = decodeSearch(raw)
		if a, err := decodeProviders(raw); err == nil {
			for _, pr := range a.Providers {
				if !validProviderName(pr.Name) || pr.DisplayName == "" {
					t.Errorf("decodeProviders accepted %+v", a)
				}
			}
		}
		if a, err := decodeAccounts(raw); err == nil {
			for _, ac := range a.Accounts {
				if !validProviderName(ac.Provider) || ac.Subject == "" {
					t.Errorf("decodeAccounts accepted %+v", a)
				}
			}
		}
		for _, base := range []string{"https://hub.example", "http://127.0.0.1:8080"} {
			if l, err := decodeLink(raw, base, "github"); err == nil {
				u, perr := url.Parse(l.URL)
				b, _ := url.Parse(base)
				if perr != nil || !sameOrigin(u, b) || l.ExpiresIn <= 0 {
					t.Errorf("decodeLink for %s accepted %+v", base, l)
				}
			}
		}
		if a, err := decodeMailboxPut(raw); err == nil && (a.ID == "" || len(a.ID) > maxEnvelopeIDLen) {
			t.Errorf("decodeMailboxPut accepted %+v", a)
		}
		if a, err := decodeMailboxFetch(raw, 2); err == nil {
			for _, e := range a.Envelopes {
				if len(a.Envelopes) > 2 || e.ID == "" || len(e.Envelope) == 0 || len(e.Envelope) > maxEnvelopeBytes {
					t.Errorf("decodeMailboxFetch accepted %+v", a)
				}
			}
		}
		if a, err := decodeMailboxAck(raw); err == nil && a.Deleted < 0 {
			t.Errorf("decodeMailboxAck accepted %+v", a)
		}
		if a, err := decodeIceServers(raw); err == nil {
			for _, is := range a.IceServers {
				if len(is.URLs) == 0 || (strings.HasPrefix(is.URLs[0], "turn") && is.Credential == "") || a.TTL <= 0 {
					t.Errorf("decodeIceServers accepted %+v", a)
				}
			}
		}
	})
}

// FuzzDecodeWSMessage: a signal it accepts has a valid sender and an object
// payload; a reconnect hint's wait stays within [0, 30 s].
func FuzzDecodeWSMessage(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, _, err := decodeWSMessage(raw)
		if w := hintWait(m.RetryAfterMS); w < 0 || w > backoffMax {
			t.Errorf("retry_after_ms %d gave the wait %s", m.RetryAfterMS, w)
		}
		if err == nil && m.Type == "signal" {
			if _, err := payloadType(m.Payload); err != nil {
				t.Errorf("accepted a signal whose payload %q is not an object", m.Payload)
			}
		}
	})
}

// FuzzDecodeSession: Resume's input comes from the host's store; whatever it
// accepts re-encodes to a session it accepts again.
func FuzzDecodeSession(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := decodeSession(raw)
		if err != nil {
			return
		}
		s := session{hub: d.Hub, nodeID: d.NodeID, refresh: d.RefreshToken}
		if _, err := decodeSession(s.hubSession().Data); err != nil {
			t.Errorf("a session it accepted does not round-trip: %v", err)
		}
	})
}
