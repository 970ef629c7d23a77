package llmhttptest

import (
	"errors"
	"testing"

	"github.com/dpc-go/dpc/sdk/llmhttp"
)

// CheckAdd feeds one piece to a, as a plugin's fuzz target does, and checks
// what every llmhttp.Answer must do with any piece: not panic; fail only
// with an *llmhttp.Error (so that the user reads a message written for
// them), and with no text; keep token counts non-negative; and once done,
// have a finish reason and a model. It returns what Add returned; the
// caller checks what the piece should have given.
func CheckAdd[P llmhttp.Piece](t testing.TB, a llmhttp.Answer[P], piece P) (string, error) {
	t.Helper()
	delta, err := a.Add(piece)
	if err != nil {
		var he *llmhttp.Error
		if !errors.As(err, &he) || delta != "" {
			t.Fatalf("want an *llmhttp.Error alone, got %v with delta %q", err, delta)
		}
		return delta, err
	}
	r := a.Result()
	if r.PromptTokens < 0 || r.CompletionTokens < 0 {
		t.Fatalf("negative token counts in %+v", r)
	}
	if a.Done(true) && (r.FinishReason == "" || r.Model == "") {
		t.Fatalf("a done answer has an incomplete result %+v", r)
	}
	return delta, nil
}
