package direct

import (
	"errors"

	"github.com/dpc-go/dpc/sdk/dpcuri"
)

var (
	// ErrInvalidURI means a URI is not a dpc://host:port URI this plugin
	// can dial. It crosses the plugin boundary as sdk.ErrInvalidArgument.
	ErrInvalidURI = dpcuri.ErrInvalidURI
	// ErrInvalidAddress means a listen address is not a host:port address.
	// It crosses the plugin boundary as sdk.ErrInvalidArgument.
	ErrInvalidAddress = errors.New("invalid listen address")
)
