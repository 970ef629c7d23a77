package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var (
	// ErrInvalidConfig is wrapped by problems in dpc.hcl, DPC_* variables or flags.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrInvalidPluginConfig is wrapped when a config block does not match the plugin's schema.
	ErrInvalidPluginConfig = errors.New("invalid plugin configuration")
	// ErrInvalidSchema is wrapped when a plugin declares a config schema the host cannot use.
	ErrInvalidSchema = errors.New("invalid plugin config schema")
	// ErrInvalidLock is wrapped by problems in the lock file or in a lock entry.
	ErrInvalidLock = errors.New("invalid lock file")
)

// Error lists the problems found in a configuration source. Its message has
// one line per problem, `file:line:column: summary: detail` for problems in a
// file and `summary: detail` otherwise (an environment variable or a flag).
type Error struct {
	// Err is the sentinel this error wraps, e.g. ErrInvalidConfig.
	Err error
	// Diags holds the problems (errors only), sorted by position.
	Diags hcl.Diagnostics
}

// NewError returns nil when diags has no errors, otherwise an *Error with the
// errors sorted so that messages are stable (hcl reports some in map order).
func NewError(sentinel error, diags hcl.Diagnostics) error {
	var errs hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs = append(errs, d)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil && b.Subject == nil:
			return 0
		case a.Subject == nil:
			return 1
		case b.Subject == nil:
			return -1
		}
		return cmp.Or(
			cmp.Compare(a.Subject.Filename, b.Subject.Filename),
			cmp.Compare(a.Subject.Start.Byte, b.Subject.Start.Byte),
		)
	})
	return &Error{Err: sentinel, Diags: errs}
}

// Error implements error.
func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Diags))
	for _, d := range e.Diags {
		var b strings.Builder
		if d.Subject != nil {
			b.WriteString(Pos(*d.Subject) + ": ")
		}
		b.WriteString(d.Summary)
		if d.Detail != "" {
			b.WriteString(": " + d.Detail)
		}
		// One problem per line, whatever the detail contains.
		lines = append(lines, strings.ReplaceAll(b.String(), "\n", " "))
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the sentinel, so errors.Is(err, ErrInvalidConfig) works.
func (e *Error) Unwrap() error { return e.Err }

// Pos formats the start of r as file:line:column.
func Pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// DiagAt is an error diagnostic pointing at r.
func DiagAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}
