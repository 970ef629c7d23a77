package anthropic

import (
	"errors"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// Defaults of the config attributes.
const (
	DefaultBaseURL            = "https://api.anthropic.com"
	DefaultModel              = "claude-sonnet-4-5"
	DefaultMaxTokens          = 1024
	DefaultTimeoutSeconds     = 120
	DefaultIdleTimeoutSeconds = 60
)

// keyEnv is where users usually keep the key, for messages.
const keyEnv = "ANTHROPIC_API_KEY"

// Config is the plugin's `config {}` block in dpc.hcl:
//
//	plugin "llm" "llm-anthropic" {
//	  config {
//	    api_key = env("ANTHROPIC_API_KEY")
//	    model   = "claude-sonnet-4-5"
//	  }
//	}
type Config struct {
	// BaseURL is the API's root, the part before /v1/messages.
	BaseURL string `hcl:"base_url,optional" help:"Root of the Anthropic API, the part before /v1/messages."`
	// Model is used when a request names none.
	Model string `hcl:"model,optional" help:"Model used when a request names none, e.g. claude-sonnet-4-5."`
	// APIKey is sent in x-api-key. dpc evaluates env(): the plugin does not
	// see dpc's environment.
	APIKey string `hcl:"api_key,optional" sensitive:"true" help:"Anthropic API key; write api_key = env(\"ANTHROPIC_API_KEY\"). This or api_key_file is required."`
	// APIKeyFile is a file holding the key, instead of APIKey.
	APIKeyFile string `hcl:"api_key_file,optional" help:"Absolute path of a file holding the API key, instead of api_key."`
	// MaxTokens caps an answer when a request sets no limit; the API wants
	// one on every request.
	MaxTokens int `hcl:"max_tokens,optional" help:"Most tokens an answer may have when the request sets no limit."`
	// TimeoutSeconds bounds the wait for the first piece of an answer.
	TimeoutSeconds float64 `hcl:"timeout_seconds,optional" help:"Seconds to wait for the start of an answer; 0 means no limit."`
	// IdleTimeoutSeconds bounds the wait between pieces of an answer.
	IdleTimeoutSeconds float64 `hcl:"idle_timeout_seconds,optional" help:"Seconds to wait between pieces of an answer before giving up; 0 means no limit."`
}

// DefaultConfig returns the defaults the user's block is decoded over.
func DefaultConfig() *Config {
	return &Config{
		BaseURL: DefaultBaseURL, Model: DefaultModel, MaxTokens: DefaultMaxTokens,
		TimeoutSeconds: DefaultTimeoutSeconds, IdleTimeoutSeconds: DefaultIdleTimeoutSeconds,
	}
}

// Validate is called by the SDK after decoding; errors name the attribute.
// It reads no file: Configure loads the key.
func (c *Config) Validate() error {
	var maxTokens error
	if c.MaxTokens < 1 {
		maxTokens = sdk.AttributeError([]string{"max_tokens"}, "must be at least 1, got %d", c.MaxTokens)
	}
	return errors.Join(
		llmhttp.CheckBaseURL("base_url", c.BaseURL),
		llmhttp.CheckModel(c.Model, DefaultModel),
		llmhttp.CheckKeyConfig(c.APIKey, c.APIKeyFile, true, keyEnv),
		maxTokens,
		llmhttp.CheckTimeouts(c.TimeoutSeconds, c.IdleTimeoutSeconds),
	)
}
