package network

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/dpcuri"
)

// byNodeID marks a transport that reaches a peer by node_id alone, through
// the hub's signaling (sdk.CapabilityDialByNodeID): WebRTC.
type byNodeID struct{ sdk.Transport }

// ByNodeID marks tr as a transport that dials by node_id alone; the node
// wraps the transports whose plugin declares sdk.CapabilityDialByNodeID.
func ByNodeID(tr sdk.Transport) sdk.Transport { return byNodeID{tr} }

func dialsByNodeID(tr sdk.Transport) bool {
	_, ok := tr.(byNodeID)
	return ok
}

// splitTransports separates the transports that dial dpc:// URIs from those
// that dial by node_id.
func splitTransports(trs []sdk.Transport) (direct, signaled []sdk.Transport) {
	for _, tr := range trs {
		if dialsByNodeID(tr) {
			signaled = append(signaled, tr)
		} else {
			direct = append(direct, tr)
		}
	}
	return direct, signaled
}

// directHeadStart is how long direct addresses are tried alone before a
// signaled path (WebRTC via the hub) joins the race, unless the peer was
// last reached over a signaled path: then both start at once. It keeps a
// working direct path from costing a WebRTC negotiation, without letting an
// address that swallows packets hold the connection up for long.
const directHeadStart = 1500 * time.Millisecond

// dialResult is one path's outcome.
type dialResult struct {
	s   *session.Session
	uri string
	err error
}

// dialPaths reaches p over every path it may have: its direct URIs on the
// direct transports, then the signaled transports by node_id (sooner when
// that is how p was last reached). The first session wins; the others are
// cancelled, or closed if they made it too.
func (l *link) dialPaths(ctx context.Context, p peers.Peer) (*session.Session, string, error) {
	direct, signaled := splitTransports(l.n.o.Transports.Transports())
	if len(p.URIs) == 0 {
		direct = nil
	}
	if len(direct) == 0 && len(signaled) == 0 {
		if len(p.URIs) == 0 {
			return nil, "", fmt.Errorf("%w: no address is known for this peer and no transport reaches peers by node_id (add plugin \"transport\" \"transport-webrtc\" {} and a hub to dpc.hcl)", ErrNoTransport)
		}
		return nil, "", ErrNoTransport
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan dialResult, 2)
	running := 0
	// startSignaled starts the signaled path, once: signaled is nil after.
	startSignaled := func() {
		running++
		trs := signaled
		signaled = nil
		go func() {
			s, err := l.dialSignaled(ctx, p, trs)
			results <- dialResult{s: s, err: err}
		}()
	}
	if len(direct) > 0 {
		running++
		go func() {
			s, uri, err := l.dialDirect(ctx, p, direct)
			results <- dialResult{s: s, uri: uri, err: err}
		}()
	}
	var headStart <-chan time.Time
	switch {
	case len(signaled) == 0:
	case len(direct) == 0 || p.Path == sdk.PathWebRTC || p.Path == sdk.PathWebRTCRelay:
		startSignaled()
	default:
		t := time.NewTimer(directHeadStart)
		defer t.Stop()
		headStart = t.C
	}
	var errs []error
	var won *dialResult
	for running > 0 {
		select {
		case <-headStart:
			headStart = nil
			if won == nil && signaled != nil {
				startSignaled()
			}
		case r := <-results:
			running--
			switch {
			case r.err != nil:
				errs = append(errs, r.err)
				if won == nil && signaled != nil {
					// The direct path failed: no need to wait out its head start.
					startSignaled()
					headStart = nil
				}
			case won == nil:
				won = &r
				cancel() // the other path gives up
			default:
				_ = r.s.Close() // both made it: keep the first
			}
		}
	}
	if won != nil {
		return won.s, won.uri, nil
	}
	return nil, "", errors.Join(errs...)
}

// dialDirect tries p's URIs on the direct transports, in order.
func (l *link) dialDirect(ctx context.Context, p peers.Peer, trs []sdk.Transport) (*session.Session, string, error) {
	var errs []error
	for _, uri := range p.URIs {
		for _, tr := range trs {
			s, err := l.dialOne(ctx, p, tr, sdk.DialRequest{URI: uri, ExpectedNodeID: l.peer})
			if err == nil {
				return s, uri, nil
			}
			errs = append(errs, fmt.Errorf("%s: %w", uri, err))
			if ctx.Err() != nil {
				return nil, "", errors.Join(errs...)
			}
		}
	}
	return nil, "", errors.Join(errs...)
}

// dialSignaled reaches p by node_id on the transports that can.
func (l *link) dialSignaled(ctx context.Context, p peers.Peer, trs []sdk.Transport) (*session.Session, error) {
	if err := l.n.onHub(ctx, l.peer); err != nil {
		return nil, fmt.Errorf("by node_id through the hub: %w", err)
	}
	var errs []error
	for _, tr := range trs {
		s, err := l.dialOne(ctx, p, tr, sdk.DialRequest{ExpectedNodeID: l.peer})
		if err == nil {
			return s, nil
		}
		errs = append(errs, fmt.Errorf("by node_id through the hub: %w", err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// dialOne dials once and runs the handshake, which checks that the peer
// is l.peer whatever the transport or the hub claimed.
func (l *link) dialOne(ctx context.Context, p peers.Peer, tr sdk.Transport, req sdk.DialRequest) (*session.Session, error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := tr.Dial(dctx, req)
	if err != nil {
		return nil, err
	}
	return session.Client(dctx, c, l.n.dialOptions(p), l.peer)
}

// dialable reports whether there is any path to try for p: a direct
// address, or a transport that dials by node_id.
func (n *Network) dialable(p peers.Peer) bool {
	if len(p.URIs) > 0 {
		return true
	}
	_, signaled := splitTransports(n.o.Transports.Transports())
	return len(signaled) > 0
}

// lookup returns the direct URIs the hub knows for node that name node
// itself; none when there is no hub or it does not know them.
func (n *Network) lookup(ctx context.Context, node string) []string {
	if n.o.Directory == nil {
		return nil
	}
	rec, err := n.o.Directory.Lookup(ctx, node)
	if err != nil {
		n.log.Debug("no direct addresses from the hub", "peer", node, "reason", err)
		return nil
	}
	var out []string
	for _, raw := range rec.URIs {
		if u, err := dpcuri.Parse(raw); err == nil && u.NodeID == node {
			out = append(out, u.String())
		}
	}
	return out
}

// onHub checks that node can be reached through the hub before a dial by
// node_id waits for an answer that cannot come: the node must be logged in
// to the hub and online there.
func (n *Network) onHub(ctx context.Context, node string) error {
	if n.o.Directory == nil {
		return nil
	}
	rec, err := n.o.Directory.Lookup(ctx, node)
	switch {
	case err != nil:
		return err
	case !rec.Online && rec.LastSeen.IsZero():
		return fmt.Errorf("%w: %s is not online on the hub", ErrNotOnHub, node)
	case !rec.Online:
		return fmt.Errorf("%w: %s is not online on the hub (last seen %s)", ErrNotOnHub, node, rec.LastSeen.UTC().Format(time.RFC3339))
	}
	return nil
}

// Redial dials every offline contact now, without waiting out its
// backoff: a path has just come back (the node is online on its hub).
func (n *Network) Redial() {
	if n.ctx == nil {
		return
	}
	list, err := n.o.Peers.List()
	if err != nil {
		n.log.Error("listing peers to redial", "error", err)
		return
	}
	for _, p := range list {
		if p.Contact && n.dialable(p) {
			if l := n.linkFor(p.NodeID); !l.connected() {
				l.kick()
			}
		}
	}
}
