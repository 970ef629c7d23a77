package channels

import (
	"github.com/dpc-go/dpc/host/internal/channels/chancrypt"
	"github.com/dpc-go/dpc/host/internal/channels/chanop"
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
