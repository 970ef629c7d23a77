package firewall

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var (
	// ErrInvalidRules is wrapped by every problem found in a firewall file.
	ErrInvalidRules = errors.New("invalid firewall rules")
	// ErrInvalidResource is wrapped when a resource or pattern names no known kind or is malformed.
	ErrInvalidResource = errors.New("invalid firewall resource")
)

// Error lists the problems found in a firewall file. Its message has one
// `file:line:column: summary: detail` line per problem, sorted by position.
type Error struct {
	// Err is the sentinel this error wraps: ErrInvalidRules.
	Err error
	// Diags holds the problems (errors only), sorted by position.
	Diags hcl.Diagnostics
}

// newError returns nil when diags has no errors, otherwise an *Error with the
// errors sorted so that messages are stable.
func newError(sentinel error, diags hcl.Diagnostics) error {
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
			b.WriteString(pos(*d.Subject) + ": ")
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

// Unwrap returns the sentinel, so errors.Is(err, ErrInvalidRules) works.
func (e *Error) Unwrap() error { return e.Err }

// pos formats the start of r as file:line:column.
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// diagAt is an error diagnostic pointing at r.
func diagAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}
