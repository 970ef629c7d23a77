package chansync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// TestHandleHostilePayloads: what a member answers to payloads a broken or
// hostile peer sends. Nothing is stored and nothing is created.
func TestHandleHostilePayloads(t *testing.T) {
	t.Parallel()
	raw, ch := genesis(9)
	otherRaw, other := genesis(10)
	good := encodeTestOp(testOp{channel: ch, parents: []ID{ch}, body: []byte("ok")})
	orphan := encodeTestOp(testOp{channel: ch, parents: []ID{{0xee}}, body: []byte("orphan")})
	stranger := nodeID("mallory")
	allow := func(peer string, _ ID) bool { return peer != stranger }
	hexCh := ch.String()
	unknownIDs := func(n int) []string {
		ids := make([]ID, n)
		for i := range ids {
			ids[i][0], ids[i][1], ids[i][31] = byte(i>>8), byte(i), 0x77
		}
		return hexIDs(sortIDs(ids))
	}

	tests := map[string]struct {
		from        string
		p           dptp.Payload
		wantCode    string // ERROR code answered, "" for none
		wantOps     int    // ops in a CHANNEL_OPS answer (-1: no such answer)
		wantMissing int
		wantCount   int // ops held afterwards
	}{
		"push of garbage bytes": {p: dptp.ChannelOps{ChannelID: hexCh, Ops: [][]byte{[]byte("garbage")}},
			wantCode: dptp.CodeBadRequest, wantOps: -1, wantCount: 1},
		"push with garbage after a good op": {p: dptp.ChannelOps{ChannelID: hexCh, Ops: [][]byte{good, {0xff, 0}}},
			wantCode: dptp.CodeBadRequest, wantOps: -1, wantCount: 2},
		"push of another channel's op": {p: dptp.ChannelOps{ChannelID: hexCh, Ops: [][]byte{otherRaw}},
			wantCode: dptp.CodeBadRequest, wantOps: -1, wantCount: 1},
		"push to a channel not held": {p: dptp.ChannelOps{ChannelID: other.String(), Ops: [][]byte{good}},
			wantCode: dptp.CodeNotFound, wantOps: -1, wantCount: 1},
		"sync of a channel not held": {p: dptp.ChannelSync{RequestID: "r", ChannelID: other.String()},
			wantCode: dptp.CodeNotFound, wantOps: -1, wantCount: 1},
		"want of a channel not held": {p: dptp.ChannelWant{RequestID: "r", ChannelID: other.String(), IDs: []string{ch.String()}},
			wantCode: dptp.CodeNotFound, wantOps: -1, wantCount: 1},
		"sync from a peer not allowed": {from: stranger, p: dptp.ChannelSync{RequestID: "r", ChannelID: hexCh},
			wantCode: dptp.CodePermissionDenied, wantOps: -1, wantCount: 1},
		"want from a peer not allowed": {from: stranger, p: dptp.ChannelWant{RequestID: "r", ChannelID: hexCh, IDs: []string{hexCh}},
			wantCode: dptp.CodePermissionDenied, wantOps: -1, wantCount: 1},
		"push from a peer not allowed": {from: stranger, p: dptp.ChannelOps{ChannelID: hexCh, Ops: [][]byte{good}},
			wantCode: dptp.CodePermissionDenied, wantOps: -1, wantCount: 1},
		"want of the most unknown ids": {p: dptp.ChannelWant{RequestID: "r", ChannelID: hexCh, IDs: unknownIDs(dptp.MaxChannelWant)},
			wantOps: 0, wantCount: 1},
		"want of the first op": {p: dptp.ChannelWant{RequestID: "r", ChannelID: hexCh, IDs: []string{hexCh}},
			wantOps: 1, wantCount: 1},
		"push of an op whose parent never comes": {p: dptp.ChannelOps{ChannelID: hexCh, Ops: [][]byte{orphan}},
			wantOps: -1, wantMissing: 1, wantCount: 1},
		"unsolicited answer": {p: dptp.ChannelOps{RequestID: "r", ChannelID: hexCh, Ops: [][]byte{good}},
			wantOps: -1, wantCount: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, "n", raw, allow)
			from := tc.from
			if from == "" {
				from = nodeID("peer")
			}
			// The payload crosses a real frame first, as from a session.
			in, err := pipe{w: &wire{}}.carry(tc.p)
			if err != nil {
				t.Fatalf("payload does not cross a frame: %v", err)
			}
			reply, missing := n.syncer.Handle(from, in)
			e, isErr := reply.(dptp.ErrorReply)
			switch {
			case tc.wantCode != "" && (!isErr || e.Code != tc.wantCode):
				t.Errorf("want ERROR %s, got %#v", tc.wantCode, reply)
			case tc.wantCode == "" && isErr:
				t.Errorf("want no ERROR, got %s: %s", e.Code, e.Message)
			}
			if isErr {
				if err := e.Validate(); err != nil {
					t.Errorf("ERROR answered is not valid: %v", err)
				}
			}
			ops, isOps := reply.(dptp.ChannelOps)
			if tc.wantOps >= 0 && (!isOps || len(ops.Ops) != tc.wantOps || ops.More) {
				t.Errorf("want CHANNEL_OPS with %d ops, got %#v", tc.wantOps, reply)
			}
			if len(missing) != tc.wantMissing {
				t.Errorf("want %d missing parents, got %d", tc.wantMissing, len(missing))
			}
			if got := n.log.Count(ch); got != tc.wantCount {
				t.Errorf("want %d ops held, got %d", tc.wantCount, got)
			}
			if n.log.Known(other) {
				t.Errorf("a channel was created by a peer")
			}
		})
	}
}

