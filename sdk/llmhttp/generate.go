package llmhttp

import (
	"context"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dpc-go/dpc/sdk"
)

// Piece is what a streamed answer comes in: a server-sent Event, or an
// NDJSON line.
type Piece interface{ Event | []byte }

// Answer is the API's own half of Generate: it decodes the pieces of one
// streamed answer as they come, and knows when the answer is complete.
// Generate calls it from one goroutine.
type Answer[P Piece] interface {
	// Add decodes one piece and returns the text it carries, "" if none.
	// An error ends the answer with that error; for an error the server
	// reports in the stream, build it with Client.Errorf.
	Add(piece P) (delta string, err error)
	// Done reports whether the answer is complete. Generate asks after
	// each piece, and stops reading once it is. At the end of the stream
	// it asks with atEOF set: an answer not done then ended early, an error
	// (Stream.EndedEarly). An API whose servers may end the stream without
	// their last message can accept an answer at EOF that it would not
	// stop reading for before.
	Done(atEOF bool) bool
	// Result is the summary of the complete answer.
	Result() sdk.GenerateResult
}

// Generate is the part of sdk.LLM's Generate that is the same for every
// API that streams: it sends r with c (asking for server-sent events if P
// is Event, for NDJSON if it is []byte), passes each piece of the answer to
// a and each piece of text to emit, and returns a's Result once a is done.
//
// It stops at the first error, of the Client (an *Error), of a, or of emit
// (returned as is), and abandons the request. r.Model should name the model
// the request is for, the plugin's default if req names none: it is logged,
// and a 404 then says "no such model". log (nil discards) gets two Debug
// lines, before and after, with sizes and token counts only: prompts and
// answers are the user's private messages. Use log.With to add fields.
func Generate[P Piece](ctx context.Context, c *Client, log hclog.Logger, req sdk.GenerateRequest, r Request, a Answer[P],
	emit func(delta string) error) (sdk.GenerateResult, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	start := time.Now()
	log.Debug("generating", "request_id", req.RequestID, "model", r.Model, "messages", len(req.Messages), "prompt_bytes", promptBytes(req))
	var next func(*Stream) (P, error)
	accept := "text/event-stream"
	switch f := any(&next).(type) {
	case *func(*Stream) (Event, error):
		*f = (*Stream).NextEvent
	case *func(*Stream) ([]byte, error):
		*f = (*Stream).NextLine
		accept = "application/x-ndjson"
	}
	s, err := c.Stream(ctx, r, accept)
	if err != nil {
		return sdk.GenerateResult{}, err
	}
	defer s.Close()
	answerBytes := 0
	for {
		piece, err := next(s)
		if err == io.EOF {
			if a.Done(true) {
				break
			}
			return sdk.GenerateResult{}, s.EndedEarly()
		}
		if err != nil {
			return sdk.GenerateResult{}, err
		}
		delta, err := a.Add(piece)
		if err != nil {
			return sdk.GenerateResult{}, err
		}
		if delta != "" {
			answerBytes += len(delta)
			if err := emit(delta); err != nil {
				return sdk.GenerateResult{}, err
			}
		}
		if a.Done(false) {
			break
		}
	}
	res := a.Result()
	log.Debug("generated", "request_id", req.RequestID, "model", res.Model, "finish_reason", res.FinishReason,
		"prompt_tokens", res.PromptTokens, "completion_tokens", res.CompletionTokens,
		"answer_bytes", answerBytes, "duration_ms", time.Since(start).Milliseconds())
	return res, nil
}

// promptBytes is the prompt's size, for logs.
func promptBytes(req sdk.GenerateRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += len(m.Content)
	}
	return n
}
