package channels

import (
	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
	"github.com/dpc-go/dpc/host/internal/channels/chansync"
)

// StoredKeys returns the epoch keys of ch in this node's store.
func (s *Service) StoredKeys(ch chanop.ID) (map[chanop.ID]chancrypt.Key, error) {
	keys, _, err := s.st.keys(ch)
	return keys, err
}

// RawOp returns an op of ch from this node's store.
func (s *Service) RawOp(ch, id chanop.ID) ([]byte, error) {
	_, raw, err := s.st.op(ch, id)
	return raw, err
}

// Held returns how many ops ch's log holds (0 for an unknown channel): a
// cheap condition to poll, where StateOf resolves the whole state.
func (s *Service) Held(ch chanop.ID) int { return syncLog{s}.Count(chansync.ID(ch)) }
