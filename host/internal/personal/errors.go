package personal

import "errors"

var (
	// ErrInvalidContext is wrapped by every problem found in a personal
	// context, whether read from a file or made by Set or Update.
	ErrInvalidContext = errors.New("invalid personal context")
	// ErrNoContext is wrapped when there is no personal context file.
	ErrNoContext = errors.New("no personal context")
	// ErrInvalidPath is wrapped when a path given to Set cannot name a value.
	ErrInvalidPath = errors.New("invalid context path")
	// ErrChanged is wrapped when an edit started from a version of the
	// personal context that is no longer the file's: saving it would undo
	// the change made meanwhile.
	ErrChanged = errors.New("the personal context changed since this edit started")
)

// Problems in a personal context come back as a *config.Error wrapping
// ErrInvalidContext: one `file:line:column: summary: detail` line per
// problem for a file, `summary: detail` for a document in memory.
