package chansync

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// FuzzHandle feeds any channel payload a peer could send (as command and
// payload JSON) to a member holding a small log: Handle must never panic,
// every reply must be a valid payload, and the log must stay consistent.
func FuzzHandle(f *testing.F) {
	raw, ch := genesis(40)
	seedNode := newMemLog(raw)
	rng := rand.New(rand.NewPCG(41, 42))
	var head ID
	for range 20 {
		head = seedNode.post(rng, 8)
	}
	opRaw, _ := seedNode.Raw(ch, head)
	add := func(cmd string, p any) {
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cmd, b)
	}
	add(dptp.CmdChannelSync, dptp.ChannelSync{RequestID: "r", ChannelID: ch.String(), Heads: []string{head.String()}})
	add(dptp.CmdChannelWant, dptp.ChannelWant{RequestID: "r", ChannelID: ch.String(), IDs: []string{head.String()}, Have: []string{ch.String()}})
	add(dptp.CmdChannelOps, dptp.ChannelOps{ChannelID: ch.String(), Ops: [][]byte{opRaw, []byte("tst1")}})
	add(dptp.CmdChannelOps, dptp.ChannelOps{RequestID: "r", ChannelID: ch.String(), Ops: [][]byte{opRaw}})

	f.Fuzz(func(t *testing.T, cmd string, payload []byte) {
		p, err := dptp.DecodePayload(dptp.Frame{Command: cmd, Payload: payload})
		if err != nil {
			return
		}
		n := &node{name: "n", log: newMemLog(raw)}
		s, err := New(Config{Log: n.log, Allow: func(string, ID) bool { return true }, MaxWalk: 1000})
		if err != nil {
			t.Fatal(err)
		}
		// Give the member the seed log so wants and syncs find something.
		for _, id := range seedOrder(seedNode) {
			r, _ := seedNode.Raw(ch, id)
			if _, _, err := n.log.Add(ch, r); err != nil && id != ch {
				t.Fatal(err)
			}
		}
		before := n.log.Count(ch)
		reply, missing := s.Handle(nodeID("peer"), p)
		if reply != nil {
			if err := reply.Validate(); err != nil {
				t.Fatalf("invalid reply %T: %v", reply, err)
			}
			if _, err := dptp.Encode(reply.Command(), reply); err != nil {
				t.Fatalf("reply does not encode: %v", err)
			}
		}
		if len(missing) > dptp.MaxChannelWant {
			t.Fatalf("%d missing ids reported, at most %d", len(missing), dptp.MaxChannelWant)
		}
		if n.log.Count(ch) < before {
			t.Fatalf("log shrank")
		}
	})
}

// seedOrder returns a log's ops in its local order (parents first).
func seedOrder(l *memLog) []ID {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ID, len(l.ops))
	for id, e := range l.ops {
		out[e.seq] = id
	}
	return out
}
