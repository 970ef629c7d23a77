package firewall

import "errors"

var (
	// ErrInvalidRules is wrapped by every problem found in a firewall file.
	ErrInvalidRules = errors.New("invalid firewall rules")
	// ErrInvalidResource is wrapped when a resource or pattern names no known kind or is malformed.
	ErrInvalidResource = errors.New("invalid firewall resource")
	// ErrUnknownScope is returned for an AI scope the firewall file does not define.
	ErrUnknownScope = errors.New("unknown AI scope")
	// ErrChanged is wrapped when an edit of the firewall file started from
	// a version that is no longer the file's: saving it would undo the
	// change made meanwhile.
	ErrChanged = errors.New("the firewall file changed since this edit started")
)

// Problems in a firewall file come back as a *config.Error wrapping
// ErrInvalidRules: one `file:line:column: summary: detail` line per problem.
