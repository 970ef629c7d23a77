package echo

import (
	"errors"

	"github.com/dpc-go/dpc/sdk"
)

// MaxDelayMS caps delay_ms, so a typo cannot stall answers for hours.
const MaxDelayMS = 10_000

// Config is the plugin's `config {}` block in dpc.hcl:
//
//	plugin "llm" "llm-echo" {
//	  config {
//	    prefix   = "> " # optional, default "echo: "
//	    delay_ms = 50   # optional, default 0
//	  }
//	}
//
// The `hcl` tags are the schema dpc checks the block against; `help` texts
// are shown to users.
type Config struct {
	// Prefix is put before the echoed words.
	Prefix string `hcl:"prefix,optional" help:"Text put before the echoed words."`
	// DelayMS is how long to wait between words, in milliseconds, to make
	// the streaming visible.
	DelayMS int `hcl:"delay_ms,optional" help:"Milliseconds to wait between words; 0 means no delay."`
}

// DefaultConfig returns the defaults the user's block is decoded over.
func DefaultConfig() *Config {
	return &Config{Prefix: "echo: ", DelayMS: 0}
}

// Validate is called by the SDK after decoding. Errors name the attribute
// so that dpc can point at its line in dpc.hcl.
func (c *Config) Validate() error {
	var errs []error
	if c.DelayMS < 0 || c.DelayMS > MaxDelayMS {
		errs = append(errs, sdk.AttributeError([]string{"delay_ms"}, "must be between 0 and %d, got %d", MaxDelayMS, c.DelayMS))
	}
	return errors.Join(errs...)
}
