package channels

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/dptp"
	"github.com/dpc-go/dpc/host/internal/network"
)

// Mailbox carries channel ops to members with no session through the hub,
// sealed to each member (package mailbox's Service).
type Mailbox interface {
	// Ready tells whether the node is logged in to a hub now.
	Ready() bool
	// Send seals p to peer to and leaves it at the hub for ttl (0: the
	// longest the hub keeps envelopes).
	Send(ctx context.Context, to string, p dptp.Payload, ttl time.Duration) error
}

// mailBatch bounds the CHANNEL_OPS JSON of one envelope, leaving room in
// the hub's 64 KiB for the envelope's own fields (certificate, signature).
const mailBatch = 60 << 10

// mailWait bounds sending one push's envelopes.
const mailWait = time.Minute

// registerMailbox accepts CHANNEL_OPS pushes from the mailbox: they take
// the path of a push over a session (chansync checks the sender is a
// member that may write what it sent, chanstate verifies every op).
func (s *Service) registerMailbox() {
	network.HandleMailbox(s.net.Router(), func(_ context.Context, from string, p dptp.ChannelOps) error {
		if p.RequestID != "" {
			return fmt.Errorf("%w: an answer to CHANNEL_WANT (request_id %s) only travels over a session", ErrRefused, p.RequestID)
		}
		reply, missing := s.syncer.Handle(from, p)
		if e, ok := reply.(dptp.ErrorReply); ok {
			return fmt.Errorf("%w: %s: %s", ErrRefused, e.Code, e.Message)
		}
		if len(missing) > 0 {
			// No session to fetch them on: the next one's sync does.
			s.log.Debug("ops from the mailbox wait for parents", "peer", from, "channel", p.ChannelID, "missing", len(missing))
		}
		return nil
	})
}

// mail sends ops this node wrote to the members that have no session,
// through the mailbox when the node is logged in to a hub: one envelope
// per member per push, more when the ops exceed mailBatch. Sync on their
// next session still catches them up on whatever does not arrive.
func (s *Service) mail(ch chanop.ID, members []string, raw [][]byte) {
	if s.mailbox == nil || len(members) == 0 || !s.mailbox.Ready() {
		return
	}
	batches := s.mailBatches(ch, raw)
	s.net.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, mailWait)
		defer cancel()
		for _, m := range members {
			for _, b := range batches {
				if err := s.mailbox.Send(ctx, m, b, 0); err != nil {
					s.log.Info("channel ops not mailed; the member catches up by sync when it connects", "peer", m, "channel", ch, "error", err)
					break
				}
			}
		}
	})
}

// mailBatches splits raw into CHANNEL_OPS whose JSON stays under mailBatch,
// in order. An op too large for an envelope on its own is left to sync.
func (s *Service) mailBatches(ch chanop.ID, raw [][]byte) []dptp.ChannelOps {
	// {"channel_id":"<64 hex>","ops":[]}, then per op its base64, two
	// quotes and a comma.
	const empty = len(`{"channel_id":"","ops":[]}`) + dptp.ChannelIDLen
	var out []dptp.ChannelOps
	cur, size := dptp.ChannelOps{ChannelID: ch.String()}, empty
	for _, op := range raw {
		n := base64.StdEncoding.EncodedLen(len(op)) + 3
		if empty+n > mailBatch {
			s.log.Info("channel op too large for a mailbox envelope; members catch up by sync", "channel", ch, "bytes", len(op))
			continue
		}
		if size+n > mailBatch || len(cur.Ops) == dptp.MaxChannelOps {
			out = append(out, cur)
			cur, size = dptp.ChannelOps{ChannelID: ch.String()}, empty
		}
		cur.Ops = append(cur.Ops, op)
		size += n
	}
	if len(cur.Ops) > 0 {
		out = append(out, cur)
	}
	return out
}
