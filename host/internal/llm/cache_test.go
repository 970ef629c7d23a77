package llm

import (
	"context"
	"testing"
	"time"

	"github.com/dpc-go/dpc/host/internal/llm/llmtest"
)

// TestModelListingIsSharedUntilStale: the plugins are listed again only
// when the listing is older than the TTL or the running plugins changed.
func TestModelListingIsSharedUntilStale(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		// between runs between the first listing and the second.
		between   func(clock *time.Time, plugins llmtest.Plugins)
		wantLists int // of the first plugin process
		wantModel string
	}{
		"within the TTL": {
			between:   func(clock *time.Time, _ llmtest.Plugins) { *clock = clock.Add(DefaultModelsTTL - time.Second) },
			wantLists: 1, wantModel: "a",
		},
		"after the TTL": {
			between:   func(clock *time.Time, _ llmtest.Plugins) { *clock = clock.Add(DefaultModelsTTL) },
			wantLists: 2, wantModel: "a",
		},
		"a plugin restarted (new configuration)": {
			between:   func(_ *time.Time, p llmtest.Plugins) { p[0].LLM = llmtest.Offering("b") },
			wantLists: 1, wantModel: "b",
		},
		"a plugin stopped": {
			between:   func(_ *time.Time, p llmtest.Plugins) { p[0].LLM = nil },
			wantLists: 1, wantModel: "",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			first := llmtest.Offering("a")
			plugins := llmtest.Plugins{{Name: "llm-x", LLM: first}}
			clock := time.Unix(1_700_000_000, 0)
			r := New(plugins, nil)
			r.now = func() time.Time { return clock }
			if got := r.Models(context.Background()); len(got) != 1 || got[0].ID != "a" {
				t.Fatalf("first listing: want model a, got %+v", got)
			}
			tc.between(&clock, plugins)
			got := r.Models(context.Background())
			var model string
			if len(got) > 0 {
				model = got[0].ID
			}
			if model != tc.wantModel || first.Lists() != tc.wantLists {
				t.Errorf("want model %q after %d listings of the first plugin, got %+v after %d", tc.wantModel, tc.wantLists, got, first.Lists())
			}
		})
	}
}
