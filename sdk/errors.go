package sdk

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/dpc-go/dpc/sdk/internal/wire"
	"github.com/dpc-go/dpc/sdk/schema"
)

var (
	// ErrNotFound means the named object, model or peer does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotConfigured means a call arrived before a successful Configure.
	ErrNotConfigured = errors.New("plugin is not configured")
	// ErrUnsupported means the plugin does not implement an optional feature.
	ErrUnsupported = errors.New("not supported by this plugin")
	// ErrPermissionDenied means the host refused a request (e.g. a signing
	// purpose the plugin's kind may not use).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrInvalidArgument means a request was malformed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnavailable means a backend the plugin talks to is down.
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalidServeOpts means ServeOpts names no kind or more than one.
	ErrInvalidServeOpts = errors.New("invalid sdk.ServeOpts")
)

// The sentinels above cross the plugin boundary: an error that wraps one
// arrives on the other side as an error that matches it with errors.Is.
func init() {
	wire.Sentinel(ErrNotFound, codes.NotFound)
	wire.Sentinel(ErrNotConfigured, codes.FailedPrecondition)
	wire.Sentinel(ErrUnsupported, codes.Unimplemented)
	wire.Sentinel(ErrPermissionDenied, codes.PermissionDenied)
	wire.Sentinel(ErrInvalidArgument, codes.InvalidArgument)
	wire.Sentinel(ErrUnavailable, codes.Unavailable)
}

// ConfigError is a problem with one attribute of a plugin's configuration.
// Return it (or several, joined with errors.Join) from Configure or from a
// config struct's Validate method, and the host points the user at the file,
// line and column of that attribute.
type ConfigError struct {
	// Path names the attribute, e.g. []string{"dir"} or
	// []string{"server", "0", "url"}.
	Path    []string
	Summary string
	Detail  string
}

// AttributeError returns a ConfigError for the attribute at path.
func AttributeError(path []string, format string, args ...any) *ConfigError {
	return &ConfigError{Path: path, Summary: fmt.Sprintf(format, args...)}
}

func (e *ConfigError) Error() string {
	msg := e.Summary
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if len(e.Path) == 0 {
		return msg
	}
	return strings.Join(e.Path, ".") + ": " + msg
}

// ConfigErrors flattens err (which may be joined or wrapped) into the
// ConfigErrors it contains; a *schema.PathError keeps its path, and other
// errors become ConfigErrors without a path.
func ConfigErrors(err error) []*ConfigError {
	if err == nil {
		return nil
	}
	var out []*ConfigError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var ce *ConfigError
		if errors.As(e, &ce) {
			out = append(out, ce)
			return
		}
		var pe *schema.PathError
		if errors.As(e, &pe) {
			out = append(out, &ConfigError{Path: pe.Path, Summary: pe.Err.Error()})
			return
		}
		out = append(out, &ConfigError{Summary: e.Error()})
	}
	walk(err)
	return out
}
