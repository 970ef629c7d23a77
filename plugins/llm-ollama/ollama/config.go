package ollama

import (
	"errors"

	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// Defaults of the config attributes.
const (
	DefaultHost               = "http://127.0.0.1:11434"
	DefaultModel              = "llama3"
	DefaultTimeoutSeconds     = 120
	DefaultIdleTimeoutSeconds = 60
)

// Config is the plugin's `config {}` block in dpc.hcl:
//
//	plugin "llm" "llm-ollama" {
//	  config {
//	    host  = "http://127.0.0.1:11434"
//	    model = "llama3"
//	  }
//	}
type Config struct {
	// Host is the Ollama server's URL.
	Host string `hcl:"host,optional" help:"URL of the Ollama server, e.g. http://127.0.0.1:11434."`
	// Model is used when a request names none.
	Model string `hcl:"model,optional" help:"Model used when a request names none, as Ollama names it (llama3, qwen2.5:7b)."`
	// TimeoutSeconds bounds the wait for the first piece of an answer,
	// which includes Ollama loading the model into memory.
	TimeoutSeconds float64 `hcl:"timeout_seconds,optional" help:"Seconds to wait for the start of an answer, model loading included; 0 means no limit."`
	// IdleTimeoutSeconds bounds the wait between pieces of an answer.
	IdleTimeoutSeconds float64 `hcl:"idle_timeout_seconds,optional" help:"Seconds to wait between pieces of an answer before giving up; 0 means no limit."`
}

// DefaultConfig returns the defaults the user's block is decoded over.
func DefaultConfig() *Config {
	return &Config{
		Host: DefaultHost, Model: DefaultModel,
		TimeoutSeconds: DefaultTimeoutSeconds, IdleTimeoutSeconds: DefaultIdleTimeoutSeconds,
	}
}

// Validate is called by the SDK after decoding; errors name the attribute.
func (c *Config) Validate() error {
	return errors.Join(
		llmhttp.CheckBaseURL("host", c.Host),
		llmhttp.CheckModel(c.Model, DefaultModel),
		llmhttp.CheckTimeouts(c.TimeoutSeconds, c.IdleTimeoutSeconds),
	)
}
