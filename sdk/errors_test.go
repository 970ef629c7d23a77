package sdk_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/schema"
)

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	type want struct {
		path    []string
		summary string
	}
	tests := map[string]struct {
		err  error
		want []want
	}{
		"nil": {err: nil, want: nil},
		"attribute error": {
			err:  sdk.AttributeError([]string{"dir"}, "must be absolute, got %q", "x"),
			want: []want{{[]string{"dir"}, `must be absolute, got "x"`}},
		},
		"wrapped attribute error": {
			err:  fmt.Errorf("validate: %w", sdk.AttributeError([]string{"a", "0", "b"}, "bad")),
			want: []want{{[]string{"a", "0", "b"}, "bad"}},
		},
		"schema path error keeps its path": {
			err:  &schema.PathError{Path: []string{"server", "1", "url"}, Err: errors.New(`the attribute "url" is required`)},
			want: []want{{[]string{"server", "1", "url"}, `the attribute "url" is required`}},
		},
		"wrapped schema path error": {
			err:  fmt.Errorf("decoding: %w", &schema.PathError{Path: []string{"x"}, Err: errors.New("unknown")}),
			want: []want{{[]string{"x"}, "unknown"}},
		},
		"joined, nested and plain": {
			err: errors.Join(
				sdk.AttributeError([]string{"dir"}, "one"),
				errors.Join(errors.New("two"), sdk.AttributeError([]string{"limit"}, "three")),
			),
			want: []want{{[]string{"dir"}, "one"}, {nil, "two"}, {[]string{"limit"}, "three"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := sdk.ConfigErrors(tc.err)
			if len(got) != len(tc.want) {
				t.Fatalf("want %d errors, got %d: %v", len(tc.want), len(got), got)
			}
			for i, ce := range got {
				if !slices.Equal(ce.Path, tc.want[i].path) || ce.Summary != tc.want[i].summary {
					t.Errorf("error %d: want %q %q, got %q %q", i, tc.want[i].path, tc.want[i].summary, ce.Path, ce.Summary)
				}
			}
		})
	}
}

func TestConfigErrorMessage(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		err  *sdk.ConfigError
		want string
	}{
		"no path":     {err: &sdk.ConfigError{Summary: "bad"}, want: "bad"},
		"path":        {err: &sdk.ConfigError{Path: []string{"a", "1", "b"}, Summary: "bad"}, want: "a.1.b: bad"},
		"with detail": {err: &sdk.ConfigError{Path: []string{"dir"}, Summary: "bad", Detail: "why"}, want: "dir: bad: why"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("want %q, got %q", tc.want, got)
			}
		})
	}
}
