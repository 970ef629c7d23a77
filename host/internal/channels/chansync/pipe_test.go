package chansync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dpc-go/dpc/host/internal/dptp"
)

// node is a simulated member: its log and its Syncer.
type node struct {
	name   string
	log    *memLog
	syncer *Syncer
}

func newNode(t testing.TB, name string, genesisRaw []byte, allow func(string, ID) bool) *node {
	t.Helper()
	n := &node{name: name, log: newMemLog(genesisRaw)}
	if allow == nil {
		allow = func(string, ID) bool { return true }
	}
	s, err := New(Config{Log: n.log, Allow: allow})
	if err != nil {
		t.Fatal(err)
	}
	n.syncer = s
	return n
}

// nodeID returns a valid node_id for a test node name.
func nodeID(name string) string { return fmt.Sprintf("dpc-node-%032x", []byte(name)) }

// wire counts what crossed every pipe.
type wire struct {
	frames, bytes int
	errors        []dptp.ErrorReply
}

// pipe is the in-memory Peer from one node to another. Every payload is
// encoded into a real DPTP frame, read back with dptp's Reader (at the
// 256 KiB limit for strangers) and decoded, as a session would, then handled
// by the other node at once. A push whose ops miss parents makes the
// receiver fetch them from the sender, as the service will.
type pipe struct {
	from, to *node
	w        *wire
}

func (p pipe) NodeID() string { return nodeID(p.to.name) }

func (p pipe) carry(pl dptp.Payload) (dptp.Payload, error) {
	raw, err := dptp.Encode(pl.Command(), pl)
	if err != nil {
		return nil, err
	}
	p.w.frames++
	p.w.bytes += len(raw)
	f, err := dptp.NewReader(bytes.NewReader(raw), 256<<10).Read()
	if err != nil {
		return nil, err
	}
	return dptp.DecodePayload(f)
}

func (p pipe) Request(ctx context.Context, pl dptp.Payload) (dptp.Payload, error) {
	in, err := p.carry(pl)
	if err != nil {
		return nil, err
	}
	reply, _ := p.to.syncer.Handle(nodeID(p.from.name), in)
	if reply == nil {
		return nil, errors.New("pipe: no answer")
	}
	return p.carry(reply)
}

func (p pipe) Send(ctx context.Context, pl dptp.Payload) error {
	in, err := p.carry(pl)
	if err != nil {
		return err
	}
	reply, missing := p.to.syncer.Handle(nodeID(p.from.name), in)
	if e, ok := reply.(dptp.ErrorReply); ok {
		p.w.errors = append(p.w.errors, e)
		return nil
	}
	if len(missing) > 0 {
		ch, _ := ParseID(in.(dptp.ChannelOps).ChannelID)
		back := pipe{from: p.to, to: p.from, w: p.w}
		if _, err := p.to.syncer.Fetch(ctx, back, ch, missing); err != nil {
			return fmt.Errorf("pipe: receiver fetching missing parents: %w", err)
		}
	}
	return nil
}
