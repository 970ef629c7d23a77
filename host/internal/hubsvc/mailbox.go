package hubsvc

import (
	"context"

	"github.com/dpc-go/dpc/sdk"
)

// CheckLoggedIn returns nil when the node is logged in to its hub, else
// why not: ErrNoHub, ErrHubNotRunning or ErrNotLoggedIn (mailbox.Hub).
func (s *Service) CheckLoggedIn() error {
	_, err := s.loggedIn()
	return err
}

// MailboxPut leaves a sealed envelope for another node at the hub.
func (s *Service) MailboxPut(ctx context.Context, req sdk.MailboxPutRequest) (sdk.MailboxPutResult, error) {
	h, err := s.loggedIn()
	if err != nil {
		return sdk.MailboxPutResult{}, err
	}
	return h.MailboxPut(ctx, req)
}

// MailboxFetch fetches the envelopes waiting for this node.
func (s *Service) MailboxFetch(ctx context.Context, req sdk.MailboxFetchRequest) (sdk.MailboxFetchResult, error) {
	h, err := s.loggedIn()
	if err != nil {
		return sdk.MailboxFetchResult{}, err
	}
	return h.MailboxFetch(ctx, req)
}

// MailboxAck tells the hub to drop envelopes this node has taken.
func (s *Service) MailboxAck(ctx context.Context, req sdk.MailboxAckRequest) error {
	h, err := s.loggedIn()
	if err != nil {
		return err
	}
	return h.MailboxAck(ctx, req)
}