// TestWantOfAMillionIDsNeverReachesTheSyncer: a CHANNEL_WANT of 10^6 ids is
// a frame far beyond the limit, refused by the reader before allocation; one
// that fits a frame but lists more than 1024 ids is refused by validation.
func TestWantOfAMillionIDsNeverReachesTheSyncer(t *testing.T) {
	t.Parallel()
	frame := func(n int) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, `{"command":"CHANNEL_WANT","payload":{"request_id":"r","channel_id":"%064x","ids":[`, 1)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%064x"`, i+1)
		}
		b.WriteString(`]}}`)
		return fmt.Appendf(nil, "%010d%s", b.Len(), b.String())
	}
	tests := map[string]struct {
		ids     int
		wantErr error
	}{
		"a million ids":                 {1_000_000, dptp.ErrFrameTooLarge},
		"50,000 ids in a 4 MiB frame":   {50_000, dptp.ErrInvalidPayload},
		"one more than allowed":         {dptp.MaxChannelWant + 1, dptp.ErrInvalidPayload},
		"as many as allowed is decoded": {dptp.MaxChannelWant, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := dptp.NewReader(bytes.NewReader(frame(tc.ids)), dptp.DefaultMaxFrameSize).Read()
			if err == nil {
				_, err = dptp.DecodePayload(f)
			}
			if !errors.Is(err, tc.wantErr) && (tc.wantErr != nil || err != nil) {
				t.Errorf("want %v, got %v", tc.wantErr, err)
			}
		})
	}
}

// fakePeer answers requests with a function: a hostile responder.
type fakePeer struct {
	answer func(n int, req dptp.Payload) dptp.Payload
	n      int
}

func (f *fakePeer) NodeID() string { return nodeID("mallory") }

func (f *fakePeer) Request(_ context.Context, p dptp.Payload) (dptp.Payload, error) {
	f.n++
	a := f.answer(f.n, p)
	if a == nil {
		return nil, errors.New("fake: no answer")
	}
	return a, nil
}

func (f *fakePeer) Send(context.Context, dptp.Payload) error { return nil }

