package llmlocal

import (
	"errors"

	"github.com/dpc-go/dpc/sdk"
)

// Limits of max_results.
const (
	DefaultMaxResults = 3
	// MaxMaxResults keeps an answer short enough to read.
	MaxMaxResults = 50
)

// Config is the plugin's `config {}` block in dpc.hcl:
//
//	plugin "llm" "llm-local" {
//	  config {
//	    max_results = 5 # optional, default 3
//	  }
//	}
type Config struct {
	// MaxResults is how many entries an answer lists at most.
	MaxResults int `hcl:"max_results,optional" help:"How many best-matching context entries an answer lists at most, 1 to 50."`
}

// DefaultConfig returns the defaults the user's block is decoded over.
func DefaultConfig() *Config {
	return &Config{MaxResults: DefaultMaxResults}
}

// Validate is called by the SDK after decoding; errors name the attribute so
// that dpc can point at its line in dpc.hcl.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxResults < 1 || c.MaxResults > MaxMaxResults {
		errs = append(errs, sdk.AttributeError([]string{"max_results"}, "must be between 1 and %d, got %d", MaxMaxResults, c.MaxResults))
	}
	return errors.Join(errs...)
}
