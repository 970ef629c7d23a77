package hubsvc

import (
	"context"
	"fmt"
	"strings"

	"github.com/dpc-go/dpc/sdk"
)

// Accounts are an extra fact about the node on the hub: an account of an
// identity provider (GitHub, Google, a company's OIDC) linked to its
// node_id. The node still logs in with its key; a hub may require a linked
// account before it lists the node (the plugin's errors then say to run
// dpc hub link, and State.LastError shows it).

// Accounts lists the accounts linked to this node, the providers the hub
// offers and whether it requires one.
func (s *Service) Accounts(ctx context.Context) (sdk.AccountsResult, error) {
	h, err := s.loggedIn()
	if err != nil {
		return sdk.AccountsResult{}, err
	}
	res, err := h.Accounts(ctx)
	if err != nil {
		return sdk.AccountsResult{}, fmt.Errorf("hub accounts: %w", err)
	}
	if len(res.Accounts) > 0 {
		// dpc hub link polls this until the account shows up: the node,
		// held off for want of one, tries again at once.
		s.mu.Lock()
		if s.needAccount {
			s.needAccount = false
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
		s.mu.Unlock()
	}
	return res, nil
}

// LinkAccount asks the hub for the address where the user links an
// account of provider to this node.
func (s *Service) LinkAccount(ctx context.Context, provider string) (sdk.LinkAccountResult, error) {
	h, err := s.loggedIn()
	if err != nil {
		return sdk.LinkAccountResult{}, err
	}
	res, err := h.LinkAccount(ctx, sdk.LinkAccountRequest{Provider: provider})
	if err != nil {
		return sdk.LinkAccountResult{}, fmt.Errorf("hub link: %w", err)
	}
	return res, nil
}

// UnlinkAccount removes the link to provider's account.
func (s *Service) UnlinkAccount(ctx context.Context, provider string) error {
	h, err := s.loggedIn()
	if err != nil {
		return err
	}
	if err := h.UnlinkAccount(ctx, sdk.UnlinkAccountRequest{Provider: provider}); err != nil {
		return fmt.Errorf("hub unlink: %w", err)
	}
	return nil
}

// accountMissing says why, when the hub refused the node because it
// requires a linked account and none is; "" otherwise (or when the hub
// cannot tell).
func accountMissing(ctx context.Context, h sdk.Hub) string {
	res, err := h.Accounts(ctx)
	if err != nil || !res.Required || len(res.Accounts) > 0 {
		return ""
	}
	names := make([]string, len(res.Providers))
	for i, p := range res.Providers {
		names[i] = p.Name
	}
	return fmt.Sprintf("the hub requires an account linked to this node and none is: run dpc hub link PROVIDER (it offers: %s)", strings.Join(names, ", "))
}
