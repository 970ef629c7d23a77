package hubdpc

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dpc-go/dpc/sdk"
)

// Errors of this plugin. Each is also wrapped together with the sdk
// sentinel the host acts on (the plugin's own sentinels do not cross the
// plugin boundary; the sdk ones do).
var (
	// ErrNotLoggedIn: a call needs a login (Login or Resume) first.
	ErrNotLoggedIn = errors.New("not logged in to the hub")
	// ErrSessionEnded: the hub refused the refresh token (logged out,
	// revoked, reused or expired); a new Login is needed.
	ErrSessionEnded = errors.New("the hub ended this login")
	// ErrNotAHub: the URL answered, but not like a dpc-hub.
	ErrNotAHub = errors.New("not a dpc-hub")
	// ErrBadSession: a session handed to Resume is not one this plugin made
	// for this hub and node.
	ErrBadSession = errors.New("invalid hub session")
	// ErrReplaced: another connection of this node took over the signaling
	// stream; reconnecting would only push it out in turn.
	ErrReplaced = errors.New("the signaling stream was replaced by a newer connection of this node")
	// ErrNoStream: SendSignal needs the stream Signals holds open.
	ErrNoStream = errors.New("the signaling stream is not open")
	// errAccessExpired: the hub closed the signaling socket because the
	// access token it was opened with expired; reconnect at once with a
	// fresh one.
	errAccessExpired = errors.New("the signaling socket's access token expired")
	// ErrBadResponse: the hub's answer could not be decoded.
	ErrBadResponse = errors.New("malformed answer from the hub")
	// ErrAccountRequired: the hub requires an identity-provider account
	// linked to the node (dpc-hub --require-oauth) and this node has none.
	ErrAccountRequired = errors.New("this hub requires a linked account")
	// ErrForeignLinkURL: the hub answered a link address that is not on its
	// own origin; the user would be sent elsewhere.
	ErrForeignLinkURL = errors.New("the hub's link address is not on the hub")
)

// refusal is the error of a hub's error answer: he itself, or, for the
// hub's account_required, an error that also says what to do about it.
func refusal(he *HubError) error {
	if he.Status == http.StatusForbidden && he.Code == "account_required" {
		return fmt.Errorf("%w (%w): link an account to this node with dpc hub link PROVIDER (dpc hub accounts lists the providers the hub offers)",
			ErrAccountRequired, he)
	}
	return he
}

// HubError is an error answer of the hub's API:
// {"error": code, "detail": …} with its HTTP status.
type HubError struct {
	Method, Path string
	Status       int
	Code, Detail string
	// RetryAfter is the hub's Retry-After, for 429 and 503.
	RetryAfter time.Duration
}

func (e *HubError) Error() string {
	s := fmt.Sprintf("hub answered %s %s with %d %s", e.Method, e.Path, e.Status, e.Code)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Unwrap maps the status to the sdk sentinel the host acts on.
func (e *HubError) Unwrap() error {
	switch {
	case e.Status == http.StatusBadRequest || e.Status == http.StatusRequestEntityTooLarge:
		return sdk.ErrInvalidArgument
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return sdk.ErrPermissionDenied
	case e.Status == http.StatusNotFound:
		return sdk.ErrNotFound
	default:
		return sdk.ErrUnavailable
	}
}

// unsupported is the error of a Hub method dpc-hub does not offer.
func unsupported(base, what string) error {
	return fmt.Errorf("%w: the hub at %s has no %s (dpc-hub does not offer it)", sdk.ErrUnsupported, base, what)
}
