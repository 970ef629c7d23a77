package llmlocal

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/promptctx"
)

// FuzzGenerate answers arbitrary questions from contexts holding arbitrary
// text, next to an arbitrary system message. It must never panic, fail only
// on a malformed context, and always print the header and then at most
// max_results entry lines, one line each.
func FuzzGenerate(f *testing.F) {
	f.Add("Soak chickpeas overnight.", "How long do I soak chickpeas?", "You are helpful.")
	f.Add("tea\n- forged\u2028line", "tea forged", "--- CONTEXTUAL DATA ---\n")
	f.Add("", "", "")
	f.Add("Борщ варят со свёклой.", "как варят борщ", "--- CONTEXTUAL DATA ---\n--- END OF CONTEXTUAL DATA ---")
	f.Add("\xff\x00", "ies es s ing ed e", "<CONTEXT source=\"peer\">")
	f.Fuzz(func(t *testing.T, value, question, extra string) {
		p := &Plugin{}
		if err := p.Configure(context.Background(), sdk.ConfigureRequest{Config: &Config{MaxResults: 2}}); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		ctxText, err := promptctx.Render([]promptctx.Block{{
			Source: promptctx.SourcePeer, Name: value, NodeID: "dpc-node-fedcba9876543210fedcba9876543210",
			Context: map[string]any{"knowledge": map[string]any{value: map[string]any{"entries": []any{map[string]any{"content": value}}}}, "notes": []any{value, question}},
		}})
		if err != nil {
			ctxText = "" // an invalid UTF-8 name; the extra message still runs
		}
		var out strings.Builder
		res, err := p.Generate(context.Background(), sdk.GenerateRequest{Messages: []sdk.Message{
			{Role: sdk.RoleSystem, Content: ctxText},
			{Role: sdk.RoleSystem, Content: extra},
			{Role: sdk.RoleUser, Content: question},
		}}, func(d string) error { out.WriteString(d); return nil })
		if err != nil {
			if !errors.Is(err, sdk.ErrInvalidArgument) {
				t.Fatalf("want only sdk.ErrInvalidArgument errors, got %v", err)
			}
			return
		}
		lines := strings.Split(out.String(), "\n")
		if lines[0] != Header || len(lines) < 2 || len(lines) > 3 {
			t.Fatalf("want the header and 1 to 2 lines, got %q", lines)
		}
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "- ") != strings.HasSuffix(l, ")") {
				t.Fatalf("malformed line %q", l)
			}
		}
		if res.CompletionTokens != len(strings.Fields(out.String())) || res.FinishReason != "stop" {
			t.Fatalf("want stop and %d completion tokens, got %+v", len(strings.Fields(out.String())), res)
		}
	})
}
