package openai

import (
	"encoding/json"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// doneMarker is the data of the event that ends the stream.
const doneMarker = "[DONE]"

// chunk is one chat.completion.chunk.
type chunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content *string `json:"content"`
			// Refusal is the model's explanation of why it will not answer;
			// the user should see it as the answer.
			Refusal *string `json:"refusal"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// answer follows one streamed answer for llmhttp.Generate: events go in,
// text comes out.
type answer struct {
	client *llmhttp.Client
	model  string
	done   bool
	finish string
	usage  [2]int // prompt, completion
}

var _ llmhttp.Answer[llmhttp.Event] = (*answer)(nil)

// Done reports whether [DONE] has come. Some servers end the stream
// without it; at the end of the stream, an answer with its finish reason
// is complete all the same.
func (a *answer) Done(atEOF bool) bool { return a.done || (atEOF && a.finish != "") }

// Add decodes one event and returns the text it carries.
func (a *answer) Add(ev llmhttp.Event) (string, error) {
	if ev.Data == doneMarker {
		a.done = true
		return "", nil
	}
	// Errors after the 200 status come as an error event or as a chunk
	// holding only an "error" object.
	if ev.Type == "error" {
		return "", a.streamErr([]byte(ev.Data))
	}
	var c chunk
	if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
		return "", a.client.Errorf(llmhttp.ErrProtocol, "an event of the answer from %s is not the JSON expected: %v", a.client.BaseURL(), err)
	}
	if len(c.Error) > 0 && string(c.Error) != "null" {
		return "", a.streamErr([]byte(ev.Data))
	}
	if c.Model != "" {
		a.model = c.Model
	}
	if c.Usage != nil {
		a.usage = [2]int{max(c.Usage.PromptTokens, 0), max(c.Usage.CompletionTokens, 0)}
	}
	var text string
	for _, ch := range c.Choices {
		// One answer is asked for (n = 1): other choices are not ours.
		if ch.Index != 0 {
			continue
		}
		if ch.Delta.Content != nil {
			text += *ch.Delta.Content
		}
		if ch.Delta.Refusal != nil {
			text += *ch.Delta.Refusal
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			a.finish = llmhttp.NormalizeFinishReason(*ch.FinishReason)
		}
	}
	return text, nil
}

// streamErr is the error for an error the server reported mid-stream.
func (a *answer) streamErr(data []byte) error {
	msg, typ := llmhttp.ErrorMessage(data)
	if msg == "" {
		msg = "no message"
	}
	e := a.client.Errorf(llmhttp.KindOfType(typ), "server at %s reported an error in the middle of the answer: %s", a.client.BaseURL(), msg)
	e.Type = typ
	return e
}

// Result is the summary once the stream is done.
func (a *answer) Result() sdk.GenerateResult {
	finish := a.finish
	if finish == "" {
		finish = "stop"
	}
	return sdk.GenerateResult{FinishReason: finish, Model: a.model, PromptTokens: a.usage[0], CompletionTokens: a.usage[1]}
}
