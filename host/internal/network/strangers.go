package network

import (
	"context"
	"errors"
	"time"

	"github.com/dpc-go/dpc/host/internal/peers"
	"github.com/dpc-go/dpc/host/internal/session"
)

// A stranger is a verified node_id that is not a contact. What one can make
// this node keep is bounded (proto/dptp.md, "What a stranger can cost a
// node"): its session reads frames of at most session.StrangerMaxFrame, its
// messages are held as contact requests within StrangerLimits, and its link
// is forgotten when its session ends.

// Defaults of StrangerLimits.
const (
	DefaultRequestMessages = 20
	DefaultRequestBytes    = 64 << 10
	DefaultMaxStrangers    = 200
	DefaultStrangerMaxAge  = 30 * 24 * time.Hour
)

// strangerPruneEvery is how often records of strangers are pruned while the
// node runs (they are also pruned when it starts).
const strangerPruneEvery = time.Hour

// StrangerLimits bound what strangers can make this node store. Zero fields
// mean the defaults.
type StrangerLimits struct {
	// RequestMessages and RequestBytes bound the contact requests held
	// from one stranger: messages, and bytes of text in all.
	RequestMessages, RequestBytes int
	// MaxStrangers bounds the strangers on record: beyond it, a new
	// stranger's messages are refused.
	MaxStrangers int
	// MaxAge is how long a stranger's record and held requests are kept
	// after it was last seen.
	MaxAge time.Duration
}

// StrangerLimits are the bounds in force, defaults filled in.
func (n *Network) StrangerLimits() StrangerLimits { return n.strangers }

func (sl StrangerLimits) withDefaults() StrangerLimits {
	if sl.RequestMessages <= 0 {
		sl.RequestMessages = DefaultRequestMessages
	}
	if sl.RequestBytes <= 0 {
		sl.RequestBytes = DefaultRequestBytes
	}
	if sl.MaxStrangers <= 0 {
		sl.MaxStrangers = DefaultMaxStrangers
	}
	if sl.MaxAge <= 0 {
		sl.MaxAge = DefaultStrangerMaxAge
	}
	return sl
}

// recordPeer records that s's peer was seen; for a stranger, only while
// fewer than MaxStrangers are on record.
func (n *Network) recordPeer(s *session.Session, uri string) {
	_, err := n.o.Peers.UpdateBounded(s.PeerID, n.strangers.MaxStrangers, func(p *peers.Peer) {
		p.Name, p.LastSeen, p.Protocol, p.Path = s.PeerName, time.Now().UTC(), protocolOf(s), s.Path
		if !s.V1 {
			p.SpokeDPTP = true // never accepted over D-PC v1 again
			if s.PeerCert != nil {
				p.Certificate = s.PeerCert.Raw
			}
			if s.PeerEnvelopeKey != nil {
				p.EnvelopeKey, p.EnvelopeBinding = s.PeerEnvelopeKey.Bytes(), s.PeerEnvelopeBinding
			}
		}
		if uri != "" {
			p.RememberURI(uri)
		}
		if !p.Contact && !p.Request {
			p.Request = true
		}
	})
	switch {
	case errors.Is(err, peers.ErrTooManyStrangers):
		n.log.Warn("not recording a new stranger: too many are on record; its messages are refused", "peer", s.PeerID, "max", n.strangers.MaxStrangers)
	case err != nil:
		n.log.Error("recording peer", "peer", s.PeerID, "error", err)
	}
}

// trust raises the frame limit of node's session, if it has one, now that
// the node is a contact.
func (n *Network) trust(node string) {
	n.mu.Lock()
	l := n.links[node]
	n.mu.Unlock()
	if l == nil {
		return
	}
	if s := l.session(); s != nil {
		s.Trust()
	}
}

// dropLink forgets l once its session has ended if its peer is not a
// contact, so that strangers leave no link (nor its goroutine) behind.
func (n *Network) dropLink(l *link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess != nil || l.removed || n.links[l.peer] != l || n.o.Peers.IsContact(l.peer) {
		return
	}
	delete(n.links, l.peer)
	l.removed = true
	close(l.gone)
}

// pruneStrangers forgets strangers not seen for MaxAge, with the requests
// they left; strangers connected right now are kept.
func (n *Network) pruneStrangers() {
	cutoff := time.Now().Add(-n.strangers.MaxAge)
	pruned, err := n.o.Peers.PruneStrangers(cutoff, func(id string) bool {
		n.mu.Lock()
		l := n.links[id]
		n.mu.Unlock()
		return l != nil && l.connected()
	})
	if err != nil {
		n.log.Error("pruning strangers", "error", err)
	}
	for _, id := range pruned {
		n.log.Info("forgot a stranger not seen for a while", "peer", id, "max_age", n.strangers.MaxAge)
		for _, h := range n.hooks {
			if h.Forgotten != nil {
				h.Forgotten(id)
			}
		}
	}
}

// pruneLoop prunes strangers now and every strangerPruneEvery until ctx
// ends.
func (n *Network) pruneLoop(ctx context.Context) {
	t := time.NewTicker(strangerPruneEvery)
	defer t.Stop()
	for {
		n.pruneStrangers()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