// TestFetchFromHostilePeer: the asker stops, with a clear error and few
// round trips, whatever a responder answers, and keeps nothing beyond its
// log's bounded pending buffer.
func TestFetchFromHostilePeer(t *testing.T) {
	t.Parallel()
	raw, ch := genesis(11)
	rng := rand.New(rand.NewPCG(12, 13))
	wanted := ID{0xaa}
	orphanOps := func() [][]byte {
		var ops [][]byte
		for range 100 {
			var p ID
			for i := range p {
				p[i] = byte(rng.UintN(256))
			}
			ops = append(ops, encodeTestOp(testOp{channel: ch, parents: []ID{p}, body: []byte{byte(rng.UintN(256))}}))
		}
		return ops
	}
	answerOps := func(ops [][]byte, more bool) func(int, dptp.Payload) dptp.Payload {
		return func(_ int, req dptp.Payload) dptp.Payload {
			w := req.(dptp.ChannelWant)
			return dptp.ChannelOps{RequestID: w.RequestID, ChannelID: w.ChannelID, Ops: ops, More: more}
		}
	}
	tests := map[string]struct {
		answer    func(int, dptp.Payload) dptp.Payload
		wantErr   error
		maxRounds int
	}{
		"ops whose parents never come": {answer: func(n int, req dptp.Payload) dptp.Payload {
			return answerOps(orphanOps(), true)(n, req)
		}, wantErr: ErrNoProgress, maxRounds: DefaultMaxStall},
		"more forever but no ops": {answer: answerOps(nil, true), wantErr: ErrNoProgress, maxRounds: DefaultMaxStall},
		"none of the wanted ops":  {answer: answerOps(nil, false), wantErr: ErrNoProgress, maxRounds: 1},
		"garbage op":              {answer: answerOps([][]byte{[]byte("garbage")}, false), wantErr: ErrBadOp, maxRounds: 1},
		"op of another channel":   {answer: answerOps([][]byte{encodeTestOp(testOp{channel: ID{2}, parents: []ID{ch}})}, false), wantErr: ErrBadOp, maxRounds: 1},
		"another request id": {answer: func(int, dptp.Payload) dptp.Payload {
			return dptp.ChannelOps{RequestID: "other", ChannelID: ch.String()}
		}, wantErr: ErrBadAnswer, maxRounds: 1},
		"another command": {answer: func(int, dptp.Payload) dptp.Payload { return dptp.Pong{RequestID: "r"} }, wantErr: ErrBadAnswer, maxRounds: 1},
		"ERROR": {answer: func(int, dptp.Payload) dptp.Payload {
			return dptp.ErrorReply{Code: dptp.CodeRateLimited, Message: "slow down"}
		}, wantErr: ErrPeerRefused, maxRounds: 1},
		"answers for another channel": {answer: func(_ int, req dptp.Payload) dptp.Payload {
			return dptp.ChannelOps{RequestID: req.(dptp.ChannelWant).RequestID, ChannelID: ID{1}.String()}
		}, wantErr: ErrBadAnswer, maxRounds: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, "n", raw, nil)
			peer := &fakePeer{answer: tc.answer}
			_, err := n.syncer.Fetch(context.Background(), peer, n.log.channel, []ID{wanted})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
			if peer.n > tc.maxRounds {
				t.Errorf("want at most %d round trips, got %d", tc.maxRounds, peer.n)
			}
			if p := n.log.pendingLen(); p > n.log.maxPending {
				t.Errorf("pending buffer beyond its bound: %d", p)
			}
			if n.log.Count(n.log.channel) != 1 {
				t.Errorf("want nothing applied, holds %d", n.log.Count(n.log.channel))
			}
		})
	}
}

// TestSyncHostileResponder: a CHANNEL_SYNC answer that wants ids this node
// never showed gets nothing pushed; one that lists more heads than exist
// gets at most MaxWanted wanted.
func TestSyncHostileResponder(t *testing.T) {
	t.Parallel()
	raw, ch := genesis(14)
	n := newNode(t, "n", raw, nil)
	rng := rand.New(rand.NewPCG(15, 16))
	for range 10 {
		n.log.post(rng, 10)
	}
	secret := n.log.post(rng, 10) // a head, but the fake claims to want an ancestor
	ancestors, _, _ := n.log.Meta(ch, secret)
	pushed := 0
	peer := &fakePeer{answer: func(_ int, req dptp.Payload) dptp.Payload {
		switch r := req.(type) {
		case dptp.ChannelSync:
			return dptp.ChannelSyncResponse{RequestID: r.RequestID, Want: hexIDs(sortIDs([]ID{ancestors[0], {0x01}})), Pages: 1}
		case dptp.ChannelWant:
			return dptp.ChannelOps{RequestID: r.RequestID, ChannelID: r.ChannelID}
		}
		return nil
	}}
	counting := &countingPeer{fakePeer: peer, sent: &pushed}
	st, err := n.syncer.Sync(context.Background(), counting, ch)
	if err != nil {
		t.Fatal(err)
	}
	if pushed != 0 || st.OpsSent != 0 {
		t.Errorf("want nothing pushed for ids never shown, pushed %d frames", pushed)
	}
}

type countingPeer struct {
	*fakePeer
	sent *int
}

func (c *countingPeer) Send(context.Context, dptp.Payload) error { *c.sent++; return nil }

// TestSyncWithPeerNotAllowed: a member never starts a sync (and so never
// pushes ops) toward a peer Allow refuses, e.g. a removed member.
func TestSyncWithPeerNotAllowed(t *testing.T) {
	t.Parallel()
	raw, ch := genesis(50)
	n := newNode(t, "n", raw, func(peer string, _ ID) bool { return peer != nodeID("mallory") })
	peer := &fakePeer{answer: func(int, dptp.Payload) dptp.Payload { t.Error("a request was sent"); return nil }}
	tests := map[string]func() error{
		"sync":  func() error { _, err := n.syncer.Sync(context.Background(), peer, ch); return err },
		"fetch": func() error { _, err := n.syncer.Fetch(context.Background(), peer, ch, []ID{{1}}); return err },
	}
	for name, f := range tests {
		if err := f(); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s: want ErrNotAllowed, got %v", name, err)
		}
	}
	if _, err := n.syncer.Sync(context.Background(), peer, ID{9}); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("sync of a channel not held: want ErrUnknownChannel, got %v", err)
	}
}
