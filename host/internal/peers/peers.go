package peers

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/dpc-go/dpc/host/internal/store"
)

// Peer is one known node.
type Peer struct {
	NodeID string `json:"node_id"`
	Name   string `json:"name,omitempty"`
	// URIs are dpc:// addresses, most recently successful first.
	URIs []string `json:"uris,omitempty"`
	// Contact is true once the user added or accepted the peer.
	Contact bool `json:"contact"`
	// Request is true while a stranger waits for the user to accept them.
	Request  bool      `json:"request,omitempty"`
	Added    time.Time `json:"added"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Protocol is how the peer last connected: ProtocolDPTP, or ProtocolV1
	// for a D-PC Messenger v1 node, whose authentication is weaker.
	Protocol string `json:"protocol,omitempty"`
	// V1 is true when the user marked the peer as a D-PC Messenger v1 node
	// (dpc connect --v1), or accepted it as a contact request that came
	// over v1: only such peers are dialed with D-PC v1's handshake.
	V1 bool `json:"v1,omitempty"`
	// SpokeDPTP is true once the peer has had a dptp/1 session with this
	// node; from then on its node_id is never accepted over D-PC v1
	// (downgrade pinning). It is never cleared.
	SpokeDPTP bool `json:"spoke_dptp,omitempty"`
}

// Protocols a peer may speak.
const (
	ProtocolDPTP = "dptp/1"
	// ProtocolV1 is D-PC Messenger v1's Direct TLS handshake: the peer
	// proved its key by signing a nonce that is not bound to the TLS
	// channel, which is weaker than dptp/1's mutual TLS.
	ProtocolV1 = "dpc-v1"
)

// maxURIs bounds the address cache per peer.
const maxURIs = 8

// RememberURI puts uri first in the address cache.
func (p *Peer) RememberURI(uri string) {
	p.URIs = slices.DeleteFunc(p.URIs, func(u string) bool { return u == uri })
	p.URIs = append([]string{uri}, p.URIs...)
	if len(p.URIs) > maxURIs {
		p.URIs = p.URIs[:maxURIs]
	}
}

// ErrUnknownPeer means no record exists for a node_id.
var ErrUnknownPeer = errors.New("unknown peer")

// Store holds peer records.
type Store struct {
	s *store.Store

	mu       sync.RWMutex
	contacts map[string]bool
}

func key(id string) []byte { return []byte("peer/" + id) }

// New loads the peer records of an open store.
func New(s *store.Store) (*Store, error) {
	ps := &Store{s: s, contacts: map[string]bool{}}
	list, err := ps.List()
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if p.Contact {
			ps.contacts[p.NodeID] = true
		}
	}
	return ps, nil
}

// Get returns the record of id.
func (ps *Store) Get(id string) (Peer, error) {
	b, err := ps.s.Get(key(id))
	if errors.Is(err, store.ErrNotFound) {
		return Peer{}, fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	if err != nil {
		return Peer{}, err
	}
	var p Peer
	if err := json.Unmarshal(b, &p); err != nil {
		return Peer{}, fmt.Errorf("peer record %s: %w", id, err)
	}
	return p, nil
}

// Update applies fn to the record of id (a new one if there is none) and
// stores it.
func (ps *Store) Update(id string, fn func(*Peer)) (Peer, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, err := ps.Get(id)
	if errors.Is(err, ErrUnknownPeer) {
		p, err = Peer{NodeID: id, Added: time.Now().UTC()}, nil
	}
	if err != nil {
		return Peer{}, err
	}
	fn(&p)
	p.NodeID = id
	b, err := json.Marshal(p)
	if err != nil {
		return Peer{}, err
	}
	if err := ps.s.Set(key(id), b); err != nil {
		return Peer{}, err
	}
	if p.Contact {
		ps.contacts[id] = true
	} else {
		delete(ps.contacts, id)
	}
	return p, nil
}

// Remove forgets the record of id; ErrUnknownPeer if there is none.
func (ps *Store) Remove(id string) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, err := ps.Get(id); err != nil {
		return err
	}
	if err := ps.s.Delete(key(id)); err != nil {
		return err
	}
	delete(ps.contacts, id)
	return nil
}

// List returns every known peer, contacts first, then by node_id.
func (ps *Store) List() ([]Peer, error) {
	var out []Peer
	err := ps.s.Iterate([]byte("peer/"), func(_, v []byte) error {
		var p Peer
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Contact != out[j].Contact {
			return out[i].Contact
		}
		return out[i].NodeID < out[j].NodeID
	})
	return out, err
}

// IsContact tells whether the user added or accepted id.
func (ps *Store) IsContact(id string) bool {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return ps.contacts[id]
}

// Name returns the display name a peer last gave, or "" if it is unknown.
func (ps *Store) Name(id string) string {
	p, err := ps.Get(id)
	if err != nil {
		return ""
	}
	return p.Name
}
