package chat_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/nettest"
	"github.com/dpc-go/dpc/host/internal/network"
	"github.com/dpc-go/dpc/host/internal/session"
)

// TestStrangerFloodOfRequestsIsBounded: a stranger cannot make the node
// keep more than its quota of contact requests, nor can strangers beyond the
// bound leave any; what is refused is refused with an ACK that says why.
func TestStrangerFloodOfRequestsIsBounded(t *testing.T) {
	t.Parallel()
	type send struct {
		stranger int // which stranger sends
		id, text string
		want     string // ACK status
	}
	small := "hello"
	big := strings.Repeat("x", 40<<10)
	for _, tc := range []struct {
		name   string
		limits network.StrangerLimits
		sends  []send
	}{
		{
			name:   "messages beyond the per-stranger count",
			limits: network.StrangerLimits{RequestMessages: 2},
			sends: []send{{0, "m1", small, dptp.AckHeld}, {0, "m2", small, dptp.AckHeld}, {0, "m3", small, dptp.AckDenied},
				// A copy of a held message is still acknowledged as held.
				{0, "m2", small, dptp.AckHeld}},
		},
		{
			name:   "bytes beyond the per-stranger size",
			limits: network.StrangerLimits{}, // the defaults: 64 KiB
			sends:  []send{{0, "b1", big, dptp.AckHeld}, {0, "b2", big, dptp.AckDenied}, {0, "b3", small, dptp.AckHeld}},
		},
		{
			name:   "strangers beyond the total",
			limits: network.StrangerLimits{MaxStrangers: 2},
			sends:  []send{{0, "s1", small, dptp.AckHeld}, {1, "s2", small, dptp.AckHeld}, {2, "s3", small, dptp.AckDenied}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := nettest.Loopback(t, "bob", func(o *network.Options) { o.Strangers = tc.limits })
			sessions := map[int]*session.Session{}
			for _, snd := range tc.sends {
				s := sessions[snd.stranger]
				if s == nil {
					s, _ = nettest.RawSession(t, b)
					sessions[snd.stranger] = s
				}
				a := nettest.SendText(t, s, snd.id, snd.text)
				if a.Status != snd.want {
					t.Fatalf("%s: want ACK %s, got %+v", snd.id, snd.want, a)
				}
				if a.Status == dptp.AckDenied && !strings.HasPrefix(a.Reason, "quota_exceeded: ") {
					t.Errorf("%s: want a reason that names the quota, got %q", snd.id, a.Reason)
				}
			}
			if got, max := b.Peers.Strangers(), b.Net.StrangerLimits().MaxStrangers; got > max {
				t.Errorf("%d strangers on record, want at most %d", got, max)
			}
		})
	}
}

// TestStrangerHistoryCannotBypassTheQuota: an unasked-for
// CHAT_HISTORY_RESPONSE from a stranger stores nothing, or it would be a
// way around the request quota.
func TestStrangerHistoryCannotBypassTheQuota(t *testing.T) {
	t.Parallel()
	b := nettest.Loopback(t, "bob", func(o *network.Options) { o.Strangers = network.StrangerLimits{RequestMessages: 1} })
	s, raw := nettest.RawSession(t, b)
	var items []dptp.ChatMessage
	for i := range 30 {
		items = append(items, dptp.ChatMessage{MessageID: fmt.Sprintf("h%d", i), From: raw.NodeID, To: b.ID.NodeID, Text: "via history", SentAt: dptp.Now()})
	}
	if err := s.Send(dptp.CmdChatHistoryResponse, dptp.ChatHistoryResponse{RequestID: "unasked", Messages: items}); err != nil {
		t.Fatal(err)
	}
	// Frames are handled in order: once this is acknowledged, the
	// history response has been dealt with.
	if a := nettest.SendText(t, s, "direct", "hello"); a.Status != dptp.AckHeld {
		t.Fatalf("want the one allowed request held, got %+v", a)
	}
	h, err := b.Chat.History(raw.NodeID, time.Time{}, 0)
	if err != nil || len(h) != 1 || h[0].ID != "direct" {
		t.Errorf("want only the directly sent request stored, got %d messages (err %v)", len(h), err)
	}
}
