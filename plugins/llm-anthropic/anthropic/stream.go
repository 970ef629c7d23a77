package anthropic

import (
	"encoding/json"
	"math"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// streamEvent is the data of one Messages API stream event; which fields
// are set depends on its type.
type streamEvent struct {
	Type    string `json:"type"`
	Message *struct {
		Model string `json:"model"`
		Usage usage  `json:"usage"`
	} `json:"message"`
	ContentBlock *struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content_block"`
	Delta *struct {
		Type       string `json:"type"`
		Text       string `json:"text"`
		StopReason string `json:"stop_reason"`
	} `json:"delta"`
	Usage *usage `json:"usage"`
}

// usage counts tokens. Input read from or written to the prompt cache is
// counted apart from input_tokens; all of it is prompt.
type usage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

// prompt is the whole prompt's count; each part is clamped so that a
// broken count cannot overflow the sum.
func (u usage) prompt() int {
	n := 0
	for _, v := range []int{u.InputTokens, u.CacheCreationInputTokens, u.CacheReadInputTokens} {
		n += min(max(v, 0), math.MaxInt32)
	}
	return n
}

// answer follows one streamed answer for llmhttp.Generate: events go in,
// text comes out.
type answer struct {
	client *llmhttp.Client
	model  string
	done   bool
	stop   string
	prompt int
	output int
}

var _ llmhttp.Answer[llmhttp.Event] = (*answer)(nil)

// Done reports whether message_stop has come.
func (a *answer) Done(bool) bool { return a.done }

// Add decodes one event and returns the text it carries. Event types it
// does not know (newer API features, thinking, tool input) carry no text
// for the user and are skipped.
func (a *answer) Add(ev llmhttp.Event) (string, error) {
	var e streamEvent
	if err := json.Unmarshal([]byte(ev.Data), &e); err != nil {
		return "", a.client.Errorf(llmhttp.ErrProtocol, "an event of the answer from %s is not the JSON expected: %v", a.client.BaseURL(), err)
	}
	typ := ev.Type
	if typ == "" {
		typ = e.Type
	}
	switch typ {
	case "message_start":
		if e.Message != nil {
			if e.Message.Model != "" {
				a.model = e.Message.Model
			}
			a.prompt = e.Message.Usage.prompt()
			a.output = max(e.Message.Usage.OutputTokens, 0)
		}
	case "content_block_start":
		if e.ContentBlock != nil && e.ContentBlock.Type == "text" {
			return e.ContentBlock.Text, nil
		}
	case "content_block_delta":
		if e.Delta != nil && e.Delta.Type == "text_delta" {
			return e.Delta.Text, nil
		}
	case "message_delta":
		if e.Delta != nil && e.Delta.StopReason != "" {
			a.stop = e.Delta.StopReason
		}
		// The counts here are totals so far, not increments.
		if e.Usage != nil {
			a.output = max(e.Usage.OutputTokens, 0)
			if p := e.Usage.prompt(); p > 0 {
				a.prompt = p
			}
		}
	case "message_stop":
		a.done = true
	case "error":
		msg, typ := llmhttp.ErrorMessage([]byte(ev.Data))
		if msg == "" {
			msg = "no message"
		}
		err := a.client.Errorf(llmhttp.KindOfType(typ), "the Anthropic API at %s reported an error in the middle of the answer: %s (%s)",
			a.client.BaseURL(), msg, typ)
		err.Type = typ
		return "", err
	}
	return "", nil
}

// Result is the summary once the stream is done.
func (a *answer) Result() sdk.GenerateResult {
	finish := llmhttp.NormalizeFinishReason(a.stop)
	if finish == "" {
		finish = "stop"
	}
	return sdk.GenerateResult{FinishReason: finish, Model: a.model, PromptTokens: a.prompt, CompletionTokens: a.output}
}
