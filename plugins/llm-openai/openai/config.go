package openai

import (
	"errors"
	"net/url"
	"strings"

	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// Defaults of the config attributes.
const (
	DefaultBaseURL            = "https://api.openai.com/v1"
	DefaultModel              = "gpt-4o-mini"
	DefaultTimeoutSeconds     = 120
	DefaultIdleTimeoutSeconds = 60
)

// keyEnv is where users usually keep the key, for messages.
const keyEnv = "OPENAI_API_KEY"

// Config is the plugin's `config {}` block in dpc.hcl:
//
//	plugin "llm" "llm-openai" {
//	  config {
//	    base_url = "http://127.0.0.1:8080/v1"
//	    api_key  = env("OPENAI_API_KEY")
//	  }
//	}
type Config struct {
	// BaseURL is the API's root, the part before /chat/completions.
	BaseURL string `hcl:"base_url,optional" help:"Root of the OpenAI-compatible API, the part before /chat/completions, e.g. http://127.0.0.1:8080/v1."`
	// Model is used when a request names none.
	Model string `hcl:"model,optional" help:"Model used when a request names none, as the server names it."`
	// APIKey is sent as a Bearer token. dpc evaluates env(): the plugin
	// does not see dpc's environment.
	APIKey string `hcl:"api_key,optional" sensitive:"true" help:"API key, sent as a Bearer token; write api_key = env(\"OPENAI_API_KEY\"). Local servers often need none."`
	// APIKeyFile is a file holding the key, instead of APIKey.
	APIKeyFile string `hcl:"api_key_file,optional" help:"Absolute path of a file holding the API key, instead of api_key."`
	// TimeoutSeconds bounds the wait for the first piece of an answer.
	TimeoutSeconds float64 `hcl:"timeout_seconds,optional" help:"Seconds to wait for the start of an answer; 0 means no limit."`
	// IdleTimeoutSeconds bounds the wait between pieces of an answer.
	IdleTimeoutSeconds float64 `hcl:"idle_timeout_seconds,optional" help:"Seconds to wait between pieces of an answer before giving up; 0 means no limit."`
}

// DefaultConfig returns the defaults the user's block is decoded over.
func DefaultConfig() *Config {
	return &Config{
		BaseURL: DefaultBaseURL, Model: DefaultModel,
		TimeoutSeconds: DefaultTimeoutSeconds, IdleTimeoutSeconds: DefaultIdleTimeoutSeconds,
	}
}

// Validate is called by the SDK after decoding; errors name the attribute.
// It reads no file: Configure loads the key.
func (c *Config) Validate() error {
	return errors.Join(
		llmhttp.CheckBaseURL("base_url", c.BaseURL),
		llmhttp.CheckModel(c.Model, DefaultModel),
		// OpenAI itself always wants a key: say so now rather than at the
		// first question.
		llmhttp.CheckKeyConfig(c.APIKey, c.APIKeyFile, isOpenAI(c.BaseURL), keyEnv),
		llmhttp.CheckTimeouts(c.TimeoutSeconds, c.IdleTimeoutSeconds),
	)
}

// isOpenAI reports whether a base URL is OpenAI's own API.
func isOpenAI(baseURL string) bool {
	u, err := url.Parse(baseURL)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}
