package hubdpc

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// TestMailboxThroughTheHub: against the real dpc-hub, Alice stores two
// envelopes for Bob; Bob's Signals gets the hub's arrival hint (Type
// "mailbox", no sender), he fetches them oldest first with their bytes,
// Alice cannot ack them away, and his ack deletes them.
func TestMailboxThroughTheHub(t *testing.T) {
	t.Parallel()
	hub := startHub(t, "127.0.0.1:0", t.TempDir())
	ctx := context.Background()
	alice, bob := newNode(t, hub.URL, "Alice", nil), newNode(t, hub.URL, "Bob", nil)
	alice.login(t)
	bob.login(t)
	bobIn, _ := bob.signals(t)
	waitEvents(t, bob.h.Host, EventConnected, 1)

	first := []byte("sealed \x00\xff one")
	put1, err := alice.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: bob.ident.NodeID, Envelope: first, TTL: time.Hour})
	if err != nil || put1.EnvelopeID == "" {
		t.Fatalf("MailboxPut: %+v, %v", put1, err)
	}
	if s := recv(t, bobIn); s.Type != sdk.SignalTypeMailbox || s.SenderNodeID != "" || len(s.Payload) != 0 {
		t.Fatalf("Bob's hint: want a mailbox signal without sender or payload, got %+v", s)
	}
	put2, err := alice.hub.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: bob.ident.NodeID, Envelope: []byte("two")})
	if err != nil {
		t.Fatalf("second MailboxPut (hub's default TTL): %v", err)
	}
	recv(t, bobIn)

	cases := map[string]struct {
		limit int
		want  []string
	}{
		"default limit": {0, []string{put1.EnvelopeID, put2.EnvelopeID}},
		"limit 1":       {1, []string{put1.EnvelopeID}},
		"limit 1000":    {1000, []string{put1.EnvelopeID, put2.EnvelopeID}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := bob.hub.MailboxFetch(ctx, sdk.MailboxFetchRequest{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Envelopes) != len(tc.want) {
				t.Fatalf("want %d envelopes, got %+v", len(tc.want), got)
			}
			for i, e := range got.Envelopes {
				if e.ID != tc.want[i] || e.Received.IsZero() {
					t.Fatalf("envelope %d: %+v, want id %s", i, e, tc.want[i])
				}
			}
			if !bytes.Equal(got.Envelopes[0].Envelope, first) {
				t.Fatalf("first envelope %q, want %q", got.Envelopes[0].Envelope, first)
			}
		})
	}

	if err := alice.hub.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: []string{put1.EnvelopeID}}); err != nil {
		t.Fatalf("Alice's ack of Bob's envelope: want it ignored, got %v", err)
	}
	if got, err := bob.hub.MailboxFetch(ctx, sdk.MailboxFetchRequest{}); err != nil || len(got.Envelopes) != 2 {
		t.Fatalf("after Alice's ack: %+v, %v", got, err)
	}
	if err := bob.hub.MailboxAck(ctx, sdk.MailboxAckRequest{EnvelopeIDs: []string{put1.EnvelopeID, put2.EnvelopeID}}); err != nil {
		t.Fatalf("Bob's ack: %v", err)
	}
	if got, err := bob.hub.MailboxFetch(ctx, sdk.MailboxFetchRequest{}); err != nil || len(got.Envelopes) != 0 {
		t.Fatalf("after Bob's ack: %+v, %v", got, err)
	}
}

// TestMailboxRefusalsMapToSentinels: the hub's refusals of the mailbox
// arrive as the sdk sentinels the host acts on.
func TestMailboxRefusalsMapToSentinels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	recipient := "dpc-node-0123456789abcdef0123456789abcdef"
	tests := map[string]struct {
		hubURL   func(t *testing.T) string
		call     func(h sdk.Hub) error
		want     error
		wantCode string
	}{
		"over the hub's per-sender limit": {
			hubURL: func(t *testing.T) string { return startHub(t, "127.0.0.1:0", t.TempDir(), "--rate-mailbox", "1").URL },
			call: func(h sdk.Hub) error {
				for range 2 {
					if _, err := h.MailboxPut(ctx, sdk.MailboxPutRequest{RecipientNodeID: recipient, Envelope: []byte("x")}); err != nil {
						return err
					}
				}
				return nil
			},
			want: sdk.ErrUnavailable, wantCode: "rate_limited",
		},
		"a hub without a mailbox": {
			hubURL: func(t *testing.T) string { return newFakeHub(t).base },
			call: func(h sdk.Hub) error {
				_, err := h.MailboxFetch(ctx, sdk.MailboxFetchRequest{})
				return err
			},
			want: sdk.ErrUnsupported,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, tc.hubURL(t), "Alice", nil)
			n.login(t)
			err := tc.call(n.hub)
			if !errors.Is(err, tc.want) {
				t.Fatalf("want an error wrapping %v, got %v", tc.want, err)
			}
			// Through the plugin connection only the sentinel and the text
			// arrive; the plugin's own error says the code.
			if tc.wantCode != "" {
				if err := tc.call(n.p); !errors.Is(err, tc.want) || !hubCode(err, tc.wantCode) {
					t.Fatalf("in-process: want %v with hub code %s, got %v", tc.want, tc.wantCode, err)
				}
			}
		})
	}
}

// hubCode reports whether err carries a *HubError with that code.
func hubCode(err error, code string) bool {
	var he *HubError
	return errors.As(err, &he) && he.Code == code && he.Status != http.StatusOK
}
