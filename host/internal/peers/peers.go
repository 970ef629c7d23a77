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
	// Path is how the bytes of the peer's live session travel, or of its
	// last one when offline: "direct", "webrtc" or "webrtc-relay"
	// (sdk.Path*). Dialing tries the path that worked last time first.
	Path string `json:"path,omitempty"`
	// Certificate is the DER certificate of the peer's last dptp/1
	// session (its key derives NodeID), and EnvelopeKey the X25519
	// envelope key it presented with EnvelopeBinding, which the session
	// verified against that certificate: what channel keys are sealed to
	// when the peer is offline.
	Certificate     []byte `json:"certificate,omitempty"`
	EnvelopeKey     []byte `json:"envelope_key,omitempty"`
	EnvelopeBinding []byte `json:"envelope_binding,omitempty"`
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

// AddURI adds uri last in the address cache (a hint, such as a hub
// profile's), unless it is there already or the cache is full.
func (p *Peer) AddURI(uri string) {
	if len(p.URIs) < maxURIs && !slices.Contains(p.URIs, uri) {
		p.URIs = append(p.URIs, uri)
	}
}

// RememberURI puts uri first in the address cache.
func (p *Peer) RememberURI(uri string) {
	p.URIs = slices.DeleteFunc(p.URIs, func(u string) bool { return u == uri })
	p.URIs = append([]string{uri}, p.URIs...)
	if len(p.URIs) > maxURIs {
		p.URIs = p.URIs[:maxURIs]
	}
}

var (
	// ErrUnknownPeer means no record exists for a node_id.
	ErrUnknownPeer = errors.New("unknown peer")
	// ErrTooManyStrangers means a record for a new stranger was not made:
	// as many strangers as allowed are on record already.
	ErrTooManyStrangers = errors.New("too many strangers on record")
)

// Store holds peer records.
type Store struct {
	s *store.Store

	mu       sync.RWMutex
	contacts map[string]bool
	// strangers are the records that are not contacts.
	strangers map[string]bool
}

func key(id string) []byte { return []byte("peer/" + id) }

// New loads the peer records of an open store.
func New(s *store.Store) (*Store, error) {
	ps := &Store{s: s, contacts: map[string]bool{}, strangers: map[string]bool{}}
	list, err := ps.List()
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		ps.track(p)
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

// track files p under contacts or strangers (under ps.mu, or before ps is
// shared).
func (ps *Store) track(p Peer) {
	if p.Contact {
		ps.contacts[p.NodeID] = true
		delete(ps.strangers, p.NodeID)
	} else {
		ps.strangers[p.NodeID] = true
		delete(ps.contacts, p.NodeID)
	}
}

// Update applies fn to the record of id (a new one if there is none) and
// stores it.
func (ps *Store) Update(id string, fn func(*Peer)) (Peer, error) {
	return ps.UpdateBounded(id, 0, fn)
}

// UpdateBounded is Update, except that it makes no new record for a
// stranger (a peer fn leaves a non-contact) while maxStrangers strangers
// are on record already: it returns ErrTooManyStrangers. maxStrangers <= 0
// means no bound.
func (ps *Store) UpdateBounded(id string, maxStrangers int, fn func(*Peer)) (Peer, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, err := ps.Get(id)
	isNew := errors.Is(err, ErrUnknownPeer)
	if isNew {
		p, err = Peer{NodeID: id, Added: time.Now().UTC()}, nil
	}
	if err != nil {
		return Peer{}, err
	}
	fn(&p)
	p.NodeID = id
	if isNew && !p.Contact && maxStrangers > 0 && len(ps.strangers) >= maxStrangers {
		return Peer{}, fmt.Errorf("%w: %d", ErrTooManyStrangers, len(ps.strangers))
	}
	b, err := json.Marshal(p)
	if err != nil {
		return Peer{}, err
	}
	if err := ps.s.Set(key(id), b); err != nil {
		return Peer{}, err
	}
	ps.track(p)
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
	delete(ps.strangers, id)
	return nil
}

// PruneStrangers deletes the records of strangers last seen (or, never
// seen, added) before cutoff, except those keep names, and returns their
// node_ids. Contacts are never pruned.
func (ps *Store) PruneStrangers(cutoff time.Time, keep func(id string) bool) ([]string, error) {
	list, err := ps.List()
	if err != nil {
		return nil, err
	}
	var pruned []string
	for _, p := range list {
		seen := p.LastSeen
		if seen.IsZero() {
			seen = p.Added
		}
		if p.Contact || !seen.Before(cutoff) || keep(p.NodeID) {
			continue
		}
		ps.mu.Lock()
		// Deleted only if still a stranger: the user may have just
		// accepted it.
		if !ps.strangers[p.NodeID] {
			ps.mu.Unlock()
			continue
		}
		err := ps.s.Delete(key(p.NodeID))
		if err == nil {
			delete(ps.strangers, p.NodeID)
		}
		ps.mu.Unlock()
		if err != nil {
			return pruned, err
		}
		pruned = append(pruned, p.NodeID)
	}
	return pruned, nil
}

// Known tells whether a record of id exists.
func (ps *Store) Known(id string) bool {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return ps.contacts[id] || ps.strangers[id]
}

// Strangers returns how many records are of peers that are not contacts.
func (ps *Store) Strangers() int {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return len(ps.strangers)
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
