package ollama

import (
	"encoding/json"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// chatChunk is one line of the /api/chat stream.
type chatChunk struct {
	Model   string `json:"model"`
	Message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"message"`
	Done            bool   `json:"done"`
	DoneReason      string `json:"done_reason"`
	PromptEvalCount int    `json:"prompt_eval_count"`
	EvalCount       int    `json:"eval_count"`
	Error           string `json:"error"`
}

// answer follows one streamed answer for llmhttp.Generate: the lines go
// in, text comes out, and the last line fills in the result.
type answer struct {
	client *llmhttp.Client
	model  string
	done   bool
	result sdk.GenerateResult
}

var _ llmhttp.Answer[[]byte] = (*answer)(nil)

// Done reports whether the last line, "done": true, has come.
func (a *answer) Done(bool) bool { return a.done }

// Result is what the last line said.
func (a *answer) Result() sdk.GenerateResult { return a.result }

// Add decodes one line of the stream and returns the text it carries.
func (a *answer) Add(line []byte) (string, error) {
	var c chatChunk
	if err := json.Unmarshal(line, &c); err != nil {
		return "", a.client.Errorf(llmhttp.ErrProtocol, "a line of the answer from %s is not the JSON expected: %v", a.client.BaseURL(), err)
	}
	if c.Error != "" {
		msg, _ := llmhttp.ErrorMessage(line)
		return "", a.client.Errorf(llmhttp.ErrServer, "Ollama at %s failed in the middle of the answer: %s", a.client.BaseURL(), msg)
	}
	if c.Done {
		a.done = true
		model := c.Model
		if model == "" {
			model = a.model
		}
		reason := llmhttp.NormalizeFinishReason(c.DoneReason)
		if reason == "" {
			reason = "stop" // older Ollama versions send no done_reason
		}
		a.result = sdk.GenerateResult{
			FinishReason:     reason,
			Model:            model,
			PromptTokens:     max(c.PromptEvalCount, 0),
			CompletionTokens: max(c.EvalCount, 0),
		}
	}
	return c.Message.Content, nil
}
