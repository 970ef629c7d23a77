package cluster

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// FuzzNotification: whatever a notification on the replica's channels
// carries (another program may NOTIFY them too), handling it never panics
// and a malformed one reaches no handler.
func FuzzNotification(f *testing.F) {
	for _, seed := range []string{"k dpc-node-1 abc", "r other dpc-node-1 fam", "r self dpc-node-1 fam", "k", "r a b", "x", "", "k  ", "r   "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		if strings.HasPrefix(payload, "q") { // takes from the database: covered by the cluster tests
			return
		}
		rec := newRecorder()
		c := &Cluster{id: "self", log: hclog.NewNullLogger(), handler: rec, local: map[string]string{}}
		c.m = newMetrics(c)
		err := c.handle(context.Background(), payload, nil)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if err != nil && len(rec.replaced)+len(rec.revoked) != 0 {
			t.Fatalf("a malformed notification %q reached the handler", payload)
		}
	})
}
