package direct

import "errors"

var (
	// ErrInvalidURI means a URI is not a dpc://host:port URI this plugin
	// can dial. It crosses the plugin boundary as sdk.ErrInvalidArgument.
	ErrInvalidURI = errors.New("invalid dpc:// URI")
	// ErrInvalidAddress means a listen address is not a host:port address.
	// It crosses the plugin boundary as sdk.ErrInvalidArgument.
	ErrInvalidAddress = errors.New("invalid listen address")
)
