package sdk

import "context"

// LLM lists models and generates answers from chat messages. It sees only
// what the host's firewall let into the prompt.
type LLM interface {
	Plugin
	ListModels(ctx context.Context) ([]Model, error)
	// Generate produces the answer, calling emit for each piece of text as it
	// is produced (streaming), and returns the summary once done. If emit
	// returns an error, Generate must stop and return it.
	Generate(ctx context.Context, req GenerateRequest, emit func(delta string) error) (GenerateResult, error)
}

// Model is one model an LLM plugin offers.
type Model struct {
	ID            string
	DisplayName   string
	Description   string
	ContextLength int
	// Labels such as "local", "retrieval".
	Labels []string
}

// Role is who said a chat message.
type Role string

// Chat roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one chat message.
type Message struct {
	Role    Role
	Content string
}

// GenerateRequest asks for an answer.
type GenerateRequest struct {
	// Model is a Model.ID; empty means the plugin's configured default.
	Model    string
	Messages []Message
	// Optional sampling settings; nil means the model's default.
	Temperature *float64
	TopP        *float64
	MaxTokens   *int
	Stop        []string
	// RequestID identifies the request in logs on both sides.
	RequestID string
}

// GenerateResult summarises a finished generation.
type GenerateResult struct {
	// FinishReason: "stop", "length", "cancelled", …
	FinishReason     string
	Model            string
	PromptTokens     int
	CompletionTokens int
}
