package llmlocal

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/dpc-go/dpc/sdk/promptctx"
)

// TestInflectedQuestionsFindTheirNote measures retrieval when the question
// uses another form of the note's word (travelling / travel, happy /
// happiness, transport / transportation). A question is a hit when the
// note it is about is the best match.
//
// Measured on testdata/inflections.json (14 questions): the hand-written
// suffix stripper this plugin had before found 8 (57%); the Snowball
// English (Porter2) stemmer finds 11 (79%). The misses are irregular or
// derived forms no stemmer joins: ran / running, allergy / allergic,
// photographs / photography.
func TestInflectedQuestionsFindTheirNote(t *testing.T) {
	t.Parallel()
	const wantHits = 11
	b, err := os.ReadFile("testdata/inflections.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Notes     map[string]any `json:"notes"`
		Questions []struct {
			Question string `json:"question"`
			Want     string `json:"want"`
		} `json:"questions"`
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatal(err)
	}
	blocks := []promptctx.Block{{Source: promptctx.SourceLocal, Name: "Alice", Context: fixture.Notes}}
	hits := 0
	for _, q := range fixture.Questions {
		found, _ := search(blocks, q.Question)
		if len(found) > 0 && strings.HasPrefix(found[0].entry.Text, q.Want) {
			hits++
			continue
		}
		best := "nothing"
		if len(found) > 0 {
			best = found[0].entry.Text
		}
		t.Logf("miss: %q found %q, want the note %q…", q.Question, best, q.Want)
	}
	t.Logf("%d of %d questions found their note", hits, len(fixture.Questions))
	if hits < wantHits {
		t.Errorf("%d of %d questions found their note, want at least %d", hits, len(fixture.Questions), wantHits)
	}
}
