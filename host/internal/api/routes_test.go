package api

import (
	"net/http"
	"testing"
)

// reloader is a ContextReloader whose context never changes.
type reloader struct{}

func (reloader) Reload() (string, error) { return "h1", nil }

// TestServerMountsOnlyTheRoutesTheNodePicks: each capability's routes are
// one Routes value the node chooses to mount; a capability not mounted
// has no route. Before, one function registered every network route
// whenever the server had a network.
func TestServerMountsOnlyTheRoutesTheNodePicks(t *testing.T) {
	t.Parallel()
	addr, tok := serveWith(t, t.TempDir(), ContextRoutes(reloader{}))
	for name, tc := range map[string]struct {
		method, path string
		want         int
	}{
		"the mounted context route":     {http.MethodPost, "/v1/context/reload", http.StatusOK},
		"chat, not mounted":             {http.MethodPost, "/v1/messages", http.StatusNotFound},
		"files, not mounted":            {http.MethodGet, "/v1/files", http.StatusNotFound},
		"peers, not mounted":            {http.MethodGet, "/v1/peers", http.StatusNotFound},
		"the event stream, not mounted": {http.MethodGet, "/v1/stream", http.StatusNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s: want %d, got %d", tc.method, tc.path, tc.want, resp.StatusCode)
			}
		})
	}
}
